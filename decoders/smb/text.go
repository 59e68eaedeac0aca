package smb

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16String decodes UTF-16LE; an odd trailing byte is dropped and unpaired
// surrogates become U+FFFD, so any input yields valid UTF-8 in one allocation.
func utf16String(b []byte) string {
	b = b[:len(b)&^1]
	if len(b) == 0 {
		return ""
	}
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var sb strings.Builder
	if ascii {
		sb.Grow(len(b) / 2)
		for i := 0; i < len(b); i += 2 {
			sb.WriteByte(b[i])
		}
		return sb.String()
	}
	// A code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 for 2 units).
	sb.Grow(len(b) / 2 * 3)
	for i := 0; i < len(b); i += 2 {
		r := rune(le16(b, i))
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && i+3 < len(b) {
				if r2 := rune(le16(b, i+2)); r2 >= 0xdc00 && r2 < 0xe000 {
					r = utf16.DecodeRune(r, r2)
					i += 2
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

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
		return utf16String(b)
	}
	return oemString(b)
}
