// Package smtp parses the SMTP lines that carry authentication: AUTH
// commands [RFC 4954, MS-SMTPNTLM], STARTTLS [RFC 3207] and replies
// [RFC 5321 4.2]. Split the stream into lines with textproto.Line first.
//
// Parsing allocates nothing: every []byte field is a sub-slice of the line.
package smtp

import (
	"errors"

	"ntlmsensor/decoders/textproto"
)

// ErrMalformed reports a reply line that does not start with a 3-digit code.
var ErrMalformed = errors.New("smtp: malformed reply")

// Reply codes that matter to an authentication sensor.
const (
	CodeReady         = 220 // greeting; after STARTTLS: TLS starts
	CodeAuthOK        = 235 // RFC 4954 6: authentication succeeded
	CodeAuthChallenge = 334 // RFC 4954 4: base64 server challenge follows
	CodeAuthTempFail  = 454 // RFC 4954 6: temporary authentication failure
	CodeAuthFailed    = 535 // RFC 4954 6: authentication credentials invalid
)

// Command is one client command line.
type Command struct {
	// Verb is the command word as sent (compare with textproto.EqualFold).
	Verb []byte
	// Mechanism is the SASL mechanism of AUTH: "NTLM", "GSSAPI", "LOGIN", ...
	Mechanism []byte
	// InitialResponse is AUTH's optional base64 initial response; "=" means
	// empty (textproto.AppendBase64 decodes both).
	InitialResponse []byte
	// StartTLS is set for STARTTLS: after a 220 reply the session is TLS.
	StartTLS bool
}

// ParseCommand parses a client command line (RFC 5321 4.1.1). AUTH fills
// Mechanism and InitialResponse (RFC 4954 4: "AUTH mechanism [initial-response]"),
// STARTTLS sets StartTLS, anything else gives the Verb only. A line sent in
// answer to a 334 is not a command: the caller tracks that state.
func ParseCommand(line []byte) Command {
	verb, rest := textproto.Word(line)
	c := Command{Verb: verb}
	switch {
	case textproto.EqualFold(verb, "AUTH"):
		c.Mechanism, rest = textproto.Word(rest)
		c.InitialResponse, _ = textproto.Word(rest)
	case textproto.EqualFold(verb, "STARTTLS"):
		c.StartTLS = true
	}
	return c
}

// IsCancel reports the client's "*" answer to a 334 (RFC 4954 4).
func IsCancel(line []byte) bool { return textproto.IsCancel(line) }

// Reply is one server reply line.
type Reply struct {
	Code int
	// Continuation is set for "250-..." lines: more lines of the reply follow.
	Continuation bool
	// Text follows the code and separator: the base64 challenge of a 334.
	Text []byte
}

// ParseReply parses a reply line, RFC 5321 4.2: Reply-code [ SP / "-" text ].
func ParseReply(line []byte) (Reply, error) {
	if len(line) < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '1' || line[0] > '5' {
		return Reply{}, ErrMalformed
	}
	r := Reply{Code: int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')}
	if len(line) == 3 {
		return r, nil
	}
	switch line[3] {
	case ' ':
	case '-':
		r.Continuation = true
	default:
		return Reply{}, ErrMalformed
	}
	r.Text = line[4:]
	return r, nil
}

func digit(c byte) bool { return '0' <= c && c <= '9' }
