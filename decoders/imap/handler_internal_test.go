package imap

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// TestPasswordNotKept: the credentials of LOGIN and AUTHENTICATE PLAIN are
// never decoded, so no copy of the password stays in the handler.
func TestPasswordNotKept(t *testing.T) {
	var n int
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:143"), false, Carrier.Protocol, "", func(*findings.Finding) { n++ })
	h := Carrier.New(conn).(*handler)
	ts := time.Unix(1700000000, 0)
	skip := 0
	for _, l := range []struct {
		toServer bool
		s        string
	}{
		{false, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=NTLM] ready\r\n"},
		{true, "a1 LOGIN alice s3cret\r\n"}, {false, "a1 NO no\r\n"},
		{true, "a2 LOGIN alice {6}\r\n"}, {false, "+ go\r\n"}, {true, "s3cret\r\n"}, {false, "a2 NO no\r\n"},
		{true, "a3 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"}, {false, "a3 NO no\r\n"},
		{true, "a4 AUTHENTICATE PLAIN\r\n"}, {false, "+ \r\n"}, {true, "AGFsaWNlAHMzY3JldA==\r\n"}, {false, "a4 OK yes\r\n"},
	} {
		b := []byte(l.s)
		if l.toServer {
			b = b[min(skip, len(b)):] // a literal passed over unseen
			skip -= len(l.s) - len(b)
		}
		used := h.Feed(l.toServer, b, ts)
		if used < len(b) {
			t.Fatalf("%q: %d of %d bytes used", b, used, len(b))
		}
		skip += used - len(b)
	}
	if skip != 0 {
		t.Fatalf("%d bytes still to skip", skip)
	}
	h.Close(ts)
	if n != 0 || bytes.Contains(h.sasl.Decoded(), []byte("s3cret")) || h.x.Started() || h.sasl.Open {
		t.Errorf("findings %d, buffer %q, exchange started %v, in AUTHENTICATE %v", n, h.sasl.Decoded(), h.x.Started(), h.sasl.Open)
	}
}
