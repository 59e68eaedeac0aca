package textproto

import "bytes"

// resyncBytes are enough bytes to tell whether a line starts: the longest
// prefix a startsLine function looks at (a base64 NTLMSSP token).
const resyncBytes = len("TlRMTVNTUA")

// Lines cuts one direction of a line protocol (SMTP, POP3, IMAP) into
// lines. A line longer than MaxLine is passed over to its LF. After bytes
// were lost, the next bytes are taken for the start of a line only when
// the protocol's startsLine says they look like one; otherwise they are
// passed over to the next LF.
type Lines struct {
	skip   bool // pass over bytes to the next LF
	resync bool // bytes were lost: the next bytes may be inside a line
}

// Lost says bytes were lost before the next ones.
func (l *Lines) Lost() { l.resync = true }

// Next returns the next line of b (without its terminator) and n, the
// bytes consumed (the line's, and any passed over before it). ok is false
// when no whole line is there yet: the n bytes are consumed, the rest is
// to be presented again with more.
func (l *Lines) Next(b []byte, toServer bool, startsLine func(toServer bool, b []byte) bool) (line []byte, n int, ok bool) {
	for {
		rest := b[n:]
		if l.resync {
			if len(rest) < resyncBytes && bytes.IndexByte(rest, '\n') < 0 {
				return nil, n, false // too few bytes to tell
			}
			l.resync = false
			l.skip = !startsLine(toServer, rest)
		}
		if l.skip {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				return nil, len(b), false
			}
			n += i + 1
			l.skip = false
			continue
		}
		line, m, whole, err := Line(rest)
		if err != nil {
			l.skip = true
			continue
		}
		if !whole {
			return nil, n, false
		}
		return line, n + m, true
	}
}
