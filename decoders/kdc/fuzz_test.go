package kdc_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/kdc"
	"ntlmsensor/decoders/kerberos"
)

// kdcCaptures seed the fuzz targets: MIT kinit and kvno against Samba
// (TCP), Windows against its DC (TCP).
var kdcCaptures = []string{
	"real-implementations/krb_as_tgs_aes_success.pcap",
	"real-implementations/krb_tgs_spn_is_ip.pcap",
	"real-implementations/krb_preauth_failed.pcap",
	authsod,
}

// FuzzHandler drives the carrier with both sides of real KDC connections,
// cut and with pieces lost: no panic, every finding complete.
func FuzzHandler(f *testing.F) {
	for _, rel := range kdcCaptures {
		carriertest.Seed(f, rel, 88)
	}
	f.Fuzz(func(t *testing.T, client, server []byte, n uint16) {
		carriertest.FuzzBoth(t, kdc.Carrier, client, server, n)
		for _, fd := range carriertest.Drive(kdc.Carrier, carriertest.Alternate(client, server, int(n%4096)+1), 1460) {
			if fd.Kerberos.Request == "" {
				t.Fatalf("finding without a request %+v", fd)
			}
		}
	})
}

// FuzzFrame: the pure framing stays within its input and agrees with
// itself: a framed message is no longer than its DER length says (as long
// in a datagram), and classified by its first octet.
func FuzzFrame(f *testing.F) {
	for _, rel := range kdcCaptures {
		for _, p := range carriertest.Pieces(f, rel, 88) {
			f.Add(p.Data)
		}
	}
	f.Add([]byte{0x6a, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		pdu, ok := kdc.Frame(b)
		if !ok {
			return
		}
		l := kdc.DERLength(pdu)
		if len(pdu) > len(b) || len(pdu) > l || (len(pdu) == len(b) && l != len(pdu)) {
			t.Fatalf("frame of %d bytes in %d, DER length %d", len(pdu), len(b), l)
		}
		if typ, k := kdc.Classify(pdu); k != kdc.NotKDC && typ != kerberos.MsgType(pdu[0]&0x1f) {
			t.Fatalf("classified %d", typ)
		}
	})
}
