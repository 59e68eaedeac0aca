package smb_test

import (
	"slices"
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
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
