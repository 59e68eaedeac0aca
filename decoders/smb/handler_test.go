package smb_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/findings"
)

// pieces are a capture's TCP payloads in order (the SMB server is on port
// 445 or 139).
func pieces(t testing.TB, rel string) []carriertest.Piece {
	var ps []carriertest.Piece
	for _, s := range pcaptest.Segments(t, rel) {
		if !s.UDP {
			ps = append(ps, carriertest.Piece{ToServer: s.DstPort == 445 || s.DstPort == 139, Data: s.Payload})
		}
	}
	return ps
}

// directions joins the TCP payloads of a capture per direction (the SMB
// server is on port 445 or 139).
func directions(t testing.TB, rel string) (client, server []byte) {
	for _, s := range pcaptest.Segments(t, rel) {
		if s.UDP {
			continue
		}
		if s.DstPort == 445 || s.DstPort == 139 {
			client = append(client, s.Payload...)
		} else {
			server = append(server, s.Payload...)
		}
	}
	return client, server
}

// TestHandlerChunking: however the bytes are cut, the finding is the same.
func TestHandlerChunking(t *testing.T) {
	pieces := pieces(t, "real-implementations/smb2_ntlmv2_hostname_signed.pcap")
	for _, chunk := range []int{1 << 20, 1500, 64, 3, 1} {
		fs := carriertest.Drive(smb.Carrier, pieces, chunk)
		if len(fs) != 1 {
			t.Fatalf("chunk %d: %d findings", chunk, len(fs))
		}
		f := fs[0]
		if f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Workstation != "WKS01" || f.NTLM.Version != "NTLMv2" ||
			f.NTLM.TargetName != "cifs/dc1.lab.test" || f.SMB.Tree != `\\dc1.lab.test\IPC$` || f.SMB.Version != "3.1.1" ||
			f.SMB.SigningRequired != findings.True || f.SMB.Signed != findings.True || f.Outcome != findings.Success {
			t.Fatalf("chunk %d: %+v", chunk, f)
		}
	}
}

var seeds = []string{
	"real-implementations/smb2_ntlmv2_hostname_signed.pcap",
	"real-implementations/smb1_nonextsec_lm_ntlmv1.pcap",
	"real-implementations/smb1_ntlmv2_by_ip_unsigned.pcap",
	"real-implementations/smb3_impacket_client_ntlmv2.pcap",
	"real-implementations/smb2_kerberos_hostname.pcap",
	"public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap",
}

// FuzzHandler drives the SMB carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	for _, rel := range seeds {
		c, s := directions(f, rel)
		f.Add(c, s, uint16(1460))
	}
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16) {
		for _, fd := range carriertest.Drive(smb.Carrier, carriertest.Alternate(client, server, int(chunk%4096)+1), 1460) {
			if fd.Outcome == "" || fd.Protocol != "smb" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
