package carrier_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/decoders/smtp"
	"ntlmsensor/findings"
)

var textCarriers = []*carrier.Carrier{http.Carrier, smtp.Carrier, imap.Carrier, pop3.Carrier}

// TestChallengeTextCarriers: HTTP, SMTP and IMAP logons to the lab's
// Impacket-based test server keep the server's CHALLENGE, although its pair
// list does not parse (Impacket declares the TargetName and TargetInfo
// offsets 8 bytes short, before VERSION): the challenge digest and flags the
// relay detectors compare are filled, and the hash export's line of the same
// logon carries that very challenge and verifies with alice's password.
func TestChallengeTextCarriers(t *testing.T) {
	for _, tc := range []struct {
		rel   string
		proto findings.Protocol
		flags uint32
		mode  int
	}{
		{"real-implementations/http_ntlmv2_hostname.pcap", findings.ProtoHTTP, 0x02890206, carrier.ModeNetNTLMv2},
		{"real-implementations/http_ntlmv2_by_ip.pcap", findings.ProtoHTTP, 0x02890206, carrier.ModeNetNTLMv2},
		{"real-implementations/http_ntlmv1.pcap", findings.ProtoHTTP, 0x00010206, carrier.ModeNetNTLMv1},
		{"real-implementations/smtp_auth_ntlm.pcap", findings.ProtoSMTP, 0x02890206, carrier.ModeNetNTLMv2},
		{"real-implementations/imap_auth_ntlm.pcap", findings.ProtoIMAP, 0x02890206, carrier.ModeNetNTLMv2},
	} {
		fs := carriertest.Analyse(t, tc.rel, textCarriers...)
		hs := carriertest.Hashes(t, tc.rel, textCarriers...)
		if len(fs) != 1 || len(hs) != 1 || hs[0].Mode != tc.mode {
			t.Fatalf("%s: %d findings, %d lines", tc.rel, len(fs), len(hs))
		}
		f := fs[0]
		if f.Protocol != tc.proto || f.UserName != "alice" || f.Outcome != findings.Success {
			t.Errorf("%s: %s %s %s", tc.rel, f.Protocol, f.UserName, f.Outcome)
		}
		checkNTLM(t, hs[0], alicePassword)
		fields := strings.Split(hs[0].Line, ":")
		ch := fields[3]
		if tc.mode == carrier.ModeNetNTLMv1 {
			ch = fields[5]
		}
		b, _ := hex.DecodeString(ch)
		if !f.Attack.HasChallenge || f.Attack.ChallengeDigest != findings.Digest(b) || f.Attack.ChallengeFlags != tc.flags {
			t.Errorf("%s: challenge %v digest %x (want that of the line's challenge), flags %#x", tc.rel, f.Attack.HasChallenge, f.Attack.ChallengeDigest, f.Attack.ChallengeFlags)
		}
	}
	// the wrong password: the challenge is kept (a rogue server or a relay
	// shows in failures too), no line is exported
	fs := carriertest.Analyse(t, "real-implementations/http_ntlm_wrong_password.pcap", textCarriers...)
	if len(fs) != 1 || !fs[0].Attack.HasChallenge || fs[0].Outcome != findings.Failure {
		t.Errorf("wrong password: %s", carriertest.Dump(fs))
	}
}

// TestChallengeTextCarriersPublic: well-formed CHALLENGEs over HTTP (a
// SharePoint server behind ERSPAN) and over SMTP, IMAP and POP3 (Arkime's
// synthetic trace) fill the server's facts: the challenge, its version and
// its names.
func TestChallengeTextCarriersPublic(t *testing.T) {
	fs := carriertest.Analyse(t, "public/zeek/testing/btest/Traces/erspan.pcap", textCarriers...)
	if len(fs) != 1 || !fs[0].Attack.HasChallenge || fs[0].NTLM.ServerDNSName != "TFDSP.sp.local" || fs[0].NTLM.ServerNbName != "TFDSP" || fs[0].NTLM.ServerVersion != "6.1.7601" {
		t.Errorf("erspan: %s", carriertest.Dump(fs))
	}
	seen := map[string]bool{}
	for _, f := range carriertest.Analyse(t, "public/arkime/tests/pcap/ntlm_synthetic.pcap", textCarriers...) {
		if !f.Attack.HasChallenge || f.Attack.ChallengeFlags != 0x02000205 || f.NTLM.ServerVersion == "" {
			t.Errorf("%s %s: challenge %v flags %#x version %q", f.Protocol, f.UserName, f.Attack.HasChallenge, f.Attack.ChallengeFlags, f.NTLM.ServerVersion)
		}
		seen[string(f.Protocol)+" "+f.UserName] = true
	}
	for _, want := range []string{"http dave", "http eve", "smtp jack", "imap kate", "pop3 liam"} {
		if !seen[want] {
			t.Errorf("no finding %s: %v", want, seen)
		}
	}
}
