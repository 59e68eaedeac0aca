package smb_test

import (
	"slices"
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/findings"
)

// TestSMB1ZeroSignatureIsUnsigned: in Wireshark's SMB sample (suricata-verify
// smb2-ntlmssp-negotiateflags), the anonymous SMB1 session of UID 2048
// (TCP stream 1, frames 240-247) sets SMB_FLAGS2_SMB_SECURITY_SIGNATURE on
// every message but its SecuritySignature is eight zero bytes: no message
// is signed, the session is smb_unsigned.
func TestSMB1ZeroSignatureIsUnsigned(t *testing.T) {
	const rel = "public/suricata-verify/tests/smb2-ntlmssp-negotiateflags/input.pcap"
	var got []*findings.Finding
	for _, f := range carriertest.Analyse(t, rel, smb.Carrier) {
		if f.SMB.Version == "1" {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d SMB1 findings, want 1:\n%s", len(got), carriertest.Dump(got))
	}
	f := got[0]
	if f.NTLM.Version != findings.NTLMAnonymous || f.SMB.Tree != `\\SCV\IPC$` || f.SMB.Signed != findings.False ||
		!slices.Contains(f.Flags, findings.FlagSMBUnsigned) {
		t.Errorf("%s", carriertest.Dump(got))
	}
}

// TestValidateNegotiateSaysNothingOfSigning: FSCTL_VALIDATE_NEGOTIATE_INFO
// is signed in every authenticated SMB 3.0.x session, whether or not the
// session signs the rest. The suricata-verify smb-length-5786 capture is
// an SMB 3.0.2 session whose first message after the TREE_CONNECT is that
// IOCTL (frame 24); with the SMB2_FLAGS_SIGNED flag cleared on every other
// message after it, compounded ones too (a session that does not sign), the session is unsigned.
func TestValidateNegotiateSaysNothingOfSigning(t *testing.T) {
	const rel = "public/suricata-verify/tests/smb-length-5786/input.pcap"
	var ps []carriertest.Piece
	vni := 0
	for _, s := range pcaptest.Segments(t, rel) {
		p := append([]byte(nil), s.Payload...)
		// NetBIOS header (4), then SMB2 headers chained by NextCommand
		// (offset 20): Flags at 16 [MS-SMB2 2.2.1.2]
		for off := 4; s.Frame > 24 && off+64 <= len(p) && p[off] == 0xfe; {
			p[off+16] &^= 0x08
			next := int(le32(p, off+20))
			if next == 0 {
				break
			}
			off += next
		}
		if s.Frame == 24 {
			if le32(p, 4+64+4) != smb.FsctlValidateNegotiateInfo || p[4+16]&0x08 == 0 {
				t.Fatalf("frame 24 is not a signed FSCTL_VALIDATE_NEGOTIATE_INFO")
			}
			vni++
		}
		ps = append(ps, carriertest.Piece{ToServer: s.DstPort == 445, Data: p})
	}
	fs := carriertest.Drive(smb.Carrier, ps, 1<<16)
	if vni != 1 || len(fs) != 1 || fs[0].SMB.Version != "3.0.2" || fs[0].SMB.Signed != findings.False {
		t.Fatalf("%s", carriertest.Dump(fs))
	}
}

func le32(b []byte, off int) uint32 {
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}
