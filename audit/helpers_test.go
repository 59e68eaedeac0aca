package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

func pcapsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "pcaps")
}

func realPcap(name string) string { return filepath.Join(pcapsDir(), "real-implementations", name) }

// publicCaptures lists every capture under pcaps/public.
func publicCaptures(tb testing.TB) []string {
	tb.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(pcapsDir(), "public"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		for _, ext := range []string{".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap"} {
			if strings.HasSuffix(p, ext) {
				out = append(out, p)
			}
		}
		return nil
	})
	slices.Sort(out)
	if len(out) == 0 {
		tb.Fatal("no public captures")
	}
	return out
}

// result is what one run of the sensor and the stage gave.
type result struct {
	docs  []findings.Document // in emitted order
	found []*findings.Finding
	stage *Stage
}

// analyse runs the sensor over paths (one trace, as -r a -r b does) with
// the given workers, through a Stage, as the binary does.
func analyse(tb testing.TB, paths []string, workers int, tune func(*Config)) *result {
	tb.Helper()
	res := &result{}
	cfg := Config{Workers: workers, Emit: func(d findings.Document) {
		res.docs = append(res.docs, d)
		if f, ok := d.(*findings.Finding); ok {
			res.found = append(res.found, f)
		}
	}}
	if tune != nil {
		tune(&cfg)
	}
	st := New(cfg)
	res.stage = st
	scfg := sensor.DefaultConfig()
	scfg.Carriers = sensor.Carriers()
	scfg.Observer = "test"
	scfg.Emit = st.Finding
	scfg.Observations = true
	scfg.Clock = st.Clock
	p := sensor.NewPipeline(scfg, workers, nil)
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
		tb.Fatalf("%v: %v", paths, err)
	}
	st.Close()
	return res
}

// merged writes one capture of the given ones, each shifted by its offset
// (editcap -t), merged in time order (mergecap): several real exchanges
// of one client as one trace.
func merged(tb testing.TB, parts map[string]time.Duration) string {
	tb.Helper()
	for _, tool := range []string{"editcap", "mergecap"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (wireshark-common)", tool)
		}
	}
	dir := tb.TempDir()
	var shifted []string
	names := make([]string, 0, len(parts))
	for k := range parts {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, name := range names {
		out := filepath.Join(dir, filepath.Base(name)+"."+string(rune('a'+i))+".pcap")
		if b, err := exec.Command("editcap", "-F", "pcap", "-t", strconvSeconds(parts[name]), name, out).CombinedOutput(); err != nil {
			tb.Fatalf("editcap %s: %v %s", name, err, b)
		}
		shifted = append(shifted, out)
	}
	out := filepath.Join(dir, "merged.pcap")
	if b, err := exec.Command("mergecap", append([]string{"-F", "pcap", "-w", out}, shifted...)...).CombinedOutput(); err != nil {
		tb.Fatalf("mergecap: %v %s", err, b)
	}
	return out
}

func strconvSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// ntlmOf returns the NTLM logons among found.
func ntlmOf(found []*findings.Finding) []*findings.Finding {
	var out []*findings.Finding
	for _, f := range found {
		if isNTLM(f) {
			out = append(out, f)
		}
	}
	return out
}
