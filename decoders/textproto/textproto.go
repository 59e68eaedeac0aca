// Package textproto holds the line, word and base64 helpers shared by the
// SMTP, IMAP and POP3 decoders: the three carry SASL exchanges (NTLM,
// GSSAPI) as base64 on CRLF-terminated lines.
//
// Everything works on sub-slices of the caller's buffer and allocates nothing.
package textproto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
)

// MaxLine bounds a line (without terminator). An NTLM AUTHENTICATE message
// in base64 is a few KB; a Kerberos AP-REQ with a PAC can reach ~16 KB.
const MaxLine = 64 << 10

var (
	// ErrLineTooLong: no line terminator within MaxLine bytes.
	ErrLineTooLong = errors.New("textproto: line too long")
	// ErrBase64 reports a SASL response or challenge that is not base64.
	ErrBase64 = errors.New("textproto: malformed base64")
)

// Line returns the first CRLF- (or bare LF-) terminated line of b without
// its terminator, and n, the bytes consumed including the terminator.
// ok is false when b holds no full line yet. RFC 5321 2.3.8, RFC 9051 2.2
// and RFC 1939 3 all require CRLF; bare LF is accepted as real servers and
// Zeek/Suricata do. A line longer than MaxLine gives ErrLineTooLong.
func Line(b []byte) (line []byte, n int, ok bool, err error) {
	search := b
	if len(search) > MaxLine+2 {
		search = search[:MaxLine+2] // MaxLine bytes plus CRLF
	}
	i := bytes.IndexByte(search, '\n')
	if i < 0 {
		if len(b) >= MaxLine+2 {
			return nil, 0, false, ErrLineTooLong
		}
		return nil, 0, false, nil
	}
	line = b[:i:i]
	if i > 0 && line[i-1] == '\r' {
		line = line[: i-1 : i-1]
	}
	if len(line) > MaxLine {
		return nil, 0, false, ErrLineTooLong
	}
	return line, i + 1, true, nil
}

// Word splits off the first space-separated word of b: word has no spaces,
// rest starts at the next word (extra spaces skipped). Both are nil-safe
// sub-slices of b.
func Word(b []byte) (word, rest []byte) {
	b = trimLeft(b)
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i:i], trimLeft(b[i+1:])
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// EqualFold reports whether b equals upper, ignoring ASCII case. upper must
// be upper-case ASCII (a protocol keyword such as "AUTH").
func EqualFold(b []byte, upper string) bool {
	if len(b) != len(upper) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// IsCancel reports a SASL cancel: the client answers a challenge with "*"
// (RFC 4954 4, RFC 9051 6.2.2, RFC 5034 4).
func IsCancel(line []byte) bool {
	return len(line) == 1 && line[0] == '*'
}

// HasNTLMSSPPrefix reports whether a base64 SASL token starts with the
// encoded NTLMSSP signature "NTLMSSP\x00" [MS-NLMP 2.2.1] ("TlRMTVNTUA").
func HasNTLMSSPPrefix(b64 []byte) bool {
	return bytes.HasPrefix(b64, []byte("TlRMTVNTUA"))
}

// AppendBase64 decodes the base64 SASL token src and appends the bytes to
// dst, growing it only when its capacity is short (pass a reused buffer for
// no allocation). A lone "=" is the empty initial response (RFC 4954 4,
// RFC 4959 3); unpadded input is accepted. On error dst is returned unchanged.
func AppendBase64(dst, src []byte) ([]byte, error) {
	src = bytes.TrimSpace(src)
	if len(src) == 1 && src[0] == '=' {
		return dst, nil
	}
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		enc = base64.RawStdEncoding
		src = bytes.TrimRight(src, "=")
	}
	n := len(dst)
	out := slices.Grow(dst, enc.DecodedLen(len(src)))
	m, err := enc.Decode(out[n:n+enc.DecodedLen(len(src))], src)
	if err != nil {
		return dst, ErrBase64
	}
	return out[:n+m], nil
}
