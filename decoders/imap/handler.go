package imap

import (
	"bytes"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/textproto"
	"ntlmsensor/findings"
)

// Carrier registers IMAP (RFC 9051, RFC 3501) with AUTHENTICATE (RFC 9051
// 6.2.2, SASL-IR RFC 4959): NTLM [MS-OXIMAP4], GSSAPI (RFC 4752) and
// GSS-SPNEGO are followed; LOGIN and the other mechanisms are passed over.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoIMAP,
	Ports:    []uint16{143},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: the server's greeting ("* OK", "* PREAUTH", "* BYE", RFC 9051
// 7.1) or a tagged client command naming an IMAP command.
func detect(toServer bool, b []byte) carrier.Verdict {
	if toServer {
		return detectCommand(b)
	}
	return detectGreeting(b)
}

func detectGreeting(b []byte) carrier.Verdict {
	if len(b) < 2 {
		if len(b) == 0 || b[0] == '*' {
			return carrier.Maybe
		}
		return carrier.No
	}
	if b[0] != '*' || b[1] != ' ' {
		return carrier.No
	}
	return oneOf(b[2:], greetings)
}

var greetings = []string{"OK", "PREAUTH", "BYE"}

// oneOf says whether w starts with one of the words, followed by SP, CR or
// LF or the end of w; Maybe when w is a prefix of one.
func oneOf(w []byte, words []string) carrier.Verdict {
	v := carrier.No
	for _, word := range words {
		switch {
		case len(w) < len(word):
			if prefixFold(w, word) {
				v = carrier.Maybe
			}
		case textproto.EqualFold(w[:len(word)], word) && (len(w) == len(word) || delim(w[len(word)])):
			return carrier.Yes
		}
	}
	return v
}

func delim(c byte) bool { return c == ' ' || c == '\r' || c == '\n' }

// commands are the IMAP commands a client opens a connection (or a capture
// begins) with.
var commands = []string{
	"CAPABILITY", "AUTHENTICATE", "LOGIN", "STARTTLS", "NOOP", "LOGOUT", "ID",
	"ENABLE", "SELECT", "EXAMINE", "LIST", "LSUB", "STATUS", "NAMESPACE",
	"IDLE", "FETCH", "UID", "SEARCH", "STORE", "APPEND", "COMPRESS",
}

// notTags are POP3 and SMTP commands: a line starting with one is theirs.
var notTags = []string{"USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "EHLO", "HELO"}

const maxTag = 64

func detectCommand(b []byte) carrier.Verdict {
	// tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 9)
	i := 0
	for i < len(b) && i <= maxTag && tagChar(b[i]) {
		i++
	}
	switch {
	case i == len(b) && i <= maxTag:
		return carrier.Maybe
	case i == 0 || i > maxTag || b[i] != ' ':
		return carrier.No
	}
	for _, v := range notTags {
		if textproto.EqualFold(b[:i], v) {
			return carrier.No
		}
	}
	return oneOf(b[i+1:], commands)
}

// tagChar: ASTRING-CHAR but "+" (RFC 9051 9): no CTL, SP, "(", ")", "{",
// "%", "*", DQUOTE, "\", and no 8-bit.
func tagChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', '+':
		return false
	}
	return true
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

const maxSkip = 1 << 30 // longest literal passed over by skipping

// tag remembers the tag of a command whose tagged response matters.
type tag struct {
	b   [maxTag]byte
	n   uint8
	set bool
	any bool // the command was not seen: any tagged response completes it
}

func (t *tag) remember(b []byte) {
	t.n = uint8(copy(t.b[:], b))
	t.set, t.any = true, false
}

func (t *tag) is(b []byte) bool {
	return t.set && (t.any || bytes.Equal(t.b[:t.n], b[:min(len(b), maxTag)]))
}

