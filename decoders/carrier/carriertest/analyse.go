package carriertest

import (
	"encoding/json"
	"sync"
	"testing"

	"ntlmsensor/capture"
	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// Analyse runs the real pipeline, one worker and only the given carriers,
// over a capture given relative to pcaps/, and returns its findings in the
// order they were emitted. A read error after some packets is logged, as
// the command reports it; a capture that does not open fails the test.
func Analyse(tb testing.TB, rel string, carriers ...*carrier.Carrier) []*findings.Finding {
	tb.Helper()
	src, err := capture.OpenFile(pcaptest.Path(rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	var out []*findings.Finding
	cfg := sensor.DefaultConfig()
	cfg.Carriers = carriers
	cfg.Emit = func(f *findings.Finding) { out = append(out, f) }
	p := sensor.NewPipeline(cfg, 1, nil)
	if err := p.ReadSource(src); err != nil {
		tb.Log(err)
	}
	if err := p.Close(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Doc is a finding as written out, parsed back.
func Doc(tb testing.TB, f *findings.Finding) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		tb.Fatalf("invalid JSON %s: %v", f.AppendJSON(nil), err)
	}
	return m
}

// Dump writes findings as JSON lines, for failure messages.
func Dump(fs []*findings.Finding) string {
	var b []byte
	for _, f := range fs {
		b = append(f.AppendJSON(b), '\n')
	}
	return string(b)
}

// Hash is one line handed to the hash export.
type Hash struct {
	Mode int
	Line string
}

type hashes struct {
	mu  sync.Mutex
	out []Hash
}

func (h *hashes) Hash(mode int, line string) {
	h.mu.Lock()
	h.out = append(h.out, Hash{mode, line})
	h.mu.Unlock()
}

// Hashes runs Analyse with the hash export on (carrier.SetHashes) and
// returns the lines written, in order. The hook is process-wide: tests
// calling Hashes must not run in parallel with other captures.
func Hashes(tb testing.TB, rel string, carriers ...*carrier.Carrier) []Hash {
	tb.Helper()
	h := new(hashes)
	carrier.SetHashes(h)
	defer carrier.SetHashes(nil)
	Analyse(tb, rel, carriers...)
	return h.out
}
