package kdc_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/crackcheck"
	"ntlmsensor/decoders/kdc"
)

// Lab passwords of the generated captures (pcaps/real-implementations).
var labPasswords = map[string]string{
	"alice": "Alice#Pass1", "bob": "Bob#Pass22", "svc_web": "SvcWeb#Pass4",
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("not hex: %v", err)
	}
	return b
}

// TestHashesPreauth: the AS-REQ PA-ENC-TIMESTAMP lines (hashcat 19900 for
// AES256, 7500 for RC4) decrypt, with the key string-to-key makes of the
// password and the salt REALM||user, to a checksum that verifies and a
// timestamp (key usage 1). Refused pre-authentication gives no line.
func TestHashesPreauth(t *testing.T) {
	for _, tc := range []struct {
		rel, user string
		mode      int
	}{
		{"real-implementations/krb_as_tgs_aes_success.pcap", "alice", carrier.ModeKrbPAAES256},
		{"real-implementations/krb_rc4_only_client.pcap", "bob", carrier.ModeKrbPARC4},
	} {
		var pa []carriertest.Hash
		for _, h := range carriertest.Hashes(t, tc.rel, kdc.Carrier) {
			if strings.HasPrefix(h.Line, "$krb5pa$") {
				pa = append(pa, h)
			}
		}
		if len(pa) != 1 || pa[0].Mode != tc.mode {
			t.Fatalf("%s: %d pre-authentication lines %v", tc.rel, len(pa), pa)
		}
		f := strings.Split(pa[0].Line, "$")
		pw := labPasswords[tc.user]
		var plain []byte
		var err error
		switch tc.mode {
		case carrier.ModeKrbPAAES256: // $krb5pa$18$user$realm$cipher
			if len(f) != 6 || f[2] != "18" || f[3] != tc.user || f[4] != "LAB.TEST" {
				t.Fatalf("%s: fields %q", tc.rel, f[:5])
			}
			plain, err = crackcheck.DecryptAES(pw, strings.ToUpper(f[4])+f[3], 32, 1, unhex(t, f[5]))
		case carrier.ModeKrbPARC4: // $krb5pa$23$user$realm$salt$edata(36)checksum(16)
			if len(f) != 7 || f[2] != "23" || f[3] != tc.user || f[4] != "LAB.TEST" || len(f[6]) != 104 {
				t.Fatalf("%s: fields %q", tc.rel, f[:6])
			}
			c := unhex(t, f[6])
			plain, err = crackcheck.DecryptRC4(pw, 1, append(c[36:], c[:36]...))
		}
		if err != nil || !crackcheck.HasKerberosTime(plain) {
			t.Errorf("%s: line does not decrypt to a timestamp with the lab password: %v", tc.rel, err)
		}
	}
	if hs := carriertest.Hashes(t, "real-implementations/krb_preauth_failed.pcap", kdc.Carrier); len(hs) != 0 {
		t.Errorf("wrong password: %d lines", len(hs))
	}
}

// TestHashesKerberoast: the TGS-REP for HTTP/web.lab.test carries an RC4
// service ticket (the account has no msDS-SupportedEncryptionTypes): its
// 13100 line decrypts with svc_web's NT hash (key usage 2) to an
// EncTicketPart ([APPLICATION 3]).
func TestHashesKerberoast(t *testing.T) {
	var tgs []carriertest.Hash
	for _, h := range carriertest.Hashes(t, "real-implementations/http_negotiate_kerberos.pcap", kdc.Carrier) {
		if strings.HasPrefix(h.Line, "$krb5tgs$") {
			tgs = append(tgs, h)
		}
	}
	if len(tgs) != 1 || tgs[0].Mode != carrier.ModeKrbTGSRC4 {
		t.Fatalf("%d TGS lines %v", len(tgs), tgs)
	}
	// $krb5tgs$23$*user$realm$spn*$checksum$edata
	f := strings.Split(tgs[0].Line, "$")
	if len(f) != 8 || f[2] != "23" || f[3] != "*HTTP/web.lab.test" || f[4] != "LAB.TEST" || f[5] != "HTTP/web.lab.test*" || len(f[6]) != 32 {
		t.Fatalf("fields %q", f[:7])
	}
	plain, err := crackcheck.DecryptRC4(labPasswords["svc_web"], 2, append(unhex(t, f[6]), unhex(t, f[7])...))
	if err != nil || len(plain) == 0 || plain[0] != 0x63 {
		t.Errorf("ticket does not decrypt to an EncTicketPart with svc_web's password: %v", err)
	}
}
