package kdc

import (
	"encoding/hex"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/crackcheck"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/kerberos"
)

// TestASRepLine: the 18200 line of a real AS-REP (bob's RC4 reply of
// krb_rc4_only_client.pcap; the export writes it only for requests without
// pre-authentication) decrypts with bob's NT hash under key usage 3 (RC4
// message type 8) to an EncASRepPart (MIT sends [APPLICATION 25] or 26).
func TestASRepLine(t *testing.T) {
	var rep []byte
	for _, s := range pcaptest.Segments(t, "real-implementations/krb_rc4_only_client.pcap") {
		if s.SrcPort == 88 && len(s.Payload) > 4 && s.Payload[4] == 0x6b { // [APPLICATION 11] AS-REP
			rep = s.Payload[4:]
		}
	}
	m, err := kerberos.Parse(rep)
	if err != nil {
		t.Fatal(err)
	}
	c := asRepLine(m.CName.String(), m.CRealm, kerberos.ParseCiphers(rep).EncPart)
	prefix := "$krb5asrep$23$bob@LAB.TEST:"
	if c.Mode != 18200 || !strings.HasPrefix(c.Line, prefix) {
		t.Fatalf("mode %d, line starts %.28q", c.Mode, c.Line)
	}
	sum, edata, ok := strings.Cut(c.Line[len(prefix):], "$")
	if !ok || len(sum) != 32 {
		t.Fatal("no checksum$edata")
	}
	b1, _ := hex.DecodeString(sum)
	b2, _ := hex.DecodeString(edata)
	plain, err := crackcheck.DecryptRC4("Bob#Pass22", 3, append(b1, b2...))
	if err != nil || (plain[0] != 0x79 && plain[0] != 0x7a) {
		t.Errorf("enc-part does not decrypt with bob's password: %v", err)
	}
}
