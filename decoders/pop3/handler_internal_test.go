package pop3

import (
	"bytes"
	"testing"

	"ntlmsensor/decoders/textproto/mailtest"
)

// TestPasswordNotKept: PASS and the credentials of PLAIN and LOGIN are
// never decoded, so no copy of the password stays in the handler.
func TestPasswordNotKept(t *testing.T) {
	var n int
	h := mailtest.Handler(Carrier, &n).(*handler)
	c, s := mailtest.Client, mailtest.Server
	mailtest.FeedWhole(t, h,
		s("+OK ready\r\n"),
		c("USER alice\r\n"), s("+OK\r\n"), c("PASS s3cret\r\n"), s("-ERR no\r\n"),
		c("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"), s("-ERR no\r\n"),
		c("AUTH LOGIN\r\n"), s("+ VXNlcm5hbWU6\r\n"), c("YWxpY2U=\r\n"), s("+ UGFzc3dvcmQ6\r\n"), c("czNjcmV0\r\n"), s("+OK\r\n"),
	)
	if n != 0 || bytes.Contains(h.sasl.Decoded(), []byte("s3cret")) || h.x.Started() || h.sasl.Open {
		t.Errorf("findings %d, buffer %q, exchange started %v, in AUTH %v", n, h.sasl.Decoded(), h.x.Started(), h.sasl.Open)
	}
}
