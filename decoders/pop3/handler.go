package pop3

import (
	"bytes"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/textproto"
	"ntlmsensor/findings"
)

// Carrier registers POP3 (RFC 1939) with AUTH (RFC 5034): NTLM
// [MS-OXPOP3], GSSAPI (RFC 4752) and GSS-SPNEGO are followed; USER/PASS,
// APOP and the other mechanisms are passed over unread.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoPOP3,
	Ports:    []uint16{110},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: the server's "+OK" greeting (RFC 1939 4) or a client command a
// session starts with: USER, APOP, AUTH, CAPA, STLS.
func detect(toServer bool, b []byte) carrier.Verdict {
	if toServer {
		return oneOf(b, openers)
	}
	return oneOf(b, okay)
}

var (
	openers = []string{"USER", "APOP", "AUTH", "CAPA", "STLS"}
	okay    = []string{"+OK"}
)

// oneOf says whether b starts with one of the words, followed by SP, CR or
// LF or the end of b; Maybe when b is a prefix of one.
func oneOf(b []byte, words []string) carrier.Verdict {
	v := carrier.No
	for _, word := range words {
		switch {
		case len(b) < len(word):
			if prefixFold(b, word) {
				v = carrier.Maybe
			}
		case textproto.EqualFold(b[:len(word)], word) && (len(b) == len(word) || delim(b[len(word)])):
			return carrier.Yes
		}
	}
	return v
}

func delim(c byte) bool { return c == ' ' || c == '\r' || c == '\n' }

// prefixFold reports whether b is a prefix of upper, ignoring ASCII case.
func prefixFold(b []byte, upper string) bool {
	return len(b) <= len(upper) && textproto.EqualFold(b, upper[:len(b)])
}

// kind is what the response to a client command means to the handler.
type kind uint8

const (
	cmdOther    kind = iota
	cmdMulti         // +OK starts a multi-line response: RETR, TOP, LIST, UIDL
	cmdCapa          // CAPA: multi-line, its SASL line lists mechanisms (RFC 2449 6.3)
	cmdAuthList      // AUTH alone: multi-line, one mechanism a line [MS-POP3 2.2.1]
	cmdAuth
	cmdSTLS
)

// gss: a SASL mechanism that offers Kerberos.
func gss(name []byte) bool {
	return textproto.EqualFold(name, "GSSAPI") || textproto.EqualFold(name, "GSS-SPNEGO")
}

type handler struct {
	conn *carrier.Conn
	x    carrier.Exchange

	q textproto.Queue[kind] // commands awaiting their answers

	sasl  textproto.SASL // the AUTH exchange
	multi kind           // the server sends the body of a multi-line response to this
	body  textproto.DotBody
	lines [2]textproto.Lines // each direction cut into lines
	done  bool               // TLS began: nothing more is readable
}

// Feed reads lines; the bodies of multi-line responses (messages) are
// passed over unread.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	for used < len(b) && !h.done {
		if !toServer && h.multi == cmdMulti {
			n, end := h.body.Skip(b[used:])
			used += n
			if !end {
				return used
			}
			h.multi = cmdOther
			continue
		}
		line, n, ok := h.lines[d].Next(b[used:], toServer, startsLine)
		used += n
		if !ok {
			return used
		}
		if toServer {
			h.clientLine(line, ts)
		} else {
			h.serverLine(line, ts)
		}
	}
	if h.done {
		return len(b)
	}
	return used
}

// clientLine reads a command or a SASL response.
func (h *handler) clientLine(line []byte, ts time.Time) {
	if h.sasl.Open {
		if h.sasl.IsResponse(line) {
			h.sasl.Response(&h.x, line)
			return
		}
		// base64 has no spaces, and raw NTLM ends with the AUTHENTICATE:
		// this is a command, so the exchange is over and its final response
		// was lost
		h.lost(ts)
	}
	if h.multi != cmdOther && h.q.Len() == 0 {
		// without pipelining a client speaks after the whole response:
		// its end was not seen
		h.multi = cmdOther
	}
	if textproto.HasNTLMSSPPrefix(line) {
		// an NTLM response whose AUTH was not seen: the capture began in
		// the exchange, or bytes were lost
		h.begin(true, ts)
		h.push(cmdAuth)
		h.sasl.Response(&h.x, line)
		return
	}
	c := ParseCommand(line)
	v := c.Verb
	switch {
	case textproto.EqualFold(v, "AUTH"):
		if len(c.Mechanism) == 0 {
			h.push(cmdAuthList)
			return
		}
		h.begin(textproto.TokenMechanism(c.Mechanism), ts)
		h.push(cmdAuth)
		if c.InitialResponse != nil {
			h.sasl.Response(&h.x, c.InitialResponse)
		}
	case c.StartTLS:
		h.push(cmdSTLS)
	case textproto.EqualFold(v, "CAPA"):
		h.push(cmdCapa)
	case textproto.EqualFold(v, "RETR") || textproto.EqualFold(v, "TOP"):
		h.push(cmdMulti)
	case textproto.EqualFold(v, "LIST") || textproto.EqualFold(v, "UIDL"):
		// multi-line without an argument (RFC 1939 5)
		if _, arg := textproto.Word(line); len(bytes.TrimSpace(arg)) == 0 {
			h.push(cmdMulti)
		} else {
			h.push(cmdOther)
		}
	default:
		h.push(cmdOther)
	}
}

