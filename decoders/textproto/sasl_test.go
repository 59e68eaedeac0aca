package textproto

import (
	"bytes"
	"encoding/base64"
	"testing"

	"ntlmsensor/decoders/carrier"
)

// A mechanism whose lines carry no token the sensor reads (PLAIN) is
// passed over unread: its password is never decoded.
func TestSASLPlainIsNotRead(t *testing.T) {
	var s SASL
	var x carrier.Exchange
	s.Begin(TokenMechanism([]byte("PLAIN")))
	line := []byte(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00s3cret")))
	if !s.Open || !s.IsResponse(line) {
		t.Fatal("a base64 line of an open exchange is a response")
	}
	s.Response(&x, line)
	if bytes.Contains(s.Decoded(), []byte("s3cret")) || x.Started() {
		t.Fatalf("PLAIN response read: %q", s.Decoded())
	}
	if s.IsResponse([]byte("MAIL FROM:<a@b>")) {
		t.Fatal("a command taken for a response")
	}
	s.End()
	if s.Open {
		t.Fatal("still open")
	}
}

// NTLM, GSSAPI and GSS-SPNEGO are read, in any case.
func TestTokenMechanism(t *testing.T) {
	for name, want := range map[string]bool{"NTLM": true, "gssapi": true, "GSS-SPNEGO": true, "PLAIN": false, "LOGIN": false, "XOAUTH2": false} {
		if TokenMechanism([]byte(name)) != want {
			t.Errorf("%s: %v", name, !want)
		}
	}
}
