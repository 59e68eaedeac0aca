package sensor

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapping owns a flow table mapped outside the Go heap. A table given up
// by a resize is unmapped at once; one whose sensor is dropped (tests make
// many) is unmapped by the garbage collector's cleanup of its mapping.
type mapping struct{ cleanup runtime.Cleanup }

// allocSlots maps a flow table outside the Go heap, asking for huge pages
// where the kernel grants them (transparent_hugepage=madvise): a table of
// millions of slots faults in a few 2 MiB pages instead of thousands of
// 4 KiB ones, which on a virtual machine cost more than the lookups. The
// slots hold no Go pointer, so the memory needs no garbage collector. A
// small table is an ordinary allocation (m is nil).
func allocSlots(n int) (s []slot, m *mapping) {
	size := n * int(unsafe.Sizeof(slot{}))
	if size < 2<<20 {
		return make([]slot, n), nil
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]slot, n), nil
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	m = &mapping{}
	m.cleanup = runtime.AddCleanup(m, func(b []byte) { _ = unix.Munmap(b) }, b)
	return unsafe.Slice((*slot)(unsafe.Pointer(&b[0])), n), m
}

// freeSlots gives a table from allocSlots back.
func freeSlots(s []slot, m *mapping) {
	if m == nil {
		return // the garbage collector's
	}
	m.cleanup.Stop()
	_ = unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(slot{}))))
}
