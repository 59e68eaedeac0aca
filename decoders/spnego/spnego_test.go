package spnego

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/kerberos"
)

// want is what a test pins of one token.
type want struct {
	kind      TokenKind
	mechs     []Mech
	inner     Mech // InnerMech of the MechToken (init) or ResponseToken (resp)
	ntlmType  byte // NTLMSSP MessageType of that token, when inner is NTLM
	negState  NegState
	supported Mech
	mic       bool
}

var (
	samba   = []Mech{MechMSKerberos, MechKerberos, MechNTLM} // Samba DC negHints list
	windows = []Mech{MechNegoEx, MechNTLM}                   // Windows 10 server, no domain
	ntlm    = []Mech{MechNTLM}
	absent  = NegStateAbsent
)

func check(t *testing.T, tok Token, w want) {
	t.Helper()
	if tok.Kind != w.kind {
		t.Errorf("Kind = %v, want %v", tok.Kind, w.kind)
	}
	if got := tok.Mechs(); !slices.Equal(got, w.mechs) && (len(got) != 0 || len(w.mechs) != 0) {
		t.Errorf("Mechs = %v, want %v", got, w.mechs)
	}
	inner := tok.MechToken
	if tok.Kind == KindResp {
		inner = tok.ResponseToken
		if tok.MechToken != nil {
			t.Errorf("NegTokenResp with MechToken")
		}
	}
	if got := InnerMech(inner); got != w.inner {
		t.Errorf("InnerMech = %v, want %v", got, w.inner)
	}
	if w.inner == MechUnknown && len(inner) != 0 {
		t.Errorf("unexpected inner token % x", inner[:min(len(inner), 16)])
	}
	if w.ntlmType != 0 && (len(inner) < 12 || inner[8] != w.ntlmType) {
		t.Errorf("inner NTLMSSP type, want %d", w.ntlmType)
	}
	if tok.NegState != w.negState {
		t.Errorf("NegState = %v, want %v", tok.NegState, w.negState)
	}
	if tok.SupportedMech != w.supported {
		t.Errorf("SupportedMech = %v, want %v", tok.SupportedMech, w.supported)
	}
	if tok.HasMechListMIC != w.mic {
		t.Errorf("HasMechListMIC = %v, want %v", tok.HasMechListMIC, w.mic)
	}
	if (tok.Kind == KindInit || tok.Kind == KindResp) && tok.Mech != MechSPNEGO {
		t.Errorf("Mech = %v, want spnego", tok.Mech)
	}
}

