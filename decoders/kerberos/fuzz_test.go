package kerberos

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"ntlmsensor/decoders/internal/pcaptest"
)

// seedCaptures hold every message type this package decodes.
var seedCaptures = []string{
	realImpl + "krb_as_tgs_aes_success.pcap",
	realImpl + "krb_rc4_only_client.pcap",
	realImpl + "krb_tgs_spn_is_ip.pcap",
	realImpl + "krb_clock_skew_tgs.pcap",
	realImpl + "http_negotiate_kerberos.pcap",
	"public/zeek/testing/btest/Traces/krb/kinit.pcap",
}

func gssSeeds(tb testing.TB) [][]byte {
	rel := realImpl + "smb2_kerberos_hostname.pcap"
	out := gssTokens(tb, payloadsWith(tb, rel, gssKRB5APReq), gssKRB5APReq)
	return append(out, gssTokens(tb, payloadsWith(tb, rel, gssKRB5APRep), gssKRB5APRep)...)
}

func FuzzParse(f *testing.F) {
	seen := map[string]bool{}
	for _, rel := range seedCaptures {
		for _, p := range portPDUs(f, rel) {
			if !seen[string(p.b)] && len(seen) < 64 {
				seen[string(p.b)] = true
				f.Add(p.b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		checkResult(t, b, m, err)
		if err != nil {
			return
		}
		// ParseGSS treats a bare PDU exactly as Parse does.
		if g, gerr := ParseGSS(b); gerr != nil || g != m {
			t.Fatalf("ParseGSS(bare) = %v, Parse ok", gerr)
		}
		// The PDU is exactly the outer element: a byte less is truncated,
		// bytes after it change nothing.
		s := cryptobyte.String(b)
		if _, _, err := readElement(&s); err != nil {
			t.Fatal(err)
		}
		n := len(b) - len(s)
		if _, err := Parse(b[:n-1]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix of %d: %v", n-1, err)
		}
		if p, err := Parse(b[:n]); err != nil || p != m {
			t.Fatalf("exact element: %v", err)
		}
	})
}

func FuzzParseGSS(f *testing.F) {
	for _, tok := range gssSeeds(f) {
		f.Add(tok)
	}
	for _, tok := range httpNegotiate(f, realImpl+"http_negotiate_kerberos.pcap") {
		f.Add(tok) // SPNEGO around krb5: ErrUnsupported, but a good mutation base
	}
	cl, sv := pcaptest.GSSSampleTokens(f, iakerbDir+"gss_sample_iakerb.pcap")
	for _, tok := range append(cl, sv...) {
		f.Add(tok) // IAKerb: proxied AS/TGS, then AP under the IAKerb OID
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseGSS(b)
		checkResult(t, b, m, err)
		if err != nil || len(b) == 0 || b[0] != byte(tagGSSAPI) && !isTokID(b) {
			return
		}
		switch {
		case m.IAKerb:
			if m.Type == APReq || m.Type == APRep || m.TargetRealm == "" {
				t.Fatalf("IAKerb token decoded as %v, target realm %q", m.Type, m.TargetRealm)
			}
		case m.Type != APReq && m.Type != APRep && m.Type != KRBError:
			t.Fatalf("GSS token decoded as %v", m.Type)
		}
	})
}

// checkResult states what holds for any input.
func checkResult(t *testing.T, b []byte, m Message, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
	} else {
		switch m.Type {
		case ASReq, TGSReq, KRBError, APRep:
		case ASRep, TGSRep, APReq:
			if !m.HasTicket {
				t.Fatalf("%v without ticket", m.Type)
			}
		default:
			t.Fatalf("decoded type %v", m.Type)
		}
	}
	if m.NumEtypes < 0 || m.NumEtypes > len(m.Etypes) || m.NumPAData < 0 || m.NumPAData > len(m.PAData) ||
		m.CName.NumParts < 0 || m.CName.NumParts > 4 || m.SName.NumParts < 0 || m.SName.NumParts > 4 {
		t.Fatalf("counts out of range: %+v", m)
	}
	// Every string is copied from the input, never made up.
	in := string(b)
	for _, s := range append([]string{m.Realm, m.CRealm, m.TargetRealm}, append(m.CName.Parts[:], m.SName.Parts[:]...)...) {
		if !strings.Contains(in, s) {
			t.Fatalf("string %q not in the input", s)
		}
	}
}
