package gen

import (
	"bytes"
	"testing"

	"ntlmsensor/capture"
)

// TestMixes: every named mix makes a capture in which every planted
// authentication is found, with nothing else; the proxy mix holds about a
// million connections per GiB; an unknown mix is an error.
func TestMixes(t *testing.T) {
	for _, name := range MixNames() {
		t.Run(name, func(t *testing.T) {
			cfg := small(1)
			cfg.Mix = name
			var buf bytes.Buffer
			m, err := Generate(cfg, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if m.Mix != name {
				t.Errorf("manifest mix %q", m.Mix)
			}
			planted, err := m.PlantedFindings(cfg.Originals)
			if err != nil {
				t.Fatal(err)
			}
			src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "generated")
			if err != nil {
				t.Fatal(err)
			}
			found, err := SensorFindings(src, 2)
			if err != nil {
				t.Fatal(err)
			}
			if r := Check(planted, found); r.Found != r.Planted || len(r.Extra) > 0 {
				t.Errorf("%d of %d planted found, %d extra", r.Found, r.Planted, len(r.Extra))
			}
			perGiB := float64(m.Connections) / float64(m.Bytes) * (1 << 30)
			t.Logf("%d bytes, %d packets, %d connections (%.0f per GiB)", m.Bytes, m.Packets, m.Connections, perGiB)
			if name == "proxy" && perGiB < 700e3 {
				t.Errorf("proxy mix: %.0f connections per GiB", perGiB)
			}
		})
	}
	cfg := small(1)
	cfg.Mix = "nonesuch"
	if _, err := Generate(cfg, &bytes.Buffer{}); err == nil {
		t.Error("an unknown mix generated a capture")
	}
}
