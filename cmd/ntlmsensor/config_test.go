package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfig: deploy/ntlmsensor.conf names only real options with
// valid values; the command line overrides it (here: read a file instead
// of capturing).
func TestExampleConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.jsonl")
	_, errs, status := runCLI(t, "-config", "../../deploy/ntlmsensor.conf", "-i", "", "-user", "", "-metrics", "", "-w", out, "-r", realCapture)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	b, _ := os.ReadFile(out)
	if fs := parseFindings(t, string(b)); len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
}

// TestConfigEnvironmentCommandLine: the command line beats the
// environment, which beats the config file; the filter comes from the
// file when no words follow the options.
func TestConfigEnvironmentCommandLine(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "c.conf")
	os.WriteFile(conf, []byte("# test\nobserver = fromfile\nmax-flows = 1000  # a comment\nfilter = port 80\nq\n"), 0o644)
	observer := func(out string) string {
		fs := parseFindings(t, out)
		if len(fs) != 1 {
			t.Fatalf("%d findings: %s", len(fs), out)
		}
		return fs[0]["observer"].(map[string]any)["name"].(string)
	}

	out, errs, status := runCLI(t, "-config", conf, "-r", realCapture)
	if status != 0 || out != "" || errs != "" {
		t.Fatalf("filter port 80 from the file: status %d, findings %q, stderr %q (and -q from the file)", status, out, errs)
	}
	out, _, _ = runCLI(t, "-config", conf, "-r", realCapture, "port", "445")
	if got := observer(out); got != "fromfile" {
		t.Errorf("observer %q, want fromfile", got)
	}
	t.Setenv("NTLMSENSOR_OBSERVER", "fromenv")
	t.Setenv("NTLMSENSOR_FILTER", "port 445")
	out, _, _ = runCLI(t, "-config", conf, "-r", realCapture)
	if got := observer(out); got != "fromenv" {
		t.Errorf("observer %q, want fromenv", got)
	}
	out, _, _ = runCLI(t, "-config", conf, "-observer", "cli", "-r", realCapture)
	if got := observer(out); got != "cli" {
		t.Errorf("observer %q, want cli", got)
	}
	t.Setenv("NTLMSENSOR_CONFIG", conf)
	t.Setenv("NTLMSENSOR_OBSERVER", "")
	os.Unsetenv("NTLMSENSOR_OBSERVER")
	out, _, _ = runCLI(t, "-r", realCapture)
	if got := observer(out); got != "fromfile" {
		t.Errorf("observer %q with NTLMSENSOR_CONFIG, want fromfile", got)
	}
}

func TestConfigErrors(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "c.conf")
	os.WriteFile(conf, []byte("max-flow = 10\n"), 0o644)
	if _, errs, status := runCLI(t, "-config", conf, "-r", realCapture); status != 2 || !strings.Contains(errs, `c.conf:1: unknown option "max-flow"`) {
		t.Errorf("status %d, stderr %q", status, errs)
	}
	os.WriteFile(conf, []byte("\n\nmax-buffered = lots\n"), 0o644)
	if _, errs, status := runCLI(t, "-config", conf, "-r", realCapture); status != 2 || !strings.Contains(errs, "c.conf:3: max-buffered") {
		t.Errorf("status %d, stderr %q", status, errs)
	}
	if _, errs, status := runCLI(t, "-i", "eth9", "-r", realCapture); status != 2 || !strings.Contains(errs, "exclude each other") {
		t.Errorf("-i with -r: status %d, stderr %q", status, errs)
	}
	t.Setenv("NTLMSENSOR_WORKERS", "many")
	if _, errs, status := runCLI(t, "-r", realCapture); status != 2 || !strings.Contains(errs, "NTLMSENSOR_WORKERS") {
		t.Errorf("status %d, stderr %q", status, errs)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "1048576": 1 << 20, "512K": 512 << 10, "64M": 64 << 20, "64MiB": 64 << 20, "1G": 1 << 30, "2gb": 2 << 30, " 8 M ": 8 << 20} {
		var b byteSize
		if err := b.Set(in); err != nil || int(b) != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "1T", "1.5M", "99999999999G"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("%q accepted as %d", in, b)
		}
	}
	b := byteSize(64 << 20)
	if b.String() != "64M" {
		t.Errorf("String %q", b.String())
	}
}

// TestMemoryBound: the bound grows with every setting it depends on, and
// the README's examples are what the formula gives.
func TestMemoryBound(t *testing.T) {
	if got, _ := memoryBound(200_000, 128<<20, 0, 8, 8*32<<20); got>>20 != 1843 {
		t.Errorf("defaults, 8 afpacket workers: %d MiB, README says 1843", got>>20)
	}
	if got, _ := memoryBound(20_000, 16<<20, 2, 1, 0); got>>20 != 224 {
		t.Errorf("small settings, 2 workers, a file: %d MiB, README says 224", got>>20)
	}
	base, _ := memoryBound(1000, 1<<20, 1, 1, 0)
	for name, v := range map[string]int64{
		"flows":    first(memoryBound(2000, 1<<20, 1, 1, 0)),
		"buffered": first(memoryBound(1000, 2<<20, 1, 1, 0)),
		"queues":   first(memoryBound(1000, 1<<20, 2, 1, 0)),
		"decoders": first(memoryBound(1000, 1<<20, 1, 2, 0)),
		"rings":    first(memoryBound(1000, 1<<20, 1, 1, 1<<20)),
	} {
		if v <= base {
			t.Errorf("more %s: bound %d, not above %d", name, v, base)
		}
	}
}

func first(a, _ int64) int64 { return a }
