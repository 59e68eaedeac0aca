package pop3_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/pop3"
)

// FuzzHandler drives the POP3 carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	carriertest.Seed(f, synthetic, 110)
	const neg = "TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1BPUDNET01QT1AzSE9TVA=="
	f.Add([]byte("CAPA\r\nAUTH\r\nRETR 1\r\nLIST\r\nAUTH NTLM "+neg+"\r\n*\r\nSTLS\r\n"),
		[]byte("+OK\r\nSASL GSSAPI\r\n.\r\n+OK\r\nNTLM\r\n.\r\n+OK\r\nx\r\n.\r\n-ERR\r\n+ "+neg+"\r\n-ERR\r\n+OK\r\n"), uint16(5))
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) { carriertest.FuzzBoth(t, pop3.Carrier, c, s, n) })
}