// Values from tshark (spnego.MechType, spnego.negResult, spnego.supportedMech,
// spnego.mechListMIC, ntlmssp.messagetype, kerberos.msg_type) on each frame.
func TestParseRealCaptures(t *testing.T) {
	smb := func(rel string) map[int][]byte { return frameBlobs(t, rel) }
	tests := []struct {
		pcap   string
		blobs  func(string) map[int][]byte
		frame  int
		want   want
		remark string
	}{
		// Samba smbclient -> Samba AD DC, NTLMv2.
		{"smb2_ntlmv2_hostname_signed.pcap", smb, 6, want{kind: KindInit, mechs: samba, negState: absent}, "NEGOTIATE response: NegTokenInit2 with negHints"},
		{"smb2_ntlmv2_hostname_signed.pcap", smb, 8, want{kind: KindInit, mechs: ntlm, inner: MechNTLM, ntlmType: 1, negState: absent}, "optimistic NEGOTIATE"},
		{"smb2_ntlmv2_hostname_signed.pcap", smb, 9, want{kind: KindResp, inner: MechNTLM, ntlmType: 2, negState: AcceptIncomplete, supported: MechNTLM}, "CHALLENGE"},
		{"smb2_ntlmv2_hostname_signed.pcap", smb, 10, want{kind: KindResp, inner: MechNTLM, ntlmType: 3, negState: absent, mic: true}, "AUTHENTICATE + MIC"},
		{"smb2_ntlmv2_hostname_signed.pcap", smb, 12, want{kind: KindResp, negState: AcceptCompleted, mic: true}, "final"},
		// Samba smbclient --use-kerberos=required.
		{"smb2_kerberos_hostname.pcap", smb, 26, want{kind: KindInit, mechs: samba, negState: absent}, "NEGOTIATE response"},
		{"smb2_kerberos_hostname.pcap", smb, 48, want{kind: KindInit, mechs: []Mech{MechMSKerberos, MechKerberos}, inner: MechKerberos, negState: absent}, "AP-REQ"},
		{"smb2_kerberos_hostname.pcap", smb, 49, want{kind: KindResp, inner: MechKerberos, negState: AcceptCompleted, supported: MechMSKerberos}, "AP-REP"},
		// Samba ldbsearch over LDAP SASL GSS-SPNEGO with NTLMSSP.
		{"ldap_spnego_ntlm_sealed.pcap", frameLDAPF(t), 8, want{kind: KindInit, mechs: ntlm, inner: MechNTLM, ntlmType: 1, negState: absent}, "bind 1"},
		{"ldap_spnego_ntlm_sealed.pcap", frameLDAPF(t), 9, want{kind: KindResp, inner: MechNTLM, ntlmType: 2, negState: AcceptIncomplete, supported: MechNTLM}, "saslBindInProgress"},
		{"ldap_spnego_ntlm_sealed.pcap", frameLDAPF(t), 10, want{kind: KindResp, inner: MechNTLM, ntlmType: 3, negState: absent, mic: true}, "bind 2"},
		{"ldap_spnego_ntlm_sealed.pcap", frameLDAPF(t), 11, want{kind: KindResp, negState: AcceptCompleted, mic: true}, "success"},
		// curl --negotiate: SPNEGO offering Kerberos only.
		{"http_negotiate_kerberos.pcap", frameHTTPF(t), 32, want{kind: KindInit, mechs: []Mech{MechKerberos}, inner: MechKerberos, negState: absent}, "Authorization"},
		{"http_negotiate_kerberos.pcap", frameHTTPF(t), 36, want{kind: KindResp, inner: MechKerberos, negState: AcceptCompleted, supported: MechKerberos}, "WWW-Authenticate"},
		// Windows 10 SMB server (no domain: NegoEx + NTLM), SMB2 on 445.
		{"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap", smb, 40, want{kind: KindInit, mechs: windows, inner: MechNegoEx, negState: absent}, "NEGOTIATE response with an optimistic NEGOEX token"},
		{"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap", smb, 43, want{kind: KindInit, mechs: ntlm, inner: MechNTLM, ntlmType: 1, negState: absent}, ""},
		{"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap", smb, 44, want{kind: KindResp, inner: MechNTLM, ntlmType: 2, negState: AcceptIncomplete, supported: MechNTLM}, ""},
		// The client states accept-incomplete with its AUTHENTICATE.
		{"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap", smb, 45, want{kind: KindResp, inner: MechNTLM, ntlmType: 3, negState: AcceptIncomplete, mic: true}, ""},
		{"public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap", smb, 100, want{kind: KindResp, negState: AcceptCompleted, mic: true}, ""},
	}
	for _, tc := range tests {
		rel := tc.pcap
		if !strings.HasPrefix(rel, "public/") {
			rel = realImpl + rel
		}
		name := fmt.Sprintf("%s/%d", strings.TrimSuffix(rel[strings.LastIndexByte(rel, '/')+1:], ".pcap"), tc.frame)
		t.Run(name, func(t *testing.T) {
			b, ok := tc.blobs(rel)[tc.frame]
			if !ok {
				t.Fatalf("no token at frame %d", tc.frame)
			}
			tok, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			check(t, tok, tc.want)
		})
	}
}

// Memoised extractors, so the table above reads each capture once per row
// without repeating the plumbing.
func frameLDAPF(t *testing.T) func(string) map[int][]byte {
	return func(rel string) map[int][]byte { return frameLDAP(t, rel) }
}

func frameHTTPF(t *testing.T) func(string) map[int][]byte {
	return func(rel string) map[int][]byte { return frameHTTP(t, rel) }
}