type handler struct {
	conn *carrier.Conn
	x    carrier.Exchange

	sasl    textproto.SASL // the AUTHENTICATE exchange
	authTag tag
	tlsTag  tag                // STARTTLS awaiting its response
	zipTag  tag                // COMPRESS awaiting its response
	cont    [2]bool            // the next line continues a line cut by a literal
	lines   [2]textproto.Lines // each direction cut into lines
	done    bool               // TLS or compression began: nothing more is readable
}

// Feed reads lines; literals are passed over unread.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	for used < len(b) && !h.done {
		line, n, ok := h.lines[d].Next(b[used:], toServer, startsLine)
		used += n
		if !ok {
			return used
		}
		cont := h.cont[d]
		h.cont[d] = false
		switch {
		case cont:
		case toServer:
			if h.clientLine(line, ts) {
				continue // a SASL response has no literal
			}
		default:
			if h.serverLine(line, ts) {
				continue
			}
		}
		// literal = "{" number64 ["+"] "}" CRLF *OCTET; literal8 = "~{" ...
		// (RFC 9051 4.3, RFC 7888): the line goes on after the octets
		if size, ok := literal(line); ok {
			h.cont[d] = true
			if size > len(b)-used {
				return used + size // the rest has not arrived
			}
			used += size
		}
	}
	if h.done {
		return len(b)
	}
	return used
}

