package spnego

import (
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

const iakerbPcap = realImpl + "iakerb/gss_sample_iakerb.pcap"

// windows10NegoEx is the optimistic NegoEx token of a Windows 10 SMB
// server's NEGOTIATE response (NegTokenInit2 offering NegoEx and NTLM).
func windows10NegoEx(t *testing.T) []byte {
	t.Helper()
	b, ok := frameBlobs(t, "public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap")[40]
	if !ok {
		t.Fatal("no security blob at frame 40")
	}
	tok, err := Parse(b)
	if err != nil || InnerMech(tok.MechToken) != MechNegoEx {
		t.Fatalf("Parse: %v, inner %v", err, InnerMech(tok.MechToken))
	}
	return tok.MechToken
}

// TestNegoExRealWindows decodes real NegoEx bytes: the ACCEPTOR_NEGO
// offering PKU2U, then the ACCEPTOR_META_DATA for it (tshark agrees:
// negoex.message.type 1 then 3, one auth scheme, exchange of 88 bytes).
func TestNegoExRealWindows(t *testing.T) {
	b := windows10NegoEx(t)
	m, rest, err := NextNegoEx(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != NegoExAcceptorNego || m.Seq != 0 || m.NumSchemes != 1 || m.Schemes[0] != SchemePKU2U || m.Exchange != nil {
		t.Fatalf("first message: %v seq %d schemes %v", m.Type, m.Seq, m.Schemes[:m.NumSchemes])
	}
	if SchemeName(m.Schemes[0]) != "pku2u" || m.Schemes[0].String() != "0d53335c-f9ea-4d0d-b2ec-4ae3786ec308" {
		t.Errorf("scheme %s named %s", m.Schemes[0], SchemeName(m.Schemes[0]))
	}
	m2, rest, err := NextNegoEx(rest)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Type != NegoExAcceptorMetaData || m2.Seq != 1 || m2.Scheme != SchemePKU2U || len(m2.Exchange) != 88 ||
		m2.Conversation != m.Conversation || len(rest) != 0 {
		t.Fatalf("second message: %v seq %d scheme %s exchange %d, %d bytes left", m2.Type, m2.Seq, m2.Scheme, len(m2.Exchange), len(rest))
	}
	if m.Type.String() != "acceptor-nego" || m2.Type.String() != "acceptor-meta-data" || NegoExType(9).String() != "unknown" {
		t.Error("type names")
	}
	// Every cut of the first message is truncated.
	for i := 0; i < 112; i++ {
		if _, _, err := NextNegoEx(b[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
}

func TestNegoExMalformed(t *testing.T) {
	real := windows10NegoEx(t)
	edit := func(at int, v ...byte) []byte {
		b := append([]byte(nil), real...)
		copy(b[at:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"signature", edit(0, 'X')},
		{"header longer than message", edit(16, 0xff)},
		{"message shorter than header", edit(20, 8)},
		{"NEGO shorter than its fields", edit(16, 40, 0, 0, 0, 48, 0, 0, 0)},
		{"schemes past the message", edit(84, 0xff)},
		{"exchange past the message", edit(112+60, 0xff)},
	} {
		if _, _, err := NextNegoEx(tc.b); !errors.Is(err, ErrMalformed) {
			// the exchange case is in the second message
			if _, rest, err1 := NextNegoEx(tc.b); err1 == nil {
				_, _, err = NextNegoEx(rest)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	}
	if g := (GUID{1}); SchemeName(g) != "negoex:00000001-0000-0000-0000-000000000000" {
		t.Errorf("unknown scheme named %s", SchemeName(g))
	}
}

// TestIAKerbRealTokens: MIT krb5's IAKerb tokens (gss-client -iakerb), the
// first GSS-framed, the later ones bare, are IAKerb until the AP exchange,
// which is Kerberos.
func TestIAKerbRealTokens(t *testing.T) {
	cl, sv := pcaptest.GSSSampleTokens(t, iakerbPcap)
	want := []Mech{MechIAKerb, MechIAKerb, MechIAKerb, MechKerberos}
	for i, w := range want {
		if m := InnerMech(cl[i]); m != w {
			t.Errorf("client token %d: InnerMech %v, want %v", i, m, w)
		}
		if m := InnerMech(sv[i]); m != w {
			t.Errorf("server token %d: InnerMech %v, want %v", i, m, w)
		}
	}
	tok, err := Parse(cl[0])
	if err != nil || tok.Kind != KindMech || tok.Mech != MechIAKerb || tok.MechToken[0] != 0x05 {
		t.Errorf("first token: %v %v %v", err, tok.Kind, tok.Mech)
	}
	tok, err = Parse(cl[1])
	if err != nil || tok.Kind != KindMech || tok.Mech != MechIAKerb || len(tok.MechToken) != len(cl[1]) {
		t.Errorf("bare token: %v %v %v", err, tok.Kind, tok.Mech)
	}
	if _, err := Parse([]byte{0x05, 0x01, 0x04}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("05 01 without a header: %v", err)
	}
}
