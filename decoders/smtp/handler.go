package smtp

import (
	"bytes"
	"strconv"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/textproto"
	"ntlmsensor/findings"
)

// Carrier registers SMTP and submission (RFC 5321, RFC 6409) with AUTH
// (RFC 4954): NTLM [MS-SMTPNTLM], GSSAPI (RFC 4752) and GSS-SPNEGO are
// followed; PLAIN, LOGIN and the other mechanisms are passed over unread.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoSMTP,
	Ports:    []uint16{25, 587},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: the server's 220 greeting or the client's EHLO/HELO (RFC 5321
// 4.1.1.1, 4.2, 4.3.1).
func detect(toServer bool, b []byte) carrier.Verdict {
	if toServer {
		return detectHello(b)
	}
	return detectGreeting(b)
}

func detectHello(b []byte) carrier.Verdict {
	if len(b) < 5 {
		if prefixFold(b, "EHLO") || prefixFold(b, "HELO") {
			return carrier.Maybe
		}
		return carrier.No
	}
	if (textproto.EqualFold(b[:4], "EHLO") || textproto.EqualFold(b[:4], "HELO")) && (b[4] == ' ' || b[4] == '\r' || b[4] == '\n') {
		return carrier.Yes
	}
	return carrier.No
}

func detectGreeting(b []byte) carrier.Verdict {
	if len(b) < 4 {
		if prefixFold(b, "220") {
			return carrier.Maybe
		}
		return carrier.No
	}
	if string(b[:3]) != "220" || b[3] != ' ' && b[3] != '-' {
		return carrier.No
	}
	// FTP greets with 220 too (RFC 959); its servers say so in the
	// greeting, which is left to the catch-all carrier.
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	if !containsFold(line, "SMTP") && containsFold(line, "FTP") {
		return carrier.No
	}
	return carrier.Yes
}

// prefixFold reports whether b is a prefix of upper, ignoring ASCII case.
func prefixFold(b []byte, upper string) bool {
	return len(b) <= len(upper) && textproto.EqualFold(b, upper[:len(b)])
}

// containsFold reports whether upper occurs in b, ignoring ASCII case.
func containsFold(b []byte, upper string) bool {
	for i := 0; i+len(upper) <= len(b); i++ {
		if textproto.EqualFold(b[i:i+len(upper)], upper) {
			return true
		}
	}
	return false
}

// kind is what the reply to a client command means to the handler.
type kind uint8

const (
	cmdOther kind = iota
	cmdAuth
	cmdStartTLS
	cmdData
)

const (
	maxSkip = 1 << 30 // longest BDAT chunk passed over by skipping
)

type handler struct {
	conn *carrier.Conn
	x    carrier.Exchange

	q textproto.Queue[kind] // commands awaiting their answers

	sasl  textproto.SASL // the AUTH exchange
	data  bool           // the client sends DATA content
	body  textproto.DotBody
	lines [2]textproto.Lines // each direction cut into lines
	done  bool               // TLS began: nothing more is readable
}

// Feed reads lines; DATA content and BDAT chunks are passed over unread.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	for used < len(b) && !h.done {
		if toServer && h.data {
			n, end := h.body.Skip(b[used:])
			used += n
			if !end {
				return used
			}
			h.data = false
			h.push(cmdOther) // the content has its own reply
			continue
		}
		line, n, ok := h.lines[d].Next(b[used:], toServer, startsLine)
		used += n
		if !ok {
			return used
		}
		if !toServer {
			h.serverLine(line, ts)
			continue
		}
		if skip := h.clientLine(line, ts); skip > 0 {
			if skip > len(b)-used {
				return used + skip // the rest of the chunk has not arrived
			}
			used += skip
		}
	}
	if h.done {
		return len(b)
	}
	return used
}

// clientLine reads a command or a SASL response; it returns the bytes of a
// BDAT chunk that follow the line, to pass over.
func (h *handler) clientLine(line []byte, ts time.Time) int {
	if h.sasl.Open {
		if h.sasl.IsResponse(line) {
			h.sasl.Response(&h.x, line)
			return 0
		}
		// base64 has no spaces, and raw NTLM ends with the AUTHENTICATE:
		// this is a command, so the exchange is over and its final reply
		// was lost
		h.lost(ts)
	}
	if textproto.HasNTLMSSPPrefix(line) {
		// an NTLM response whose AUTH was not seen: the capture began
		// in the exchange, or bytes were lost
		h.begin(true, ts)
		h.push(cmdAuth)
		h.sasl.Response(&h.x, line)
		return 0
	}
	c := ParseCommand(line)
	switch {
	case textproto.EqualFold(c.Verb, "AUTH") && len(c.Mechanism) > 0:
		h.begin(textproto.TokenMechanism(c.Mechanism), ts)
		h.push(cmdAuth)
		if c.InitialResponse != nil {
			h.sasl.Response(&h.x, c.InitialResponse)
		}
	case c.StartTLS:
		h.push(cmdStartTLS)
	case textproto.EqualFold(c.Verb, "DATA"):
		h.push(cmdData)
	case textproto.EqualFold(c.Verb, "BDAT"):
		// RFC 3030 2: "BDAT" SP chunk-size [SP "LAST"], then the chunk
		h.push(cmdOther)
		_, rest := textproto.Word(line)
		size, _ := textproto.Word(rest)
		return chunkSize(size)
	default:
		h.push(cmdOther)
	}
	return 0
}

