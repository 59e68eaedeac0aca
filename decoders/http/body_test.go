package http

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// realBody is real payload bytes (IIS 401 pages and SharePoint responses of
// CredSLayer http-ntlm.pcap). No capture in pcaps/ has a chunked body, so the
// chunked tests chunk-encode these.
func realBody(tb testing.TB, n int) []byte {
	tb.Helper()
	var b []byte
	for _, s := range pcaptest.Segments(tb, "public/CredSLayer/tests/samples/http-ntlm.pcap") {
		if s.SrcPort == 80 {
			b = append(b, s.Payload...)
		}
		if len(b) >= n {
			return b[:n]
		}
	}
	tb.Fatalf("only %d body bytes", len(b))
	return nil
}

// chunkEncode splits body into chunks of the given sizes (cycled), with the
// extensions, trailers and line ending given.
func chunkEncode(body []byte, sizes []int, ext, trailers, eol string) []byte {
	var out []byte
	for i := 0; len(body) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(body))
		out = append(out, strconv.FormatInt(int64(n), 16)...)
		out = append(out, ext...)
		out = append(out, eol...)
		out = append(out, body[:n]...)
		out = append(out, eol...)
		body = body[n:]
	}
	out = append(out, "000"+ext+eol...)
	for _, t := range strings.Split(trailers, "\n") {
		if t != "" {
			out = append(out, t+eol...)
		}
	}
	return append(out, eol...)
}

func TestChunkedRealBodies(t *testing.T) {
	body := realBody(t, 5000)
	next := realHead(t, "HTTP/1.1 401")
	tests := []struct {
		name               string
		sizes              []int
		ext, trailers, eol string
	}{
		{"one chunk", []int{5000}, "", "", "\r\n"},
		{"IIS-like 0x1000", []int{0x1000}, "", "", "\r\n"},
		{"small odd chunks with ext", []int{1, 7, 300, 0xABC}, ";name=\"va;l\" ; x", "", "\r\n"},
		{"trailers", []int{1460}, "", "X-Sum: 1\nServer-Timing: a;dur=1", "\r\n"},
		{"LF only", []int{100}, ";e", "T: 1", "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := chunkEncode(body, tc.sizes, tc.ext, tc.trailers, tc.eol)
			stream := append(append([]byte(nil), enc...), next...)
			// Whole buffer at once: stops exactly at the next message.
			var c Chunked
			n, done, err := c.Skip(stream)
			if err != nil || !done || n != len(enc) {
				t.Fatalf("Skip = %d, %v, %v; want %d, true", n, done, err, len(enc))
			}
			if n, done, _ := c.Skip(next); n != 0 || !done {
				t.Fatalf("after done: %d %v", n, done)
			}
			// Every split into 1..7-byte pieces gives the same result.
			for step := 1; step <= 7; step++ {
				c.Reset()
				total, done := 0, false
				for total < len(stream) && !done {
					end := min(total+step, len(stream))
					n, d, err := c.Skip(stream[total:end])
					if err != nil {
						t.Fatalf("step %d at %d: %v", step, total, err)
					}
					total += n
					done = d
					if !d && n != end-(total-n) {
						t.Fatalf("step %d: consumed %d of %d before done", step, n, end-(total-n))
					}
				}
				if total != len(enc) {
					t.Fatalf("step %d: consumed %d, want %d", step, total, len(enc))
				}
			}
			// The head after the body parses.
			if resp, _, err := ParseResponse(stream[len(enc):]); err != nil || resp.StatusCode != 401 {
				t.Fatalf("next head: %v", err)
			}
		})
	}
}

func TestChunkedMalformed(t *testing.T) {
	for _, s := range []string{
		"\r\n",                 // no size
		"g\r\n",                // not hex
		"5\r\nhelloX",          // missing CRLF after data
		"5\r\nhello\rX",        // CR not followed by LF
		"1000000000000000\r\n", // size overflow (16 significant digits)
		"5\rX",                 // CR LF broken after size
		"0\r\n\rX",             // final CRLF broken
		"1;" + strings.Repeat("e", maxChunkExtBytes+1), // endless extension
		strings.Repeat("0", maxChunkExtBytes+1),        // endless leading zeros
	} {
		var c Chunked
		if _, _, err := c.Skip([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v", s, err)
		}
	}
	var c Chunked
	if n, done, err := c.Skip([]byte("00000000000000000000005\r\nhello\r\n0\r\n\r\n")); err != nil || !done || n != 37 {
		t.Errorf("leading zeros: %d %v %v", n, done, err)
	}
	c.Reset()
	trailers := "0\r\n" + strings.Repeat("X: y\r\n", MaxHeaderBytes/6+1)
	if _, _, err := c.Skip([]byte(trailers)); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge trailers: %v", err)
	}
}
