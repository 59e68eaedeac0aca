package carrier_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/crackcheck"
	"ntlmsensor/decoders/smb"
)

// Lab passwords of the generated captures (pcaps/real-implementations).
const (
	alicePassword = "Alice#Pass1"
	carolPassword = "Carol#Pass3"
)

// checkNTLM recomputes a hashcat 5500/5600 line from the password: a wrong
// field, split or byte order fails. It returns the user and domain.
func checkNTLM(t *testing.T, h carriertest.Hash, password string) (user, domain string) {
	t.Helper()
	f := strings.Split(h.Line, ":")
	if len(f) != 6 || f[1] != "" {
		t.Fatalf("not a NetNTLM line: %d fields", len(f))
	}
	user, domain = f[0], f[2]
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("field is not hex: %v", err)
		}
		return b
	}
	switch h.Mode {
	case carrier.ModeNetNTLMv2: // user::domain:challenge:NTProofStr:blob
		ch, proof, blob := dec(f[3]), dec(f[4]), dec(f[5])
		if len(ch) != 8 || len(proof) != 16 {
			t.Fatalf("challenge %d bytes, NTProofStr %d", len(ch), len(proof))
		}
		if !bytes.Equal(crackcheck.NTProofStr(password, user, domain, ch, blob), proof) {
			t.Errorf("NTLMv2 line of %s\\%s does not verify with the lab password", domain, user)
		}
	case carrier.ModeNetNTLMv1: // user::domain:LM:NT:challenge
		lm, nt, ch := dec(f[3]), dec(f[4]), dec(f[5])
		if len(lm) != 24 || len(nt) != 24 || len(ch) != 8 {
			t.Fatalf("LM %d, NT %d, challenge %d bytes", len(lm), len(nt), len(ch))
		}
		var client []byte
		if bytes.Equal(lm[8:], make([]byte, 16)) { // ESS: client challenge, 16 zeros
			client = lm[:8]
		}
		if !bytes.Equal(crackcheck.NTLMv1Response(password, ch, client), nt) {
			t.Errorf("NTLMv1 line of %s\\%s (ESS %v) does not verify with the lab password", domain, user, client != nil)
		}
	default:
		t.Fatalf("mode %d", h.Mode)
	}
	return user, domain
}

// TestHashesNTLM: the export's NetNTLM lines of real SMB logons verify with
// the accounts' passwords; a refused logon (wrong password) gives none.
func TestHashesNTLM(t *testing.T) {
	for _, tc := range []struct {
		rel, user, domain, password string
		mode                        int
	}{
		{"real-implementations/smb2_ntlmv2_hostname_signed.pcap", "alice", "LAB", alicePassword, carrier.ModeNetNTLMv2},
		{"real-implementations/smb2_ntlmv1_unsigned.pcap", "carol", "FS1", carolPassword, carrier.ModeNetNTLMv1},
		{"real-implementations/smb1_ntlmv1_ess.pcap", "carol", "FS1", carolPassword, carrier.ModeNetNTLMv1},
		{"real-implementations/smb1_ntlmv1_with_lm.pcap", "carol", "FS1", carolPassword, carrier.ModeNetNTLMv1},
		{"real-implementations/smb1_ntlmv2_by_ip_unsigned.pcap", "carol", "FS1", carolPassword, carrier.ModeNetNTLMv2},
	} {
		hs := carriertest.Hashes(t, tc.rel, smb.Carrier)
		if len(hs) != 1 {
			t.Fatalf("%s: %d lines", tc.rel, len(hs))
		}
		if hs[0].Mode != tc.mode {
			t.Errorf("%s: mode %d, want %d", tc.rel, hs[0].Mode, tc.mode)
		}
		if u, d := checkNTLM(t, hs[0], tc.password); u != tc.user || d != tc.domain {
			t.Errorf("%s: %s\\%s", tc.rel, d, u)
		}
	}
	for _, rel := range []string{"real-implementations/smb2_wrong_password.pcap", "real-implementations/smb2_anonymous_null.pcap"} {
		if hs := carriertest.Hashes(t, rel, smb.Carrier); len(hs) != 0 {
			t.Errorf("%s: %d lines, want none", rel, len(hs))
		}
	}
}

// TestHashesOffByDefault: without SetHashes nothing is exported, and the
// findings carry no response (only keyed digests).
func TestHashesOffByDefault(t *testing.T) {
	if carrier.HashExport() != nil {
		t.Fatal("hash export on by default")
	}
	hs := carriertest.Hashes(t, "real-implementations/smb2_ntlmv2_hostname_signed.pcap", smb.Carrier)
	proof := strings.Split(hs[0].Line, ":")[4]
	fs := carriertest.Analyse(t, "real-implementations/smb2_ntlmv2_hostname_signed.pcap", smb.Carrier)
	if len(fs) == 0 || strings.Contains(strings.ToLower(carriertest.Dump(fs)), proof) {
		t.Error("no finding, or a finding carries the NTProofStr")
	}
}
