package smb

import (
	"strings"
	"unicode/utf8"

	"ntlmsensor/decoders/internal/utf16le"
)

// oemString converts an OEM (code page) string. The code page is unknown on
// the wire: valid UTF-8 is kept as is, anything else is read as Latin-1, so
// the result is always valid UTF-8.
func oemString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// smb1Text reads the consecutive NUL-terminated strings of an SMB1 data
// block [MS-CIFS 2.2.1.1]. pos and end are offsets in msg so that Unicode
// alignment is relative to the SMB header start, as the spec requires.
// A string missing its terminator runs to end; past end strings are "".
type smb1Text struct {
	msg      []byte
	pos, end int
	unicode  bool
}

// raw returns the bytes of the next string without its terminator.
func (t *smb1Text) raw(align bool) []byte {
	if t.unicode && align && t.pos&1 == 1 {
		t.pos++
	}
	if t.pos >= t.end {
		t.pos = t.end
		return nil
	}
	start := t.pos
	if t.unicode {
		i := start
		for ; i+1 < t.end; i += 2 {
			if t.msg[i] == 0 && t.msg[i+1] == 0 {
				t.pos = i + 2
				return t.msg[start:i]
			}
		}
		t.pos = t.end
		return t.msg[start:i]
	}
	for i := start; i < t.end; i++ {
		if t.msg[i] == 0 {
			t.pos = i + 1
			return t.msg[start:i]
		}
	}
	t.pos = t.end
	return t.msg[start:t.end]
}

func (t *smb1Text) next() string { return t.decode(t.raw(true)) }

// nextUnaligned reads a string with no pad before it (e.g. the NEGOTIATE
// response DomainName, which Samba and Windows write unaligned).
func (t *smb1Text) nextUnaligned() string { return t.decode(t.raw(false)) }

func (t *smb1Text) decode(b []byte) string {
	if t.unicode {
		return utf16le.String(b)
	}
	return oemString(b)
}