// The Kerberos tokens SPNEGO carries decode with the kerberos package.
func TestKerberosInside(t *testing.T) {
	smb := frameBlobs(t, realImpl+"smb2_kerberos_hostname.pcap")
	web := frameHTTP(t, realImpl+"http_negotiate_kerberos.pcap")
	for _, tc := range []struct {
		name        string
		blob        []byte
		typ         kerberos.MsgType
		sname       string
		ticketEtype int32
	}{
		{"smb2 AP-REQ", smb[48], kerberos.APReq, "cifs/dc1.lab.test", 18},
		{"smb2 AP-REP", smb[49], kerberos.APRep, "", 0},
		{"http AP-REQ", web[32], kerberos.APReq, "HTTP/web.lab.test", 23},
		{"http AP-REP", web[36], kerberos.APRep, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			inner := tok.MechToken
			if tok.Kind == KindResp {
				inner = tok.ResponseToken
			}
			m, err := kerberos.ParseGSS(inner)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != tc.typ || m.SName.String() != tc.sname || m.TicketEtype != tc.ticketEtype {
				t.Errorf("got %v %q ticket %d", m.Type, m.SName.String(), m.TicketEtype)
			}
			if tc.typ == kerberos.APReq && m.Realm != "LAB.TEST" {
				t.Errorf("realm %q", m.Realm)
			}
			// The mech token alone is a GSS token of the Kerberos mech.
			mt, err := Parse(inner)
			if err != nil || mt.Kind != KindMech || mt.Mech != MechKerberos || !bytes.HasPrefix(mt.MechToken, []byte{byte(tc.typ - 13), 0}) {
				t.Errorf("Parse(mech token) = %v %v, %v", mt.Kind, mt.Mech, err)
			}
			if g, err := kerberos.ParseGSS(mt.MechToken); err != nil || g != m {
				t.Errorf("ParseGSS(TOK_ID + PDU): %v", err)
			}
			// Stripped of its GSS framing it is a bare PDU, as Windows
			// servers send the AP-REP.
			raw := mt.MechToken[2:]
			rt, err := Parse(raw)
			if err != nil || rt.Kind != KindRawKerberos || rt.Mech != MechKerberos || len(rt.MechToken) != len(raw) || InnerMech(raw) != MechKerberos {
				t.Errorf("Parse(bare PDU) = %+v, %v", rt, err)
			}
		})
	}
}

// LDAP SASL GSSAPI (not GSS-SPNEGO) sends the krb5 GSS token itself.
func TestRawKinds(t *testing.T) {
	var sasl [][]byte
	for _, s := range pcaptest.Segments(t, realImpl+"ldap_sasl_gssapi_kerberos.pcap") {
		if b, ok := ldapSASL(s.Payload); ok && len(b) > 0 {
			sasl = append(sasl, b)
		}
	}
	if len(sasl) == 0 {
		t.Fatal("no SASL credentials")
	}
	tok, err := Parse(sasl[0])
	if err != nil || tok.Kind != KindMech || tok.Mech != MechKerberos || InnerMech(sasl[0]) != MechKerberos {
		t.Fatalf("SASL GSSAPI bind: %+v, %v", tok, err)
	}
	if m, err := kerberos.ParseGSS(tok.MechToken); err != nil || m.Type != kerberos.APReq || m.SName.String() != "ldap/dc1.lab.test" {
		t.Errorf("AP-REQ: %v %q, %v", m.Type, m.SName.String(), err)
	}

	// curl --ntlm: "Authorization: NTLM <base64>" is a bare NTLMSSP message.
	msgs := pcaptest.Find(t, realImpl+"http_ntlmv2_hostname.pcap", []byte("Authorization: NTLM "))
	if len(msgs) != 2 {
		t.Fatalf("%d NTLM headers", len(msgs))
	}
	for i, m := range msgs {
		line := m[len("Authorization: NTLM "):]
		line = line[:bytes.IndexByte(line, '\r')]
		raw, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Parse(raw)
		if err != nil || tok.Kind != KindRawNTLM || tok.Mech != MechNTLM || InnerMech(tok.MechToken) != MechNTLM ||
			tok.MechToken[8] != byte(1+2*i) || tok.NegState != NegStateAbsent {
			t.Errorf("NTLM header %d: %+v, %v", i, tok, err)
		}
	}
}

