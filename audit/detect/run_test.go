package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// pcapsDir is the repository's bundled captures.
func pcapsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "pcaps")
}

// findingsOf runs the sensor pipeline over captures, as the binary does, and
// returns the findings in capture-time order (ties broken by their JSON, so
// the order does not depend on which worker emitted first), the order the
// audit stage hands them to analyzers.
func findingsOf(tb testing.TB, workers int, paths ...string) []*findings.Finding {
	tb.Helper()
	var out []*findings.Finding
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = "test"
	cfg.Observations = true
	cfg.Emit = func(f *findings.Finding) {
		if !f.AwaitsRetry { // KDC steps the stage decides (audit/retry.go); the lab's are retried
			out = append(out, f)
		}
	}
	p := sensor.NewPipeline(cfg, workers, nil)
	for _, path := range paths {
		src, err := capture.OpenFile(path)
		if err != nil {
			tb.Fatalf("open %s: %v", path, err)
		}
		if err := p.ReadSource(src); err != nil {
			tb.Logf("%s: %v", path, err)
		}
		src.Close()
	}
	if err := p.Close(); err != nil {
		tb.Fatalf("%v", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return bytes.Compare(out[i].AppendJSON(nil), out[j].AppendJSON(nil)) < 0
	})
	return out
}

// alertsOf feeds findings to a Detector and returns its alerts.
func alertsOf(cfg Config, fs []*findings.Finding) []*Alert {
	d := New(cfg)
	var out []*Alert
	emit := func(doc findings.Document) { out = append(out, doc.(*Alert)) }
	for _, f := range fs {
		d.Observe(f, emit)
	}
	d.Flush(emit)
	return out
}

func captures(tb testing.TB, dir string) []string {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".cap")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}

func TestDumpAll(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	for _, p := range captures(t, pcapsDir()) {
		for _, a := range alertsOf(DefaultConfig(), findingsOf(t, 1, p)) {
			rel, _ := filepath.Rel(pcapsDir(), p)
			t.Logf("%s: %s %s %v %v", rel, Rules[a.Rule].ID, a.Message, a.CommunityIDs, a.Users)
		}
	}
}
