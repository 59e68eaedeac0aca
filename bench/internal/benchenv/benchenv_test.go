package benchenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ntlmsensor/bench/gen"
)

// A capture is generated once and then reused while its manifest matches.
func TestCaptureReused(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a capture")
	}
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Size, cfg.Seed, cfg.Originals = 4<<20, 7, filepath.Join("..", "..", "..", "pcaps", "real-implementations")
	path := CapturePath(dir, cfg.Size, cfg.Seed, "")
	m, err := Capture(cfg, path, "test")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != m.Bytes || len(m.Replicas) == 0 {
		t.Fatalf("capture %v, manifest %d bytes, %d replicas", err, m.Bytes, len(m.Replicas))
	}
	again, err := Capture(cfg, path, "test")
	if st2, _ := os.Stat(path); err != nil || !st2.ModTime().Equal(st.ModTime()) || again.Bytes != m.Bytes {
		t.Errorf("not reused: %v", err)
	}
}

func TestUpdateSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "PERFORMANCE.md")
	os.WriteFile(p, []byte("# P\n<!-- bench:live:begin -->\nold\n<!-- bench:live:end -->\ntail\n"), 0o644)
	if err := UpdateSection(p, "live", "| new |"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := "# P\n<!-- bench:live:begin -->\n| new |\n<!-- bench:live:end -->\ntail\n"; string(b) != want {
		t.Errorf("%q", b)
	}
	if err := UpdateSection(p, "1G", "x"); err == nil || !strings.Contains(err.Error(), "bench:1G:begin") {
		t.Errorf("missing section: %v", err)
	}
}
