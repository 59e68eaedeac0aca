package kerberos

import "testing"

func BenchmarkParse(b *testing.B) {
	rel := realImpl + "krb_as_tgs_aes_success.pcap"
	for _, bc := range []struct {
		name  string
		frame int
	}{
		{"AS-REQ", 14}, {"KRB-ERROR", 6}, {"AS-REP", 16}, {"TGS-REQ", 24}, {"TGS-REP", 26},
	} {
		msg := pduAt(b, rel, bc.frame)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := Parse(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseGSS(b *testing.B) {
	tok := gssSeeds(b)[0] // AP-REQ of smb2_kerberos_hostname
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if _, err := ParseGSS(tok); err != nil {
			b.Fatal(err)
		}
	}
}
