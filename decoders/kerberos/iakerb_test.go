package kerberos

import (
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

const iakerbDir = realImpl + "iakerb/"

// TestIAKerbRealCaptures decodes MIT krb5's IAKerb tokens (gss-client
// -iakerb to gss-server -iakerb, the client's KDC unreachable, see
// pcaps/real-implementations/iakerb/TRUTH.md): the proxied AS and TGS
// exchanges, then the AP-REQ/AP-REP under the IAKerb OID.
func TestIAKerbRealCaptures(t *testing.T) {
	type exp struct {
		typ    MsgType
		iakerb bool
		sname  string
		code   int32
	}
	for _, tc := range []struct {
		pcap           string
		client, server []exp
	}{
		{"gss_sample_iakerb.pcap",
			[]exp{{ASReq, true, "krbtgt/MIT.TEST", 0}, {ASReq, true, "krbtgt/MIT.TEST", 0}, {TGSReq, true, "HTTP/web.mit.test", 0}, {APReq, false, "HTTP/web.mit.test", 0}},
			[]exp{{KRBError, true, "krbtgt/MIT.TEST", 25}, {ASRep, true, "", 0}, {TGSRep, true, "", 0}, {APRep, false, "", 0}}},
		{"gss_sample_iakerb_wrong_password.pcap",
			[]exp{{ASReq, true, "krbtgt/MIT.TEST", 0}, {ASReq, true, "krbtgt/MIT.TEST", 0}},
			[]exp{{KRBError, true, "krbtgt/MIT.TEST", 25}, {KRBError, true, "krbtgt/MIT.TEST", 24}}},
	} {
		t.Run(tc.pcap, func(t *testing.T) {
			cl, sv := pcaptest.GSSSampleTokens(t, iakerbDir+tc.pcap)
			// gss-client wraps its messages after the context: only the
			// context tokens are compared.
			for side, toks := range map[string][][]byte{"client": cl, "server": sv} {
				want := tc.client
				if side == "server" {
					want = tc.server
				}
				if len(toks) < len(want) {
					t.Fatalf("%s: %d tokens, want at least %d", side, len(toks), len(want))
				}
				for i, w := range want {
					m, err := ParseGSS(toks[i])
					if err != nil {
						t.Fatalf("%s token %d: %v", side, i, err)
					}
					if m.Type != w.typ || m.IAKerb != w.iakerb || w.sname != "" && m.SName.String() != w.sname ||
						w.typ == KRBError && m.ErrorCode != w.code {
						t.Errorf("%s token %d: type %v iakerb %v sname %q code %d, want %+v", side, i, m.Type, m.IAKerb, m.SName, m.ErrorCode, w)
					}
					if w.iakerb && (m.TargetRealm != "MIT.TEST" || m.HasCookie) {
						t.Errorf("%s token %d: target realm %q cookie %v", side, i, m.TargetRealm, m.HasCookie)
					}
					if m.Type == ASReq || m.Type == TGSReq {
						if m.Realm != "MIT.TEST" || m.NumEtypes == 0 {
							t.Errorf("%s token %d: realm %q etypes %v", side, i, m.Realm, m.Etypes[:m.NumEtypes])
						}
					}
				}
			}
			// The first token is GSS-framed under the IAKerb OID, the
			// next ones are bare: TOK_ID 05 01 straight away.
			if cl[0][0] != 0x60 || cl[1][0] != 0x05 || sv[0][0] != 0x05 {
				t.Errorf("framing: % x / % x / % x", cl[0][:2], cl[1][:2], sv[0][:2])
			}
		})
	}
}

func TestIAKerbErrors(t *testing.T) {
	cl, _ := pcaptest.GSSSampleTokens(t, iakerbDir+"gss_sample_iakerb.pcap")
	bare := cl[1] // 05 01, IAKERB-HEADER, AS-REQ
	for i := 3; i < len(bare); i++ {
		if _, err := ParseGSS(bare[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("bare token cut at %d: %v, want truncated", i, err)
		}
	}
	gss := cl[0]
	// The GSS length claims the whole token: cutting the inside is malformed.
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"no header", []byte{0x05, 0x01, 0x30, 0x00, 0x6a, 0x00}, ErrMalformed},
		{"header not a sequence", []byte{0x05, 0x01, 0x31, 0x00}, ErrUnsupported},
		{"realm not a string", []byte{0x05, 0x01, 0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x00, 0x6a, 0x00}, ErrMalformed},
		{"AP-REQ in a proxy token", append([]byte{0x05, 0x01, 0x30, 0x05, 0xa1, 0x03, 0x0c, 0x01, 'R'}, cl[3][14:]...), ErrMalformed},
		{"GSS token cut inside", append(append([]byte{}, gss[:3]...), gss[3:len(gss)-1]...), ErrTruncated},
	} {
		if _, err := ParseGSS(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
