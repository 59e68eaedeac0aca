package ntlmscan_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/ntlmscan"
)

// FuzzHandler drives the scanner with arbitrary bytes in both directions,
// seeded with the real Telnet capture: no panic, and every finding can be
// written.
func FuzzHandler(f *testing.F) {
	c, s := carriertest.Sides(carriertest.Pieces(f, "public/CredSLayer/tests/samples/telnet-raw2.pcap", 23))
	f.Add(c, s, uint16(512))
	f.Add([]byte("AUTH NTLM TlRMTVNTUAADAAAAGAAYAEAAAAA=\r\n"), []byte("334 TlRMTVNTUAACAAAA\r\n"), uint16(7))
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16) {
		for _, fd := range carriertest.Drive(ntlmscan.Carrier, carriertest.Alternate(client, server, int(chunk%2048)+1), 1460) {
			fd.AppendJSON(nil)
		}
	})
}
