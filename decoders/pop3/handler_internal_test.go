package pop3

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// TestPasswordNotKept: PASS and the credentials of PLAIN and LOGIN are
// never decoded, so no copy of the password stays in the handler.
func TestPasswordNotKept(t *testing.T) {
	var n int
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:110"), false, Carrier.Protocol, "", func(*findings.Finding) { n++ })
	h := Carrier.New(conn).(*handler)
	ts := time.Unix(1700000000, 0)
	for _, l := range []struct {
		toServer bool
		s        string
	}{
		{false, "+OK ready\r\n"},
		{true, "USER alice\r\n"}, {false, "+OK\r\n"}, {true, "PASS s3cret\r\n"}, {false, "-ERR no\r\n"},
		{true, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"}, {false, "-ERR no\r\n"},
		{true, "AUTH LOGIN\r\n"}, {false, "+ VXNlcm5hbWU6\r\n"}, {true, "YWxpY2U=\r\n"}, {false, "+ UGFzc3dvcmQ6\r\n"}, {true, "czNjcmV0\r\n"}, {false, "+OK\r\n"},
	} {
		if used := h.Feed(l.toServer, []byte(l.s), ts); used != len(l.s) {
			t.Fatalf("%q: %d of %d bytes used", l.s, used, len(l.s))
		}
	}
	h.Close(ts)
	if n != 0 || bytes.Contains(h.sasl.Decoded(), []byte("s3cret")) || h.x.Started() || h.sasl.Open {
		t.Errorf("findings %d, buffer %q, exchange started %v, in AUTH %v", n, h.sasl.Decoded(), h.x.Started(), h.sasl.Open)
	}
}