// Every SMB2 SESSION_SETUP blob of the public captures whose tshark dump
// shows NTLMSSP or Kerberos: Parse must accept it and InnerMech must find
// the mech tshark found (and, for NTLMSSP, the same message type).
func TestOracleSMB2(t *testing.T) {
	total, checked := 0, 0
	for _, rel := range publicWithSMB2Auth(t) {
		blobs := frameBlobs(t, rel)
		for _, r := range oracleRows(t, rel) {
			total++
			b, ok := blobs[r.frame]
			if !ok {
				continue // the blob spans segments, or the frame is not SMB2 over 445/139
			}
			tok, err := Parse(b)
			if err != nil {
				t.Errorf("%s frame %d: %v", rel, r.frame, err)
				continue
			}
			inner := tok.MechToken
			if tok.Kind == KindResp {
				inner = tok.ResponseToken
			}
			switch {
			case r.ntlmType != 0:
				if InnerMech(inner) != MechNTLM || int(inner[8]) != r.ntlmType {
					t.Errorf("%s frame %d: inner %v, tshark NTLMSSP type %d", rel, r.frame, InnerMech(inner), r.ntlmType)
					continue
				}
			case r.krbType != "":
				if InnerMech(inner) != MechKerberos {
					t.Errorf("%s frame %d: inner %v, tshark Kerberos %s", rel, r.frame, InnerMech(inner), r.krbType)
					continue
				}
			}
			checked++
		}
	}
	t.Logf("SMB2 session-setup tokens agreeing with tshark: %d of %d rows (the rest span TCP segments)", checked, total)
	if checked < 100 {
		t.Errorf("only %d tokens checked", checked)
	}
}

// TestParseErrors pins the sentinel for cut, lying and foreign input.
func TestParseErrors(t *testing.T) {
	blobs := frameBlobs(t, realImpl+"smb2_ntlmv2_hostname_signed.pcap")
	init2, resp := blobs[6], blobs[9]
	lying := slices.Clone(resp)
	lying[1] = 0x84 // 4-octet length: far past the end
	inner := slices.Clone(init2)
	inner[bytes.Index(inner, []byte("\x06\x06"+oidSPNEGO))+9] = 0x84 // [0] length: 4 octets, far past the GSS token
	badNeg := slices.Clone(resp)
	badNeg[bytes.Index(badNeg, []byte{0xa0, 0x03, 0x0a, 0x01})+4] = 0x80 // negState -128
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"one byte", init2[:1], ErrTruncated},
		{"cut GSS", init2[:len(init2)-1], ErrTruncated},
		{"cut resp", resp[:len(resp)-1], ErrTruncated},
		{"lying length", lying, ErrTruncated},
		{"inner overruns outer", inner, ErrMalformed},
		{"negState out of range", badNeg, ErrMalformed},
		{"indefinite length", []byte{0xa1, 0x80, 0x30, 0x00, 0x00, 0x00}, ErrMalformed},
		{"resp not a SEQUENCE", []byte{0xa1, 0x02, 0x04, 0x00}, ErrMalformed},
		{"GSS SPNEGO with [2]", []byte{0x60, 0x0a, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa2, 0x00}, ErrMalformed},
		{"GSS without OID", []byte{0x60, 0x02, 0x04, 0x00}, ErrMalformed},
		{"text", []byte("Negotiate"), ErrUnsupported},
		{"NTLMSSP prefix only", []byte("NTLMSSP"), ErrUnsupported},
		{"cut AP-REP", []byte{0x6f, 0x10, 0x30}, ErrTruncated},
	} {
		_, err := Parse(tc.b)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
}

// Every strict prefix of a real token is ErrTruncated and bytes after it
// change nothing.
func TestPrefixesAndTrailing(t *testing.T) {
	for frame, b := range frameBlobs(t, realImpl+"smb2_ntlmv2_hostname_signed.pcap") {
		want, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < len(b); k++ {
			if _, err := Parse(b[:k]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("frame %d prefix %d: %v", frame, k, err)
			}
		}
		got, err := Parse(append(slices.Clone(b), 0xff, 0xff))
		if err != nil || !sameToken(got, want) {
			t.Errorf("frame %d with trailing bytes: %v", frame, err)
		}
	}
}

