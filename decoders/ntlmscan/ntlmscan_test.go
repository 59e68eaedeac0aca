package ntlmscan_test

import (
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/ntlmscan"
	"ntlmsensor/findings"
)

// TestTelnet: NTLM inside Telnet option negotiation (raw NTLMSSP), a
// protocol the sensor does not parse, is still an NTLM dependency.
func TestTelnet(t *testing.T) {
	ps := carriertest.Pieces(t, "public/CredSLayer/tests/samples/telnet-raw2.pcap", 23)
	for _, chunk := range []int{1 << 20, 100, 7, 5, 1} {
		fs := carriertest.Drive(ntlmscan.Carrier, ps, chunk)
		if len(fs) != 1 {
			t.Fatalf("chunk %d: %d findings", chunk, len(fs))
		}
		f := fs[0]
		if f.UserName != "bill" || f.UserDomain != "BILLS" || f.NTLM.Workstation != "BILLS" || f.NTLM.Version != "NTLMv2" ||
			f.Outcome != findings.Unknown || f.Protocol != "unknown" || f.SPNEGO != findings.False {
			t.Fatalf("chunk %d: %+v", chunk, f)
		}
	}
}

// TestBase64: NTLM in base64 on a text protocol, found without parsing it
// (here SMTP AUTH NTLM, as if no SMTP decoder existed).
func TestBase64(t *testing.T) {
	ps := carriertest.Pieces(t, "real-implementations/smtp_auth_ntlm.pcap", 25)
	for _, chunk := range []int{1 << 20, 64, 7, 3, 1} {
		fs := carriertest.Drive(ntlmscan.Carrier, ps, chunk)
		if len(fs) != 1 {
			t.Fatalf("chunk %d: %d findings", chunk, len(fs))
		}
		if f := fs[0]; f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Workstation != "WORKSTATION" || f.NTLM.Version != "NTLMv2" {
			t.Fatalf("chunk %d: %+v", chunk, f)
		}
	}
}

func TestTLSIsNotScanned(t *testing.T) {
	if v := ntlmscan.Carrier.Detect(true, []byte{0x16, 0x03, 0x01, 0x02, 0x00}); v != carrier.No {
		t.Fatalf("TLS ClientHello: %v", v)
	}
}
