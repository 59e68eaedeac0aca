package imap

import (
	"bytes"
	"testing"

	"ntlmsensor/decoders/textproto/mailtest"
)

// TestPasswordNotKept: the credentials of LOGIN and AUTHENTICATE PLAIN are
// never decoded, so no copy of the password stays in the handler.
func TestPasswordNotKept(t *testing.T) {
	var n int
	h := mailtest.Handler(Carrier, &n).(*handler)
	c, s := mailtest.Client, mailtest.Server
	mailtest.FeedWhole(t, h,
		s("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=NTLM] ready\r\n"),
		c("a1 LOGIN alice s3cret\r\n"), s("a1 NO no\r\n"),
		c("a2 LOGIN alice {6}\r\n"), s("+ go\r\n"), c("s3cret\r\n"), s("a2 NO no\r\n"),
		c("a3 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"), s("a3 NO no\r\n"),
		c("a4 AUTHENTICATE PLAIN\r\n"), s("+ \r\n"), c("AGFsaWNlAHMzY3JldA==\r\n"), s("a4 OK yes\r\n"),
	)
	if n != 0 || bytes.Contains(h.sasl.Decoded(), []byte("s3cret")) || h.x.Started() || h.sasl.Open {
		t.Errorf("findings %d, buffer %q, exchange started %v, in AUTHENTICATE %v", n, h.sasl.Decoded(), h.x.Started(), h.sasl.Open)
	}
}
