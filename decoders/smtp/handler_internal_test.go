package smtp

import (
	"bytes"
	"testing"

	"ntlmsensor/decoders/textproto/mailtest"
)

// TestPasswordNotKept: the credentials of PLAIN and LOGIN are never
// decoded, so no copy of the password stays in the handler.
func TestPasswordNotKept(t *testing.T) {
	var n int
	h := mailtest.Handler(Carrier, &n).(*handler)
	c, s := mailtest.Client, mailtest.Server
	mailtest.FeedWhole(t, h,
		s("220 mx ESMTP\r\n"), c("EHLO x\r\n"), s("250-mx\r\n250 AUTH PLAIN LOGIN NTLM\r\n"),
		c("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"), s("535 5.7.8 no\r\n"),
		c("AUTH PLAIN\r\n"), s("334 \r\n"), c("AGFsaWNlAHMzY3JldA==\r\n"), s("535 5.7.8 no\r\n"),
		c("AUTH LOGIN YWxpY2U=\r\n"), s("334 UGFzc3dvcmQ6\r\n"), c("czNjcmV0\r\n"), s("235 2.7.0 ok\r\n"),
	)
	if n != 0 || bytes.Contains(h.sasl.Decoded(), []byte("s3cret")) || h.x.Started() || h.sasl.Open {
		t.Errorf("findings %d, buffer %q, exchange started %v, in AUTH %v", n, h.sasl.Decoded(), h.x.Started(), h.sasl.Open)
	}
}
