package sensor

import (
	"path/filepath"
	"testing"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
)

// A trace break falls between the findings of the two traces, with every
// worker done with the first: OnTraceBreak is called once, after every
// finding of the first file and before any of the second, and each
// finding names its file.
func TestTraceBreakSeparatesTraces(t *testing.T) {
	path := filepath.Join(pcapsDir(), "real-implementations", "smb2_ntlmv2_by_ip.pcap")
	for _, workers := range []int{1, 2, 3} {
		var events []string
		cfg := DefaultConfig()
		cfg.Carriers = Carriers()
		cfg.Emit = func(f *findings.Finding) { events = append(events, f.File) }
		cfg.OnTraceBreak = func() { events = append(events, "break") }
		p := NewPipeline(cfg, workers, nil)
		for _, name := range []string{"first", "second"} {
			src, err := capture.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if name == "second" {
				if p.Latest().IsZero() {
					t.Fatal("Latest: nothing read")
				}
				p.TraceBreak()
				if !p.Latest().IsZero() {
					t.Fatal("Latest not reset by the break")
				}
			}
			p.SetFile(name)
			if err := p.ReadSource(src); err != nil {
				t.Fatal(err)
			}
			src.Close()
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		n := len(events) / 2
		if len(events) != 2*n+1 || n == 0 || events[n] != "break" {
			t.Fatalf("%d workers: events %q", workers, events)
		}
		for i, e := range events {
			if want := map[bool]string{true: "first", false: "second"}[i < n]; i != n && e != want {
				t.Fatalf("%d workers: event %d is %q, want %q: %q", workers, i, e, want, events)
			}
		}
	}
}
