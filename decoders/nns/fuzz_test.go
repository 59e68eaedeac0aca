package nns_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/nns"
)

// FuzzHandler feeds the carrier both directions of a connection, seeded
// with the real AD Web Services connection (net.tcp preamble and NTLM
// handshake) and its bare handshake: no panic, at most one finding per
// connection (a connection authenticates once), and ParseHeader and
// NextRecord stay within their input.
func FuzzHandler(f *testing.F) {
	var client, server, bareClient, bareServer []byte
	for _, s := range pcaptest.Segments(f, adws) {
		switch {
		case s.DstPort == 9389:
			client = append(client, s.Payload...)
			if s.Frame >= 30 {
				bareClient = append(bareClient, s.Payload...)
			}
		case s.SrcPort == 9389:
			server = append(server, s.Payload...)
			if s.Frame >= 30 {
				bareServer = append(bareServer, s.Payload...)
			}
		}
	}
	f.Add(client, server, 7)
	f.Add(bareClient, bareServer, 64)
	f.Add([]byte{0x16, 1, 0, 0, 1, 0x60}, []byte{0x15, 1, 0, 0, 8, 0, 0, 0, 0, 0x80, 9, 3, 0x0c}, 1)
	f.Fuzz(func(t *testing.T, c, s []byte, n int) {
		if n < 1 || n > 1<<12 {
			n = 1 + n&0xfff
		}
		fs := carriertest.Drive(nns.Carrier, carriertest.Alternate(c, s, n), n)
		if len(fs) > 1 {
			t.Fatalf("%d findings", len(fs))
		}
		if _, err := nns.ParseHeader(c); err == nil && len(c) < nns.HeaderLen {
			t.Fatal("short header parsed")
		}
		if _, v, k, err := nns.NextRecord(c); err == nil && (k > len(c) || len(v) > k) {
			t.Fatalf("record of %d bytes in %d", k, len(c))
		}
	})
}
