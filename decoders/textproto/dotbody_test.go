package textproto

import (
	"bytes"
	"testing"
)

// dotEnd is the reference: the body starts at a line start and ends after
// the first CRLF "." CRLF line; -1 when it does not end in b.
func dotEnd(b []byte) int {
	// a line start is the start of b or after any LF
	if bytes.HasPrefix(b, []byte(".\r\n")) {
		return 3
	}
	i := bytes.Index(b, []byte("\n.\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

func TestDotBody(t *testing.T) {
	tests := []struct {
		body string
		end  int
	}{
		{".\r\n", 3},
		{"Subject: test\r\n\r\nhello\r\n.\r\nQUIT\r\n", 27},
		{"..stuffed\r\n.\r\n", 14},
		{"a\n.\r\nrest", 5},
		{"bare lf\n.\nstill body", -1},
		{".x\r\n.\r\n", 7},
		{"x.\r\n", -1},
		{"\r\n.\r", -1},
		{".\r.\r\n", -1},
		{"", -1},
	}
	for _, tt := range tests {
		if got := dotEnd([]byte(tt.body)); got != tt.end {
			t.Fatalf("reference %q = %d, want %d", tt.body, got, tt.end)
		}
		for chunk := 1; chunk <= len(tt.body)+1; chunk++ {
			var d DotBody
			got, seen := -1, 0
			for b := []byte(tt.body); len(b) > 0; {
				c := b[:min(chunk, len(b))]
				b = b[len(c):]
				n, end := d.Skip(c)
				if end {
					got = seen + n
					break
				}
				if n != len(c) {
					t.Fatalf("%q chunk %d: Skip = %d of %d without end", tt.body, chunk, n, len(c))
				}
				seen += n
			}
			if got != tt.end {
				t.Errorf("%q chunk %d: end %d, want %d", tt.body, chunk, got, tt.end)
			}
		}
	}
}

func TestDotBodyLostAndReset(t *testing.T) {
	var d DotBody
	d.Lost()
	if n, end := d.Skip([]byte(".\r\nx\r\n.\r\n")); !end || n != 9 {
		t.Errorf("after Lost: %d %v, want the second terminator", n, end)
	}
	d.Lost()
	d.Reset()
	if n, end := d.Skip([]byte(".\r\n")); !end || n != 3 {
		t.Errorf("after Reset: %d %v", n, end)
	}
}

func FuzzDotBody(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n.\r\n"), uint8(3))
	f.Add([]byte(".\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		want := dotEnd(body)
		var d DotBody
		got, seen := -1, 0
		step := int(chunk%64) + 1
		for b := body; len(b) > 0; {
			c := b[:min(step, len(b))]
			b = b[len(c):]
			n, end := d.Skip(c)
			if end {
				got = seen + n
				break
			}
			seen += n
		}
		if got != want {
			t.Fatalf("%q by %d: end %d, want %d", body, step, got, want)
		}
	})
}
