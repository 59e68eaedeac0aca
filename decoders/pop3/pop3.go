// Package pop3 parses the POP3 lines that carry authentication: AUTH
// [RFC 5034, MS-OXPOP3], STLS [RFC 2595 4] and status responses
// [RFC 1939 3]. Split the stream into lines with textproto.Line first.
//
// Parsing allocates nothing: every []byte field is a sub-slice of the line.
package pop3

import (
	"errors"

	"ntlmsensor/decoders/textproto"
)

// ErrMalformed reports a response line that is neither "+OK", "-ERR" nor a
// "+" continuation (multi-line response bodies are the caller's state).
var ErrMalformed = errors.New("pop3: malformed response")

// Command is one client command line.
type Command struct {
	// Verb is the command word as sent (compare with textproto.EqualFold).
	Verb []byte
	// Mechanism is AUTH's SASL mechanism: "NTLM", "GSSAPI", ...; nil for a
	// bare AUTH, which lists the mechanisms (RFC 5034 4).
	Mechanism []byte
	// InitialResponse is AUTH's optional base64 initial response; "=" means empty.
	InitialResponse []byte
	// StartTLS is set for STLS: after +OK the session is TLS.
	StartTLS bool
}

// ParseCommand parses a client command line. AUTH fills Mechanism and
// InitialResponse (RFC 5034 4: "AUTH mechanism [initial-response]"), STLS
// sets StartTLS. USER, PASS and APOP give the Verb only: their arguments
// (a password for PASS) are never returned.
func ParseCommand(line []byte) Command {
	verb, rest := textproto.Word(line)
	c := Command{Verb: verb}
	switch {
	case textproto.EqualFold(verb, "AUTH"):
		c.Mechanism, rest = textproto.Word(rest)
		c.InitialResponse, _ = textproto.Word(rest)
	case textproto.EqualFold(verb, "STLS"):
		c.StartTLS = true
	}
	return c
}

// IsCancel reports the client's "*" answer to a continuation (RFC 5034 4).
func IsCancel(line []byte) bool { return textproto.IsCancel(line) }

// Response is one server status line.
type Response struct {
	// OK is set for "+OK" (and false for "-ERR" and continuations).
	OK bool
	// Continuation is set for "+ <base64>": the server challenge (RFC 5034 4).
	Continuation bool
	// Text follows the status indicator.
	Text []byte
}

// ParseResponse parses "+OK [text]", "-ERR [text]" (RFC 1939 3) or a SASL
// continuation "+ [base64]" (RFC 5034 4).
func ParseResponse(line []byte) (Response, error) {
	switch {
	case len(line) > 0 && line[0] == '+' && (len(line) == 1 || line[1] == ' '):
		r := Response{Continuation: true}
		if len(line) > 2 {
			r.Text = line[2:]
		}
		return r, nil
	case len(line) >= 3 && textproto.EqualFold(line[:3], "+OK"):
		return status(line[3:], true)
	case len(line) >= 4 && textproto.EqualFold(line[:4], "-ERR"):
		return status(line[4:], false)
	}
	return Response{}, ErrMalformed
}

// status parses what follows the indicator: nothing, or SP text.
func status(rest []byte, ok bool) (Response, error) {
	if len(rest) == 0 {
		return Response{OK: ok}, nil
	}
	if rest[0] != ' ' {
		return Response{}, ErrMalformed
	}
	return Response{OK: ok, Text: rest[1:]}, nil
}
