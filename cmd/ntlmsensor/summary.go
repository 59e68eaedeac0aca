package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"ntlmsensor/report"
)

// printSummary writes what an offline run saw, for people first: the
// logons by mechanism and NTLM version, who used NTLM, the flags raised,
// how long it took; then the sensor's counters that are not zero.
func printSummary(stderr io.Writer, r offlineRun, tally *report.Aggregator, elapsed time.Duration) {
	p := r.pipeline
	st, ds := p.Stats()
	rep := tally.Report(nil)
	var b strings.Builder
	files := "1 file"
	if r.opened != 1 {
		files = fmt.Sprintf("%d files", r.opened)
	}
	if r.breaks > 0 {
		files += fmt.Sprintf(" (%d trace breaks: files going back in time)", r.breaks)
	}
	snap := p.Snapshot()
	fmt.Fprintf(&b, "ntlmsensor: %s, %s of packets in %s (%s/s): %d findings", files, size(int64(snap.Bytes)), report.Duration(elapsed),
		size(int64(float64(snap.Bytes)/max(elapsed.Seconds(), 0.001))), st.Findings)
	if !rep.First.IsZero() {
		fmt.Fprintf(&b, ", %s", rep.Span())
	}
	b.WriteString("\n")
	if rep.Findings > 0 {
		for _, l := range rep.Headline() {
			if l[1] == "" || l[1] == "0" {
				continue
			}
			fmt.Fprintf(&b, "  %-34s %s\n", l[0], l[1])
		}
		if len(rep.ByFlag) > 0 {
			var fl []string
			for _, c := range rep.ByFlag {
				fl = append(fl, fmt.Sprintf("%s %d", c.Name, c.N))
			}
			fmt.Fprintf(&b, "  %-34s %s\n", "flags", strings.Join(fl, ", "))
		}
	}
	// the sensor's internals, only what happened
	var in []string
	add := func(n uint64, what string) {
		if n > 0 {
			in = append(in, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(p.Read(), "frames")
	add(st.Packets, "TCP/UDP packets")
	add(st.Flows, "connections")
	add(st.FlowsIgnored, "connections of no interest")
	add(st.FlowsEvicted, "evicted connections (-max-flows)")
	add(st.FlowsIdle, "idle connections closed")
	add(ds.Malformed, "malformed frames")
	add(ds.Truncated, "truncated frames")
	add(ds.Skipped, "non-IP frames")
	add(st.Gaps, "stream gaps")
	add(st.OutOfOrder, "out-of-order segments")
	add(st.BufferLimitHits+st.OutOfOrderLimitHits, "buffer limit hits (per stream)")
	add(st.MemoryLimitHits, "memory limit hits")
	add(snap.Reread, "file parts read again (a payload looked like a record header)")
	if len(in) > 0 {
		fmt.Fprintf(&b, "  %-34s %s\n", "sensor", strings.Join(in, ", "))
	}
	io.WriteString(stderr, b.String())
}
