package spnego

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"ntlmsensor/decoders/internal/pcaptest"
)

// seedTokens are real tokens of every kind: SMB2 (Samba, Windows), LDAP,
// HTTP Negotiate.
func seedTokens(tb testing.TB) [][]byte {
	var out [][]byte
	for _, rel := range []string{
		realImpl + "smb2_ntlmv2_hostname_signed.pcap",
		realImpl + "smb2_kerberos_hostname.pcap",
		"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap",
	} {
		for _, b := range frameBlobs(tb, rel) {
			out = append(out, b)
		}
	}
	for _, b := range frameLDAP(tb, realImpl+"ldap_spnego_ntlm_sealed.pcap") {
		out = append(out, b)
	}
	for _, b := range frameHTTP(tb, realImpl+"http_negotiate_kerberos.pcap") {
		out = append(out, b)
	}
	cl, sv := pcaptest.GSSSampleTokens(tb, iakerbPcap)
	return append(append(out, cl...), sv...)
}

func FuzzNextNegoEx(f *testing.F) {
	for _, b := range seedTokens(f) {
		if tok, err := Parse(b); err == nil && InnerMech(tok.MechToken) == MechNegoEx {
			f.Add(tok.MechToken)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for n := 0; len(b) > 0 && n < 64; n++ {
			m, rest, err := NextNegoEx(b)
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v wraps no sentinel", err)
				}
				return
			}
			if len(rest) >= len(b) || m.NumSchemes < 0 || m.NumSchemes > len(m.Schemes) ||
				len(m.Exchange) > 0 && !within(b[:len(b)-len(rest)], m.Exchange) {
				t.Fatalf("message %+v, %d of %d bytes left", m, len(rest), len(b))
			}
			b = rest
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range seedTokens(f) {
		f.Add(b)
		if tok, err := Parse(b); err == nil && len(tok.MechToken) > 0 {
			f.Add(tok.MechToken) // GSS krb5 / NTLMSSP / NEGOEX inner tokens
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Parse(b)
		_ = InnerMech(b)
		_ = InnerMech(tok.MechToken)
		_ = InnerMech(tok.ResponseToken)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if tok.Kind < KindInit || tok.Kind > KindRawKerberos || tok.NumMechTypes < 0 || tok.NumMechTypes > len(tok.MechTypes) {
			t.Fatalf("bad token %+v", tok)
		}
		if tok.Kind != KindResp && (tok.NegState != NegStateAbsent || tok.ResponseToken != nil || tok.SupportedMech != MechUnknown) {
			t.Fatalf("NegTokenResp fields on %v", tok.Kind)
		}
		if tok.NegState < NegStateAbsent {
			t.Fatalf("negState %d", tok.NegState)
		}
		// Token bytes are sub-slices of the input, never copies.
		for _, sub := range [][]byte{tok.MechToken, tok.ResponseToken} {
			if len(sub) > 0 && !within(b, sub) {
				t.Fatal("token outside the input")
			}
		}
		// InnerMech agrees with Parse on what the token is.
		switch im := InnerMech(b); tok.Kind {
		case KindRawNTLM, KindRawKerberos:
			if im != tok.Mech {
				t.Fatalf("%v: InnerMech %v", tok.Kind, im)
			}
		case KindMech:
			if im != tok.Mech && !(im == MechKerberos && (tok.Mech == MechMSKerberos || tok.Mech == MechIAKerb)) {
				t.Fatalf("GSS %v token: InnerMech %v", tok.Mech, im)
			}
		}
		// A token that decodes is exactly one element (or an NTLMSSP
		// message): one byte less is truncated.
		if tok.Kind != KindRawNTLM && !(tok.Kind == KindMech && b[0] == iakerbTokID[0]) {
			s := cryptobyte.String(b)
			if _, _, err := readElement(&s); err != nil {
				t.Fatal(err)
			}
			n := len(b) - len(s)
			if _, err := Parse(b[:n-1]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("prefix %d: %v", n-1, err)
			}
		}
	})
}

// within reports whether sub starts inside b and ends by its end.
func within(b, sub []byte) bool {
	for i := range b {
		if &b[i] == &sub[0] {
			return len(b)-i >= len(sub)
		}
	}
	return false
}