// Hand-made shapes the captures lack: non-minimal lengths, more than 8
// mechTypes, an unknown OID and member, NegTokenInit's RFC 4178 [3] MIC.
func TestLenientEncodings(t *testing.T) {
	oid := func(o string) []byte { return append([]byte{0x06, byte(len(o))}, o...) }
	var list []byte
	for _, o := range []string{oidNTLM, oidKerberos, "\x2a\x03", oidIAKerb, oidKerberosU2U, oidNegoEx, oidSPNEGO, oidMSKerberos, oidNTLM, oidNTLM} {
		list = append(list, oid(o)...)
	}
	body := append([]byte{0xa0, 0x81, byte(len(list) + 3), 0x30, 0x81, byte(len(list))}, list...)
	body = append(body, 0xa5, 0x02, 0x05, 0x00) // unknown member [5]
	body = append(body, 0xa3, 0x04, 0x04, 0x02, 0xde, 0xad)
	seq := append([]byte{0x30, 0x82, 0x00, byte(len(body))}, body...)
	tok, err := Parse(append([]byte{0xa0, 0x84, 0, 0, 0, byte(len(seq))}, seq...))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mech{MechNTLM, MechKerberos, MechUnknown, MechIAKerb, MechKerberosU2U, MechNegoEx, MechSPNEGO, MechMSKerberos}
	if !slices.Equal(tok.Mechs(), want) || tok.NumMechTypes != 8 || !tok.HasMechListMIC || tok.Kind != KindInit {
		t.Errorf("got %+v", tok)
	}
}

func TestInnerMech(t *testing.T) {
	for _, tc := range []struct {
		tok  []byte
		want Mech
	}{
		{nil, MechUnknown},
		{[]byte("NTLMSSP\x00\x01\x00\x00\x00"), MechNTLM},
		{[]byte("NEGOEXTS\x00\x00"), MechNegoEx},
		{[]byte("\x60\x82\x05\x71\x06\x09" + oidKerberos + "\x01\x00"), MechKerberos}, // header of a cut token
		{[]byte("\x60\x10\x06\x09" + oidMSKerberos), MechKerberos},
		{[]byte("\x60\x10\x06\x0a" + oidKerberosU2U), MechKerberosU2U},
		{[]byte("\x60\x10\x06\x06" + oidIAKerb + "\x05\x01"), MechIAKerb},       // IAKERB proxy
		{[]byte("\x60\x10\x06\x06" + oidIAKerb + "\x01\x00\x6e"), MechKerberos}, // IAKERB AP-REQ
		{[]byte("\x60\x10\x06\x09\x2a\x86"), MechUnknown},                       // OID cut
		{[]byte("\x60\x80\x06\x09" + oidKerberos), MechUnknown},
		{[]byte{0x6e, 0x82}, MechKerberos},
		{[]byte{0x7e, 0x81}, MechKerberos},
		{[]byte{0x02, 0x00, 0x6f}, MechKerberos},
		{[]byte{0x04, 0x00, 0x6f}, MechUnknown},
		{[]byte{0x30, 0x00}, MechUnknown},
	} {
		if got := InnerMech(tc.tok); got != tc.want {
			t.Errorf("InnerMech(% x) = %v, want %v", tc.tok, got, tc.want)
		}
	}
}

func TestStrings(t *testing.T) {
	for m, s := range map[Mech]string{MechKerberos: "kerberos", MechMSKerberos: "kerberos", MechKerberosU2U: "kerberos-u2u",
		MechNTLM: "ntlm", MechNegoEx: "negoex", MechIAKerb: "iakerb", MechSPNEGO: "spnego", MechUnknown: "unknown", 99: "unknown"} {
		if m.String() != s {
			t.Errorf("%d.String() = %q", m, m.String())
		}
	}
	for n, s := range map[NegState]string{NegStateAbsent: "absent", AcceptCompleted: "accept-completed",
		AcceptIncomplete: "accept-incomplete", Reject: "reject", RequestMIC: "request-mic", 9: "unknown"} {
		if n.String() != s {
			t.Errorf("%d.String() = %q", n, n.String())
		}
	}
	if KindInit.String() != "init" || KindRawKerberos.String() != "raw-kerberos" || TokenKind(0).String() != "unknown" {
		t.Error("TokenKind.String")
	}
}

// sameToken compares tokens by the bytes their slices hold.
func sameToken(a, b Token) bool {
	return a.Kind == b.Kind && a.MechTypes == b.MechTypes && a.NumMechTypes == b.NumMechTypes &&
		bytes.Equal(a.MechToken, b.MechToken) && a.NegState == b.NegState && a.SupportedMech == b.SupportedMech &&
		bytes.Equal(a.ResponseToken, b.ResponseToken) && a.HasMechListMIC == b.HasMechListMIC && a.Mech == b.Mech
}
