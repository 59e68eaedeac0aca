// Package ntlmscan is the catch-all carrier: on TCP streams that no
// protocol decoder claimed, it finds NTLMSSP messages by their signature,
// raw ("NTLMSSP\0") or base64 ("TlRMTVNT"), and reports the authentications
// with network.protocol "unknown". NTLM over a protocol the sensor does not
// parse (Telnet, custom applications) is an NTLM dependency all the same.
package ntlmscan

import (
	"bytes"
	"encoding/base64"

	"ntlmsensor/decoders/ntlmssp"
)

// The scanner is pure: it finds where NTLMSSP messages may start in bytes
// and measures and decodes their base64 form; handler.go follows a
// connection with it.

var (
	rawSig = []byte(ntlmssp.Signature) // MS-NLMP 2.2.1
	b64Sig = []byte("TlRMTVNT")        // base64 of "NTLMSS": every NTLMSSP message in base64 starts so
)

// maxMessage: an NTLMSSP message is far smaller; a longer run is not one.
const maxMessage = 8 << 10

// partialSignature is how many of the last bytes of b are the start of a
// signature (both are 8 bytes long).
func partialSignature(b []byte) int {
	for k := min(len(b), len(rawSig)-1); k > 0; k-- {
		if t := b[len(b)-k:]; bytes.HasPrefix(rawSig, t) || bytes.HasPrefix(b64Sig, t) {
			return k
		}
	}
	return 0
}

// nextSignature finds the earliest raw or base64 signature.
func nextSignature(b []byte) (int, bool) {
	r := bytes.Index(b, rawSig)
	e := bytes.Index(b, b64Sig)
	switch {
	case r < 0:
		return e, e >= 0
	case e < 0 || r < e:
		return r, false
	}
	return e, true
}

// base64Run measures the run of base64 characters (RFC 4648 4) at the
// start of b: complete is false when it reaches the end of b and may go on
// in the bytes that follow.
func base64Run(b []byte) (n int, complete bool) {
	for n < len(b) && n < maxMessage && isBase64(b[n]) {
		n++
	}
	return n, n < len(b) || n >= maxMessage
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

func decodeBase64(dst, src []byte) ([]byte, error) {
	src = bytes.TrimRight(src, "=")
	need := base64.RawStdEncoding.DecodedLen(len(src))
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	n, err := base64.RawStdEncoding.Decode(dst[:need], src)
	return dst[:n], err
}
