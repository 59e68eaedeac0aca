package spnego

import "testing"

func BenchmarkParse(b *testing.B) {
	smb := frameBlobs(b, realImpl+"smb2_ntlmv2_hostname_signed.pcap")
	krb := frameBlobs(b, realImpl+"smb2_kerberos_hostname.pcap")
	for _, bc := range []struct {
		name string
		tok  []byte
	}{
		{"NegTokenInit2-negotiate", smb[6]},
		{"NegTokenInit-NTLM", smb[8]},
		{"NegTokenResp-challenge", smb[9]},
		{"NegTokenResp-auth-MIC", smb[10]},
		{"NegTokenInit-Kerberos", krb[48]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.tok)))
			for b.Loop() {
				if _, err := Parse(bc.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkInnerMech(b *testing.B) {
	tok, err := Parse(frameBlobs(b, realImpl+"smb2_kerberos_hostname.pcap")[48])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if InnerMech(tok.MechToken) != MechKerberos {
			b.Fatal("not kerberos")
		}
	}
}
