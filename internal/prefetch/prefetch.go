// Package prefetch asks the processor to bring memory into its cache ahead
// of use, without waiting for it: a packet's flow slot and headers are
// requested a few packets early, so that their cache misses overlap.
package prefetch

import "unsafe"

// Byte prefetches the cache line holding *p. A hint only: it never faults
// and changes nothing.
func Byte(p *byte) { line(unsafe.Pointer(p)) }
