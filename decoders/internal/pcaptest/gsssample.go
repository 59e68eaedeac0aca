package pcaptest

import (
	"encoding/binary"
	"testing"
)

// GSSSampleTokens returns the GSS tokens of a capture of MIT krb5's
// gss-client and gss-server (the sample programs, port 4444), client's and
// server's, each in order. Their protocol frames every token with a flags
// octet and a 4-byte big-endian length (krb5 src/appl/gss-sample
// gss-misc.c send_token); empty tokens (the flags-only opening) are left
// out. Each direction's payloads are concatenated in capture order, which
// is enough on loopback.
func GSSSampleTokens(tb testing.TB, rel string) (client, server [][]byte) {
	tb.Helper()
	var c2s, s2c []byte
	for _, s := range Segments(tb, rel) {
		switch {
		case s.DstPort == 4444:
			c2s = append(c2s, s.Payload...)
		case s.SrcPort == 4444:
			s2c = append(s2c, s.Payload...)
		}
	}
	return gssFrames(tb, c2s), gssFrames(tb, s2c)
}

func gssFrames(tb testing.TB, b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if n > len(b)-5 {
			tb.Fatalf("gss-sample token of %d bytes overruns the stream", n)
		}
		if n > 0 {
			out = append(out, b[5:5+n])
		}
		b = b[5+n:]
	}
	return out
}
