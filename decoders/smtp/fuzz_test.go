package smtp_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/smtp"
)

// seedPieces are the client and server bytes of the captures' SMTP sessions.
func seedPieces(f *testing.F) {
	for _, rel := range []string{realCapture, synthetic} {
		carriertest.Seed(f, rel, 25)
	}
	const neg = "TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="
	f.Add([]byte("EHLO x\r\nDATA\r\nx\r\n.\r\nBDAT 5 LAST\r\nAUTH NTLM "+neg+"\r\n*\r\nSTARTTLS\r\n"), []byte("220 x\r\n250 ok\r\n354 go\r\n250 ok\r\n334 "+neg+"\r\n220 go\r\n"), uint16(5))
}

// FuzzHandler drives the SMTP carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	seedPieces(f)
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) { carriertest.FuzzBoth(t, smtp.Carrier, c, s, n) })
}