// literal returns the size of the literal announced at the end of line.
func literal(line []byte) (int, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	digits := line[i+1 : len(line)-1]
	if len(digits) > 0 && (digits[len(digits)-1] == '+' || digits[len(digits)-1] == '-') {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 || len(digits) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > maxSkip {
		return 0, false
	}
	return n, true
}

// clientLine reads a command or a SASL response; true for a response.
func (h *handler) clientLine(line []byte, ts time.Time) bool {
	if h.sasl.Open {
		if h.sasl.IsResponse(line) {
			h.sasl.Response(&h.x, line)
			return true
		}
		// base64 has no spaces, and raw NTLM ends with the AUTHENTICATE:
		// this is a command, so the exchange is over and its tagged response
		// was lost
		h.lost(ts)
	}
	if textproto.HasNTLMSSPPrefix(line) {
		// an NTLM response whose AUTHENTICATE was not seen: the capture
		// began in the exchange, or bytes were lost
		h.begin(true, nil, ts)
		h.sasl.Response(&h.x, line)
		return true
	}
	c := ParseCommand(line)
	switch {
	case textproto.EqualFold(c.Verb, "AUTHENTICATE") && len(c.Mechanism) > 0:
		h.begin(textproto.TokenMechanism(c.Mechanism), c.Tag, ts)
		if c.InitialResponse != nil {
			h.sasl.Response(&h.x, c.InitialResponse)
		}
		return true
	case c.StartTLS:
		h.tlsTag.remember(c.Tag)
	case textproto.EqualFold(c.Verb, "COMPRESS"):
		h.zipTag.remember(c.Tag)
	}
	return false
}

// begin opens an AUTHENTICATE exchange (tag nil: not seen). An attempt
// still waiting for its outcome never got one.
func (h *handler) begin(tokens bool, t []byte, ts time.Time) {
	if h.x.Pending() {
		h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
	} else {
		h.x.Reset()
	}
	h.sasl.Begin(tokens)
	h.authTag.remember(t)
	h.authTag.any = t == nil
}

// lost ends an AUTHENTICATE whose tagged response was not seen.
func (h *handler) lost(ts time.Time) {
	h.sasl.End()
	h.authTag.set = false
	h.Close(ts)
	h.x.Reset()
}

// serverLine reads one response line; true for a continuation request,
// which carries no literal.
func (h *handler) serverLine(line []byte, ts time.Time) bool {
	r := ParseResponse(line)
	switch {
	case r.Continuation():
		if !h.sasl.Open {
			if !textproto.HasNTLMSSPPrefix(r.Text) {
				return true // a literal's go-ahead, IDLE
			}
			h.begin(true, nil, ts) // an NTLM challenge to an AUTHENTICATE not seen
		}
		h.sasl.Challenge(&h.x, r.Text)
		return true
	case r.Untagged():
		h.capability(r)
	case r.Status != nil:
		h.tagged(r, ts)
	}
	return false
}

// capability reads the capability list of a greeting or a CAPABILITY
// response: AUTH=GSSAPI or AUTH=GSS-SPNEGO offers Kerberos.
func (h *handler) capability(r Response) {
	text := r.Text
	switch {
	case r.Status == nil:
		if w, _ := textproto.Word(text); !textproto.EqualFold(w, "CAPABILITY") {
			return
		}
	case len(text) > len("[CAPABILITY") && textproto.EqualFold(text[:len("[CAPABILITY")], "[CAPABILITY"):
		if i := bytes.IndexByte(text, ']'); i >= 0 {
			text = text[:i]
		}
	default:
		return
	}
	if containsFold(text, "AUTH=GSSAPI") || containsFold(text, "AUTH=GSS-SPNEGO") {
		h.x.OfferKerberos()
	}
}

// tagged reads a tagged status response: OK, NO or BAD completes the
// command of that tag.
func (h *handler) tagged(r Response, ts time.Time) {
	ok := textproto.EqualFold(r.Status, "OK")
	if !ok && !textproto.EqualFold(r.Status, "NO") && !textproto.EqualFold(r.Status, "BAD") {
		return
	}
	switch {
	case h.sasl.Open && h.authTag.is(r.Tag):
		h.finish(r.Status, ok, ts)
	case h.tlsTag.is(r.Tag):
		h.tlsTag.set = false
		if ok {
			h.stop(ts) // RFC 9051 6.2.1: TLS negotiation begins
		}
	case h.zipTag.is(r.Tag):
		h.zipTag.set = false
		if ok {
			h.stop(ts) // RFC 4978 3: compression begins
		}
	}
}

// finish closes the AUTHENTICATE with its tagged response: OK success, NO
// or BAD failure (RFC 9051 6.2.2).
func (h *handler) finish(status []byte, ok bool, ts time.Time) {
	h.sasl.End()
	h.authTag.set = false
	if !h.x.Pending() {
		h.x.Reset() // cancelled or refused before the client's final token
		return
	}
	outcome, reason := findings.Failure, "IMAP NO"
	switch {
	case ok:
		outcome, reason = findings.Success, "IMAP OK"
	case textproto.EqualFold(status, "BAD"):
		reason = "IMAP BAD"
	}
	h.conn.Emit(h.x.Finish(outcome, reason), ts)
}

// stop: the rest of the connection cannot be read (TLS, compression).
func (h *handler) stop(ts time.Time) {
	h.Close(ts)
	h.done = true
	h.conn.Done()
}

// Gap: resynchronise on the next line.
func (h *handler) Gap(toServer bool, ts time.Time) {
	d := carrier.Side(toServer)
	h.lines[d].Lost()
	h.cont[d] = false
}

// startsLine: after lost bytes, b plausibly starts a line: a continuation,
// untagged or tagged status (RFC 9051 7), an NTLM response or a command.
func startsLine(toServer bool, b []byte) bool {
	if toServer {
		return textproto.HasNTLMSSPPrefix(b) || detectCommand(b) == carrier.Yes
	}
	if len(b) > 0 && (b[0] == '+' || b[0] == '*') {
		return len(b) == 1 || delim(b[1])
	}
	i := 0
	for i < len(b) && i <= maxTag && tagChar(b[i]) {
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ' ' {
		return false
	}
	return oneOf(b[i+1:], statuses) == carrier.Yes
}

var statuses = []string{"OK", "NO", "BAD"}

// Close emits an attempt whose outcome never came.
func (h *handler) Close(ts time.Time) {
	if h.x.Pending() {
		h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
	}
}
