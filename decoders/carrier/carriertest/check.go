package carriertest

import (
	"slices"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// SameAsPipeline: the connection to port in a capture (given relative to
// pcaps/), fed to c however cut, gives the want findings the pipeline gives
// (Analyse with c alone), the same but for time and endpoints (Key).
// Observations (findings.Finding.Observation), which the pipeline drops
// unless asked, are left out.
func SameAsPipeline(t *testing.T, c *carrier.Carrier, rel string, port uint16, want int) {
	t.Helper()
	ref := Analyse(t, rel, c)
	if len(ref) != want {
		t.Fatalf("%s: %d findings, want %d", rel, len(ref), want)
	}
	ps := Pieces(t, rel, port)
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := slices.DeleteFunc(Drive(c, ps, chunk), (*findings.Finding).Observation)
		if len(fs) != len(ref) {
			t.Fatalf("%s chunk %d: %d findings, want %d", rel, chunk, len(fs), len(ref))
		}
		for i := range fs {
			if Key(fs[i]) != Key(ref[i]) {
				t.Errorf("%s chunk %d:\n%s\nwant\n%s", rel, chunk, Key(fs[i]), Key(ref[i]))
			}
		}
	}
}

// Allocs is how many allocations a fresh handler of c makes, on average,
// over steps fed each whole; every step must be used whole.
func Allocs(t *testing.T, c *carrier.Carrier, steps []Piece) float64 {
	t.Helper()
	h := c.New(testConn(c, nil))
	ts := time.Unix(1700000000, 0)
	return testing.AllocsPerRun(100, func() {
		for _, p := range steps {
			if n := h.Feed(p.ToServer, p.Data, ts); n != len(p.Data) {
				t.Fatalf("%d of %d bytes used", n, len(p.Data))
			}
		}
	})
}

// FuzzBoth is the body of a carrier's fuzz target: c is driven with a
// client's and a server's bytes taking turns, cut at points n chooses,
// then fed them with pieces lost in transit; it must not panic, and every
// finding must be complete enough to write (an outcome, c's protocol).
func FuzzBoth(t *testing.T, c *carrier.Carrier, client, server []byte, n uint16) {
	fs := Drive(c, Alternate(client, server, int(n%4096)+1), int(n%61)+1)
	ps := Alternate(client, server, int(n%509)+1)
	lost := map[int]bool{}
	for i := int(n % 5); i < len(ps); i += int(n%7) + 2 {
		lost[i] = true
	}
	more, _ := Feed(c, ps, lost)
	for _, fd := range append(fs, more...) {
		if fd.Outcome == "" || fd.Protocol != c.Protocol {
			t.Fatalf("incomplete finding %+v", fd)
		}
		fd.AppendJSON(nil)
	}
}

// Seed adds to a FuzzBoth target the client's and server's bytes of the
// connection to port in a capture, cut two ways.
func Seed(f *testing.F, rel string, port uint16) {
	c, s := Sides(Pieces(f, rel, port))
	f.Add(c, s, uint16(64))
	f.Add(c, s, uint16(3))
}
