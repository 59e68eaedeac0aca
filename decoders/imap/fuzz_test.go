package imap_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/imap"
)

// FuzzHandler drives the IMAP carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	for _, rel := range []string{realCapture, synthetic} {
		carriertest.Seed(f, rel, 143)
	}
	const neg = "TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="
	f.Add([]byte("a APPEND x {3}\r\nabc ~{2+}\r\nxy\r\nb AUTHENTICATE NTLM "+neg+"\r\n*\r\nc STARTTLS\r\nd COMPRESS DEFLATE\r\n"),
		[]byte("* OK [CAPABILITY AUTH=GSSAPI]\r\n* 1 FETCH {4}\r\nabcd)\r\n+ "+neg+"\r\nb NO x\r\nc OK\r\nd OK\r\n"), uint16(5))
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) { carriertest.FuzzBoth(t, imap.Carrier, c, s, n) })
}