// begin opens an AUTH exchange. An attempt still waiting for its outcome
// never got one.
func (h *handler) begin(tokens bool, ts time.Time) {
	if h.x.Pending() {
		h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
	} else {
		h.x.Reset()
	}
	h.sasl.Begin(tokens)
}

// lost ends an AUTH exchange whose final response was not seen.
func (h *handler) lost(ts time.Time) {
	h.sasl.End()
	if h.seek(cmdAuth) {
		h.pop()
	}
	h.Close(ts)
	h.x.Reset()
}

// serverLine reads a status line, a continuation, or a line of a CAPA or
// AUTH list.
func (h *handler) serverLine(line []byte, ts time.Time) {
	if h.multi != cmdOther {
		h.listLine(line)
		return
	}
	r, err := ParseResponse(line)
	if err != nil {
		return
	}
	if r.Continuation {
		if !h.seek(cmdAuth) {
			if !h.sasl.Open {
				if !textproto.HasNTLMSSPPrefix(r.Text) {
					return
				}
				h.begin(true, ts) // an NTLM challenge to an AUTH not seen
			}
			h.q.Clear()
			h.push(cmdAuth)
		}
		h.sasl.Challenge(&h.x, r.Text)
		return // AUTH still waits for its outcome
	}
	switch k := h.pop(); k {
	case cmdAuth:
		h.finish(r.OK, ts)
	case cmdSTLS:
		if r.OK {
			h.startTLS(ts)
		}
	case cmdMulti, cmdCapa, cmdAuthList:
		if r.OK {
			h.multi = k
			h.body.Reset()
		}
	}
}

// listLine reads a line of a CAPA or AUTH list: "SASL GSSAPI NTLM" or
// "GSSAPI" offers Kerberos. "." ends the list.
func (h *handler) listLine(line []byte) {
	if len(line) == 1 && line[0] == '.' {
		h.multi = cmdOther
		return
	}
	w, rest := textproto.Word(line)
	switch h.multi {
	case cmdAuthList:
		if gss(w) {
			h.x.OfferKerberos()
		}
	case cmdCapa:
		if !textproto.EqualFold(w, "SASL") {
			return
		}
		for len(rest) > 0 {
			w, rest = textproto.Word(rest)
			if gss(w) {
				h.x.OfferKerberos()
			}
		}
	}
}

// finish closes the AUTH exchange with its status: +OK success, -ERR
// failure (RFC 5034 4).
func (h *handler) finish(ok bool, ts time.Time) {
	h.sasl.End()
	if !h.x.Pending() {
		h.x.Reset() // cancelled or refused before the client's final token
		return
	}
	outcome, reason := findings.Failure, "POP3 -ERR"
	if ok {
		outcome, reason = findings.Success, "POP3 +OK"
	}
	h.conn.Emit(h.x.Finish(outcome, reason), ts)
}

// startTLS: the server accepted STLS (RFC 2595 4); what follows is TLS.
func (h *handler) startTLS(ts time.Time) {
	h.Close(ts)
	h.done = true
	h.conn.Done()
}

func (h *handler) push(k kind) { h.q.Push(k) }

// pop takes the command an answer is for; cmdOther when none waits (the
// greeting, or answers out of step).
func (h *handler) pop() kind {
	if k, ok := h.q.Pop(); ok {
		return k
	}
	return cmdOther
}

// seek brings the oldest command of kind k to the head, dropping those
// before it (their answers were lost); false when none waits.
func (h *handler) seek(k kind) bool { return h.q.Seek(k) }

// Gap: resynchronise on the next line. Lost responses leave the queue out
// of step: only an open AUTH is kept waiting; a multi-line body being
// passed over ends at its next terminator.
func (h *handler) Gap(toServer bool, ts time.Time) {
	if toServer {
		h.lines[0].Lost()
		return
	}
	if h.multi == cmdMulti {
		h.body.Lost()
	} else {
		h.multi = cmdOther
		h.lines[1].Lost()
	}
	h.q.Clear()
	if h.sasl.Open {
		h.push(cmdAuth)
	}
}

var verbs = []string{"USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "QUIT", "TOP", "UIDL"}

// startsLine: after lost bytes, b plausibly starts a line: a status or a
// continuation (RFC 1939 3, RFC 5034 4), an NTLM response or a command.
func startsLine(toServer bool, b []byte) bool {
	if !toServer {
		return oneOf(b, statuses) == carrier.Yes
	}
	return textproto.HasNTLMSSPPrefix(b) || oneOf(b, verbs) == carrier.Yes
}

var statuses = []string{"+OK", "-ERR", "+"}

// Close emits an attempt whose outcome never came.
func (h *handler) Close(ts time.Time) {
	if h.x.Pending() {
		h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
	}
}
