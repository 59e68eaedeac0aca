// Package imap parses the IMAP lines that carry authentication:
// AUTHENTICATE [RFC 9051 6.2.2, RFC 4959 SASL-IR, MS-OXIMAP4], STARTTLS
// [RFC 9051 6.2.1] and responses [RFC 9051 7]. Split the stream into lines
// with textproto.Line first.
//
// Parsing allocates nothing: every []byte field is a sub-slice of the line.
package imap

import "ntlmsensor/decoders/textproto"

// Command is one client command line: tag SP command [SP arguments].
type Command struct {
	Tag []byte
	// Verb is the command word as sent (compare with textproto.EqualFold).
	Verb []byte
	// Mechanism is AUTHENTICATE's SASL mechanism: "NTLM", "GSSAPI", "PLAIN", ...
	Mechanism []byte
	// InitialResponse is the SASL-IR initial response (RFC 4959); "=" means empty.
	InitialResponse []byte
	// StartTLS is set for STARTTLS: after the tagged OK the session is TLS.
	StartTLS bool
}

// ParseCommand parses a tagged command line. During an AUTHENTICATE
// exchange the client sends bare base64 lines (no tag), which this would
// read as a Tag alone: the caller knows the state and must not call it then.
// LOGIN's arguments (a password) are never returned: LOGIN gives the Verb only.
func ParseCommand(line []byte) Command {
	tag, rest := textproto.Word(line)
	verb, rest := textproto.Word(rest)
	c := Command{Tag: tag, Verb: verb}
	switch {
	case textproto.EqualFold(verb, "AUTHENTICATE"):
		c.Mechanism, rest = textproto.Word(rest)
		c.InitialResponse, _ = textproto.Word(rest)
	case textproto.EqualFold(verb, "STARTTLS"):
		c.StartTLS = true
	}
	return c
}

// IsCancel reports the client's "*" answer to a continuation, which aborts
// the AUTHENTICATE exchange (RFC 9051 6.2.2).
func IsCancel(line []byte) bool { return textproto.IsCancel(line) }

// Response is one server response line.
type Response struct {
	// Tag is "*" for untagged data, "+" for a continuation request, else the
	// tag of the command it completes.
	Tag []byte
	// Status is OK, NO, BAD, BYE or PREAUTH as sent; nil for other untagged
	// data ("* CAPABILITY ...") and for continuations.
	Status []byte
	// Text is the rest: the base64 challenge of a continuation, the
	// response text (with any [code]) of a status response.
	Text []byte
}

// Continuation reports a "+" continuation request.
func (r Response) Continuation() bool { return len(r.Tag) == 1 && r.Tag[0] == '+' }

// Untagged reports "*" untagged data or status.
func (r Response) Untagged() bool { return len(r.Tag) == 1 && r.Tag[0] == '*' }

// ParseResponse parses a response line (RFC 9051 7): "+ <base64>" carries
// the NTLM CHALLENGE, "<tag> OK|NO|BAD ..." ends the AUTHENTICATE.
func ParseResponse(line []byte) Response {
	// continue-req = "+" SP (resp-text / base64); some servers send a bare "+".
	if len(line) > 0 && line[0] == '+' && (len(line) == 1 || line[1] == ' ') {
		r := Response{Tag: line[:1:1]}
		if len(line) > 2 {
			r.Text = line[2:]
		}
		return r
	}
	tag, rest := textproto.Word(line)
	r := Response{Tag: tag, Text: rest}
	word, after := textproto.Word(rest)
	if isStatus(word) {
		r.Status, r.Text = word, after
	}
	return r
}

func isStatus(w []byte) bool {
	return textproto.EqualFold(w, "OK") || textproto.EqualFold(w, "NO") ||
		textproto.EqualFold(w, "BAD") || textproto.EqualFold(w, "BYE") ||
		textproto.EqualFold(w, "PREAUTH")
}
