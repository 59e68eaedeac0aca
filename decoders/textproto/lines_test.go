package textproto

import (
	"bytes"
	"testing"
)

func upperStart(_ bool, b []byte) bool { return len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' }

// After lost bytes, a line's tail is passed over unless it looks like a
// line's start; a line too long is passed over to its LF; lines come out
// whole however the bytes are cut.
func TestLines(t *testing.T) {
	long := append(bytes.Repeat([]byte("x"), MaxLine+10), "\r\nEHLO b\r\n"...)
	for _, tt := range []struct {
		name string
		lost bool
		in   []byte
		want []string
	}{
		{"plain", false, []byte("EHLO a\r\nAUTH NTLM\r\n"), []string{"EHLO a", "AUTH NTLM"}},
		{"lost mid-line", true, []byte("o world\r\nQUIT\r\n"), []string{"QUIT"}},
		{"lost at a line start", true, []byte("NOOP\r\nQUIT\r\n"), []string{"NOOP", "QUIT"}},
		{"too long", false, long, []string{"EHLO b"}},
	} {
		for _, chunk := range []int{1, 3, len(tt.in)} {
			var l Lines
			if tt.lost {
				l.Lost()
			}
			var got []string
			var pending []byte
			for off := 0; off < len(tt.in); off += chunk {
				pending = append(pending, tt.in[off:min(off+chunk, len(tt.in))]...)
				for {
					line, n, ok := l.Next(pending, true, upperStart)
					pending = pending[n:]
					if !ok {
						break
					}
					got = append(got, string(line))
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%s, chunks of %d: %q, want %q", tt.name, chunk, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("%s, chunks of %d: %q, want %q", tt.name, chunk, got, tt.want)
				}
			}
		}
	}
}