// chunkSize parses a BDAT chunk size; 0 when malformed or beyond maxSkip.
func chunkSize(b []byte) int {
	if len(b) == 0 || len(b) > 10 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > maxSkip {
		return 0
	}
	return n
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

// lost ends an AUTH exchange whose final reply was not seen.
func (h *handler) lost(ts time.Time) {
	h.sasl.End()
	if h.seek(cmdAuth) {
		h.pop()
	}
	h.Close(ts)
	h.x.Reset()
}

// serverLine reads one reply line.
func (h *handler) serverLine(line []byte, ts time.Time) {
	r, err := ParseReply(line)
	if err != nil {
		return
	}
	if r.Code == 250 {
		h.capability(r.Text)
	}
	if !r.Continuation {
		h.reply(r, ts)
	}
}

// capability reads an EHLO keyword line: "AUTH GSSAPI NTLM" offers
// Kerberos (the obsolete "AUTH=" form as well).
func (h *handler) capability(text []byte) {
	if len(text) < 5 || !textproto.EqualFold(text[:4], "AUTH") || text[4] != ' ' && text[4] != '=' {
		return
	}
	for rest := text[5:]; len(rest) > 0; {
		var w []byte
		w, rest = textproto.Word(rest)
		if textproto.EqualFold(w, "GSSAPI") || textproto.EqualFold(w, "GSS-SPNEGO") {
			h.x.OfferKerberos()
		}
	}
}

// reply takes the last line of a reply: it answers the oldest command
// waiting (RFC 2920 3.1). Codes only one command has (334, 235, 354)
// realign the queue when replies were lost.
func (h *handler) reply(r Reply, ts time.Time) {
	if h.data && r.Code != 354 {
		h.data = false // the content ended though its end was not seen
	}
	switch r.Code {
	case CodeAuthChallenge:
		if !h.seek(cmdAuth) {
			if !h.sasl.Open {
				if !textproto.HasNTLMSSPPrefix(r.Text) {
					return
				}
				h.begin(true, ts) // an NTLM challenge to an AUTH that was not seen
			}
			h.q.Clear()
			h.push(cmdAuth)
		}
		h.sasl.Challenge(&h.x, r.Text)
		return // AUTH still waits for its outcome
	case CodeAuthOK:
		if h.seek(cmdAuth) {
			h.pop()
		}
		if h.sasl.Open || h.x.Pending() {
			h.finish(r.Code, ts)
		}
		return
	case 354: // only DATA is answered so (RFC 5321 4.3.2)
		if h.seek(cmdData) {
			h.pop()
		}
		h.data = true
		h.body.Reset()
		return
	}
	switch h.pop() {
	case cmdAuth:
		h.finish(r.Code, ts)
	case cmdStartTLS:
		if r.Code == CodeReady {
			h.startTLS(ts)
		}
	}
}

// finish closes the AUTH exchange with its final reply: 235 success, 4xx
// and 5xx failure (RFC 4954 6).
func (h *handler) finish(code int, ts time.Time) {
	h.sasl.End()
	if !h.x.Pending() {
		h.x.Reset() // cancelled or refused before the client's final token
		return
	}
	outcome := findings.Unknown
	switch {
	case code == CodeAuthOK:
		outcome = findings.Success
	case code >= 400:
		outcome = findings.Failure
	}
	h.conn.Emit(h.x.Finish(outcome, "SMTP "+strconv.Itoa(code)), ts)
}

// startTLS: the server accepted STARTTLS (RFC 3207 4); what follows is TLS.
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

// Gap: resynchronise on the next line. Lost replies leave the queue out of
// step: only an open AUTH is kept waiting.
func (h *handler) Gap(toServer bool, ts time.Time) {
	if toServer {
		if h.data {
			h.body.Lost() // the content ends at its next terminator
		} else {
			h.lines[0].Lost()
		}
		return
	}
	h.lines[1].Lost()
	h.q.Clear()
	if h.sasl.Open {
		h.push(cmdAuth)
	}
}

var verbs = []string{"EHLO", "HELO", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "QUIT", "RSET", "NOOP", "STARTTLS", "VRFY", "EXPN", "HELP"}

// startsLine: after lost bytes, b plausibly starts a line: a reply (RFC
// 5321 4.2), an NTLM response or a command.
func startsLine(toServer bool, b []byte) bool {
	if !toServer {
		return len(b) >= 4 && b[0] >= '2' && b[0] <= '5' && digit(b[1]) && digit(b[2]) &&
			(b[3] == ' ' || b[3] == '-' || b[3] == '\r' || b[3] == '\n')
	}
	if textproto.HasNTLMSSPPrefix(b) {
		return true
	}
	w, _ := textproto.Word(b[:min(len(b), 16)])
	w = bytes.TrimRight(w, "\r\n")
	for _, v := range verbs {
		if textproto.EqualFold(w, v) {
			return true
		}
	}
	return false
}

// Close emits an attempt whose outcome never came.
func (h *handler) Close(ts time.Time) {
	if h.x.Pending() {
		h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
	}
}
