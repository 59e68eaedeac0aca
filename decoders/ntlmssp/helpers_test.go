package ntlmssp

import (
	"bytes"
	"encoding/base64"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// found is one NTLMSSP message located in a capture.
type found struct {
	Frame int
	Msg   []byte // from the signature to the end of the payload (or the decoded token)
	B64   bool   // base64 token from a text protocol (HTTP/SMTP/IMAP/POP3)
}

// b64Sig is base64("NTLMSSP\x00") minus its last, alignment-dependent char.
const b64Sig = "TlRMTVNTUA"

// scan returns every NTLMSSP message in the capture's packet payloads: raw
// ones by signature, base64 ones (text protocols) decoded.
func scan(tb testing.TB, rel string) []found {
	tb.Helper()
	var out []found
	for _, s := range pcaptest.Segments(tb, rel) {
		p := s.Payload
		for off := 0; ; {
			i := Find(p[off:])
			if i < 0 {
				break
			}
			out = append(out, found{Frame: s.Frame, Msg: p[off+i:]})
			off += i + len(Signature)
		}
		for off := 0; ; {
			i := bytes.Index(p[off:], []byte(b64Sig))
			if i < 0 {
				break
			}
			start := off + i
			end := start
			for end < len(p) && isB64(p[end]) {
				end++
			}
			if msg := decodeB64(p[start:end]); msg != nil {
				out = append(out, found{Frame: s.Frame, Msg: msg, B64: true})
			}
			off = end
		}
	}
	return out
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

func decodeB64(s []byte) []byte {
	s = bytes.TrimRight(s, "=")
	out, err := base64.RawStdEncoding.DecodeString(string(s))
	if err != nil {
		return nil
	}
	return out
}

// messages returns the messages of type typ found in a capture, failing the
// test when there are none.
func messages(tb testing.TB, rel string, typ MessageType) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, f := range scan(tb, rel) {
		if t, ok := Peek(f.Msg); ok && t == typ {
			out = append(out, f.Msg)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no %v message found", rel, typ)
	}
	return out
}

// first is messages(...)[0].
func first(tb testing.TB, rel string, typ MessageType) []byte {
	tb.Helper()
	return messages(tb, rel, typ)[0]
}
