package textproto

import (
	"bytes"

	"ntlmsensor/decoders/carrier"
)

// SASL follows one SASL exchange (RFC 4422 3) of a mail protocol: SMTP AUTH
// (RFC 4954), POP3 AUTH (RFC 5034), IMAP AUTHENTICATE (RFC 9051 6.2.2). The
// three carry it alike: the server's challenges and the client's responses
// are base64 lines. What differs (the commands, replies and tags that open
// and close the exchange) stays in each handler.
type SASL struct {
	Open     bool   // an exchange is open: client lines are responses
	tokens   bool   // the mechanism's lines are GSS/NTLM tokens; others are passed over unread
	ntlmDone bool   // the client sent a raw NTLM AUTHENTICATE: no response follows
	tok      []byte // base64 decode buffer, reused
}

// TokenMechanism reports whether a SASL mechanism's lines carry the tokens
// the sensor reads: NTLM, GSSAPI, GSS-SPNEGO. PLAIN, LOGIN and the others
// are passed over unread.
func TokenMechanism(name []byte) bool {
	return EqualFold(name, "NTLM") || EqualFold(name, "GSSAPI") || EqualFold(name, "GSS-SPNEGO")
}

// Begin opens an exchange; tokens as TokenMechanism says of its mechanism.
func (s *SASL) Begin(tokens bool) { s.Open, s.tokens, s.ntlmDone = true, tokens, false }

// End closes the exchange.
func (s *SASL) End() { s.Open = false }

// IsResponse reports whether a client line of an open exchange is a
// response: base64 has no spaces, and raw NTLM ends with the AUTHENTICATE.
// Anything else is a command, so the exchange is over.
func (s *SASL) IsResponse(line []byte) bool {
	return !s.ntlmDone && bytes.IndexByte(bytes.TrimSpace(line), ' ') < 0
}

// Response takes a client response line (or a command's initial response)
// into the exchange x. After the client's final token the rest (the GSSAPI
// security layer) is not read.
func (s *SASL) Response(x *carrier.Exchange, b []byte) {
	if !s.tokens || x.Pending() || IsCancel(b) {
		return
	}
	tok, err := AppendBase64(s.tok[:0], b)
	s.tok = tok
	if err == nil && len(tok) > 0 && x.ClientToken(tok) {
		s.ntlmDone = bytes.HasPrefix(tok, []byte("NTLMSSP\x00"))
	}
}

// Challenge takes the text of a server challenge into the exchange x.
func (s *SASL) Challenge(x *carrier.Exchange, text []byte) {
	if !s.tokens || len(text) == 0 {
		return
	}
	tok, err := AppendBase64(s.tok[:0], text)
	s.tok = tok
	if err == nil && len(tok) > 0 {
		x.ServerToken(tok)
	}
}

// Decoded is the last line decoded from base64: nothing of a mechanism
// passed over unread (a PLAIN password) is ever in it.
func (s *SASL) Decoded() []byte { return s.tok }
