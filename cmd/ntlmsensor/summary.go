package main

import (
	"fmt"
	"io"
)

// printSummary writes the one-line summary of an offline run to stderr.
func printSummary(stderr io.Writer, r offlineRun) {
	p := r.pipeline
	st, ds := p.Stats()
	files := fmt.Sprintf("%d files", r.opened)
	if r.breaks > 0 {
		files += fmt.Sprintf(" (%d trace breaks: files going back in time)", r.breaks)
	}
	fmt.Fprintf(stderr, "ntlmsensor: %s, %d frames, %d TCP/UDP packets, %d flows (%d ignored, %d evicted, %d idle), %d UDP datagrams of no carrier, %d findings; decode: %d malformed, %d truncated, %d non-IP; streams: %d gaps, %d out-of-order, %d buffer limit hits, %d memory limit hits, %d MiB skipped\n",
		files, p.Read(), st.Packets, st.Flows, st.FlowsIgnored, st.FlowsEvicted, st.FlowsIdle, st.UDPIgnored, st.Findings,
		ds.Malformed, ds.Truncated, ds.Skipped, st.Gaps, st.OutOfOrder, st.BufferLimitHits+st.OutOfOrderLimitHits, st.MemoryLimitHits, st.SkippedBytes>>20)
}
