package textproto

import "bytes"

// DotBody passes over a dot-terminated body: SMTP DATA content (RFC 5321
// 4.5.2) and POP3 multi-line responses (RFC 1939 3) end with a line that
// holds a single "." (CRLF "." CRLF). It keeps its place between calls, so
// a body cut anywhere is passed over without being buffered or copied.
//
// The zero value is at the start of a body (a line start).
type DotBody struct{ state uint8 }

const (
	dotLineStart = iota // the next byte starts a line
	dotMidLine          // inside a line: wait for its LF
	dotDot              // "." at a line start
	dotDotCR            // "." CR at a line start
)

// Reset places d at the start of a new body.
func (d *DotBody) Reset() { d.state = dotLineStart }

// Lost says bytes of the body were lost: the next line start is after the
// next LF.
func (d *DotBody) Lost() { d.state = dotMidLine }

// Skip passes over the body bytes in b. When the terminating line is in b
// it returns the bytes up to and including it, and true; otherwise len(b)
// and false (all of b is body). Dot-stuffed lines ("..x") are body.
func (d *DotBody) Skip(b []byte) (n int, end bool) {
	for i := 0; i < len(b); {
		switch d.state {
		case dotMidLine:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return len(b), false
			}
			i += j + 1
			d.state = dotLineStart
		case dotLineStart:
			switch b[i] {
			case '.':
				d.state = dotDot
			case '\n':
			default:
				d.state = dotMidLine
			}
			i++
		case dotDot:
			if b[i] != '\r' {
				d.state = dotMidLine // not consumed: b[i] may end the line
				continue
			}
			d.state = dotDotCR
			i++
		default: // dotDotCR
			if b[i] == '\n' {
				d.state = dotLineStart
				return i + 1, true
			}
			d.state = dotMidLine
		}
	}
	return len(b), false
}
