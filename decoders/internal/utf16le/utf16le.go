// Package utf16le decodes the UTF-16LE strings of Windows protocols
// (NTLMSSP [MS-NLMP 2.2], SMB [MS-SMB2 2.2], TDS [MS-TDS 2.2.6.4]) into
// valid UTF-8: a surrogate pair becomes one rune, an unpaired surrogate
// U+FFFD, and an odd trailing byte is ignored (callers that must show it
// add the U+FFFD themselves).
package utf16le

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Append appends the decoded src to dst.
func Append(dst, src []byte) []byte {
	for i := 0; i+1 < len(src); i += 2 {
		u := rune(src[i]) | rune(src[i+1])<<8
		switch {
		case u < utf8.RuneSelf:
			dst = append(dst, byte(u))
		case !utf16.IsSurrogate(u):
			dst = utf8.AppendRune(dst, u)
		case u < 0xdc00 && i+3 < len(src):
			r := utf16.DecodeRune(u, rune(src[i+2])|rune(src[i+3])<<8)
			if r != utf8.RuneError {
				i += 2 // consumed the low surrogate
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	return dst
}

// String decodes b in one allocation.
func String(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	// A code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 for 2 units).
	return string(Append(make([]byte, 0, len(b)/2*3), b))
}

// UntilNUL cuts b before its first NUL code unit (at an even offset).
func UntilNUL(b []byte) []byte {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return b[:i]
		}
	}
	return b
}
