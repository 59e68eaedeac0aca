package ldap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// pdu is one LDAPMessage or SASL-wrapped PDU, reassembled per direction.
type pdu struct {
	frame   int // frame completing it
	fromCli bool
	wrapped bool
	raw     []byte
	msg     Message
}

// pdus reassembles each TCP direction of a capture on port 389 with
// MessageLength / SASLWrapped and parses every LDAPMessage.
func pdus(t *testing.T, rel string) []pdu {
	t.Helper()
	type key struct{ src, dst uint16 }
	bufs := map[key][]byte{}
	var out []pdu
	for _, s := range pcaptest.Segments(t, rel) {
		if s.UDP || (s.SrcPort != 389 && s.DstPort != 389) {
			continue
		}
		k := key{s.SrcPort, s.DstPort}
		buf := append(bufs[k], s.Payload...)
		for len(buf) > 0 {
			if n, ok := SASLWrapped(buf); ok {
				if n > len(buf) {
					break
				}
				out = append(out, pdu{frame: s.Frame, fromCli: s.DstPort == 389, wrapped: true, raw: buf[:n]})
				buf = buf[n:]
				continue
			}
			n, ok, err := MessageLength(buf)
			if err != nil {
				t.Fatalf("%s frame %d: MessageLength: %v", rel, s.Frame, err)
			}
			if !ok {
				break
			}
			m, err := Parse(buf[:n])
			if err != nil {
				t.Fatalf("%s frame %d: Parse: %v", rel, s.Frame, err)
			}
			out = append(out, pdu{frame: s.Frame, fromCli: s.DstPort == 389, raw: buf[:n], msg: m})
			buf = buf[n:]
		}
		bufs[k] = buf
	}
	return out
}

// ntlmType returns the MS-NLMP 2.2.1 MessageType of the NTLMSSP message
// inside b (raw or wrapped in SPNEGO), or 0.
func ntlmType(b []byte) uint32 {
	i := bytes.Index(b, []byte("NTLMSSP\x00"))
	if i < 0 || len(b) < i+12 {
		return 0
	}
	return binary.LittleEndian.Uint32(b[i+8:])
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// Facts from TRUTH.md and `tshark -Y ldap -T fields -e ldap.messageID
// -e ldap.protocolOp -e ldap.name -e ldap.authentication -e ldap.mechanism
// -e ldap.resultCode -e ldap.errorMessage -e ldap.sasl_buffer_length`.
func TestSimpleBind(t *testing.T) {
	tests := []struct {
		pcap   string
		ops    []Op
		result int
		diag   string
		data   uint32
	}{
		{"real-implementations/ldap_simple_bind_success.pcap",
			[]Op{0, 1, 3, 4, 19, 19, 19, 5, 2}, 0, "", 0},
		{"real-implementations/ldap_simple_bind_wrong_pw.pcap",
			[]Op{0, 1, 2}, 49, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1", 0x52e},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			got := pdus(t, tc.pcap)
			if len(got) != len(tc.ops) {
				t.Fatalf("%d messages, want %d", len(got), len(tc.ops))
			}
			for i, p := range got {
				if p.msg.Op != tc.ops[i] {
					t.Errorf("message %d: op %v, want %v", i, p.msg.Op, tc.ops[i])
				}
			}
			b := got[0].msg.Bind
			if got[0].msg.ID != 1 || b.Version != 3 || b.Name != "alice@lab.test" || b.Auth != AuthSimple ||
				!b.PasswordSent || b.Credentials != nil || b.SASLMechanism != "" {
				t.Errorf("bind %+v", got[0].msg)
			}
			r := got[1].msg.BindResp
			if got[1].msg.ID != 1 || r.ResultCode != tc.result || r.DiagnosticMessage != tc.diag || r.MatchedDN != "" {
				t.Errorf("bind response %+v", r)
			}
			if code, ok := DiagnosticDataCode(r.DiagnosticMessage); code != tc.data || ok != (tc.data != 0) {
				t.Errorf("data code %x %v", code, ok)
			}
			// The password must not be reachable from the result.
			if bytes.Contains([]byte(b.Name+b.SASLMechanism), []byte("Pass")) {
				t.Error("password leaked")
			}
		})
	}
}

func TestSPNEGONTLM(t *testing.T) {
	tests := []struct {
		pcap    string
		wrapped []int // SASL buffer lengths after the bind (tshark ldap.sasl_buffer_length)
		plain   []Op  // plain messages after the bind
	}{
		{"real-implementations/ldap_spnego_ntlm_sealed.pcap", []int{153, 264, 78, 96, 85, 243}, nil},
		{"real-implementations/ldap_spnego_ntlm_by_ip.pcap", []int{153, 264, 78, 96, 85, 243}, nil},
		{"real-implementations/ldap_spnego_ntlm_no_signseal.pcap", nil,
			[]Op{3, 4, 5, 3, 4, 5, 3, 4, 19, 19, 19, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			got := pdus(t, tc.pcap)
			// rootDSE search (id 1), then the SPNEGO/NTLM bind (ids 2, 3).
			if len(got) < 7 || got[0].msg.Op != OpSearchRequest || got[1].msg.Op != OpSearchResultEntry || got[2].msg.Op != OpSearchResultDone {
				t.Fatalf("prologue: %d pdus", len(got))
			}
			want := []struct {
				id     int64
				op     Op
				ntlm   uint32
				result int
			}{{2, OpBindRequest, 1, 0}, {2, OpBindResponse, 2, 14}, {3, OpBindRequest, 3, 0}, {3, OpBindResponse, 0, 0}}
			for i, w := range want {
				m := got[3+i].msg
				if m.ID != w.id || m.Op != w.op {
					t.Fatalf("bind step %d: id %d op %v", i, m.ID, m.Op)
				}
				var tok []byte
				if m.Op == OpBindRequest {
					if m.Bind.Auth != AuthSASL || m.Bind.SASLMechanism != "GSS-SPNEGO" || m.Bind.Name != "" || m.Bind.PasswordSent {
						t.Errorf("bind step %d: %+v", i, m.Bind)
					}
					tok = m.Bind.Credentials
				} else {
					if m.BindResp.ResultCode != w.result || ResultName(m.BindResp.ResultCode) != ResultName(w.result) {
						t.Errorf("bind step %d: result %d", i, m.BindResp.ResultCode)
					}
					tok = m.BindResp.ServerSASLCreds
					if len(tok) == 0 {
						t.Errorf("bind step %d: no serverSaslCreds", i)
					}
				}
				if typ := ntlmType(tok); typ != w.ntlm {
					t.Errorf("bind step %d: NTLM type %d, want %d", i, typ, w.ntlm)
				}
				if w.ntlm == 3 && !bytes.Contains(tok, utf16le("alice")) {
					t.Errorf("AUTHENTICATE lacks alice")
				}
			}
			rest := got[7:]
			if tc.wrapped != nil {
				if len(rest) != len(tc.wrapped) {
					t.Fatalf("%d PDUs after bind, want %d", len(rest), len(tc.wrapped))
				}
				for i, p := range rest {
					// MS-NLMP 2.2.2.9.1: the sealed message starts with the
					// NTLMSSP_MESSAGE_SIGNATURE, Version 1.
					if !p.wrapped || len(p.raw) != 4+tc.wrapped[i] || binary.LittleEndian.Uint32(p.raw[4:]) != 1 {
						t.Errorf("PDU %d: wrapped=%v len %d", i, p.wrapped, len(p.raw))
					}
					if _, _, err := MessageLength(p.raw); !errors.Is(err, ErrMalformed) {
						t.Errorf("PDU %d: MessageLength err %v", i, err)
					}
				}
				return
			}
			if len(rest) != len(tc.plain) {
				t.Fatalf("%d messages after bind, want %d", len(rest), len(tc.plain))
			}
			for i, p := range rest {
				if p.wrapped || p.msg.Op != tc.plain[i] {
					t.Errorf("message %d: wrapped=%v op %v", i, p.wrapped, p.msg.Op)
				}
				if _, ok := SASLWrapped(p.raw); ok {
					t.Errorf("message %d: plain LDAP taken as SASL-wrapped", i)
				}
			}
		})
	}
}

func TestSASLGSSAPIKerberos(t *testing.T) {
	got := pdus(t, "real-implementations/ldap_sasl_gssapi_kerberos.pcap")
	results := []int{14, 14, 0}
	if len(got) != 9 {
		t.Fatalf("%d pdus", len(got))
	}
	for i := 0; i < 3; i++ {
		req, resp := got[2*i].msg, got[2*i+1].msg
		if req.ID != int64(i+1) || req.Op != OpBindRequest || req.Bind.Auth != AuthSASL || req.Bind.SASLMechanism != "GSSAPI" {
			t.Errorf("round %d: %+v", i, req)
		}
		if resp.ID != int64(i+1) || resp.Op != OpBindResponse || resp.BindResp.ResultCode != results[i] {
			t.Errorf("round %d: %+v", i, resp)
		}
	}
	// RFC 4752 3.1: the first token is the GSS-API InitialContextToken
	// [APPLICATION 0] with the Kerberos OID 1.2.840.113554.1.2.2.
	if c := got[0].msg.Bind.Credentials; len(c) < 20 || c[0] != 0x60 ||
		!bytes.Contains(c[:20], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}) {
		t.Errorf("first GSSAPI token % x", c[:min(len(c), 20)])
	}
	// RFC 4121 4.2.6.2: sealed PDUs are Wrap tokens, TOK_ID 05 04.
	for i, l := range []int{129, 287, 67} {
		p := got[6+i]
		if !p.wrapped || len(p.raw) != 4+l || p.raw[4] != 0x05 || p.raw[5] != 0x04 {
			t.Errorf("PDU %d: wrapped=%v len=%d % x", i, p.wrapped, len(p.raw), p.raw[4:6])
		}
	}
}

func TestSicily(t *testing.T) {
	// python3-ldap3 Sicily against Samba: only the package discovery is sent
	// (30 0c 02 01 01 60 07 02 01 03 04 00 89 00); Samba drops the connection.
	got := pdus(t, "real-implementations/ldap3_sicily_ntlm_rejected.pcap")
	if len(got) != 1 {
		t.Fatalf("%d pdus", len(got))
	}
	if m := got[0].msg; m.ID != 1 || m.Op != OpBindRequest || m.Bind.Auth != AuthSicilyDiscovery ||
		m.Bind.Version != 3 || m.Bind.Name != "" || len(m.Bind.Credentials) != 0 {
		t.Errorf("%+v", m)
	}

	// zeek aduser1-ntlm.pcap: a Windows DC answering Sicily. The
	// SicilyBindResponse carries the CHALLENGE where matchedDN would be.
	got = pdus(t, "public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap")
	if len(got) < 4 {
		t.Fatalf("%d pdus", len(got))
	}
	neg, chal, auth, done := got[0].msg, got[1].msg, got[2].msg, got[3].msg
	if neg.Bind.Auth != AuthSicilyNegotiate || neg.Bind.Name != "User1" || ntlmType(neg.Bind.Credentials) != 1 ||
		!bytes.HasPrefix(neg.Bind.Credentials, []byte("NTLMSSP\x00")) {
		t.Errorf("negotiate %+v", neg.Bind)
	}
	if chal.ID != neg.ID || chal.BindResp.ResultCode != 0 || ntlmType(chal.BindResp.SicilyToken) != 2 ||
		chal.BindResp.MatchedDN != "" || !bytes.Contains(chal.BindResp.SicilyToken, utf16le("ADHACKING")) {
		t.Errorf("challenge %+v", chal.BindResp)
	}
	if auth.Bind.Auth != AuthSicilyResponse || auth.Bind.Name != "User1" || ntlmType(auth.Bind.Credentials) != 3 ||
		!bytes.Contains(auth.Bind.Credentials, utf16le("User1")) {
		t.Errorf("authenticate %+v", auth.Bind)
	}
	if done.ID != auth.ID || done.Op != OpBindResponse || done.BindResp.ResultCode != 0 || done.BindResp.SicilyToken != nil {
		t.Errorf("final %+v", done)
	}
}

// TestAgainstTshark compares every bind of the public LDAP captures with the
// oracle dump beside them (ldap.protocolOp, ldap.resultCode, ldap.name,
// ldap.mechanism columns of FILE.tshark.tsv).
func TestAgainstTshark(t *testing.T) {
	captures := []string{
		"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
		"public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap",
		"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap",
		"public/zeek/testing/btest/Traces/ldap/aduser1.pcap",
		"public/zeek/testing/btest/Traces/ldap/ctu-60387-63723-ldap.pcap",
		"public/zeek/testing/btest/Traces/ldap/ctu-sme-11-win7ad-1-ldap-tcp-50041.pcap",
		"public/zeek/testing/btest/Traces/ldap/krb5-sign-seal-01.pcap",
		"public/zeek/testing/btest/Traces/ldap/missing_krbtgt_ldap_request.pcapng",
		"public/zeek/testing/btest/Traces/ldap/missing_ldap_logs.pcapng",
		"public/zeek/testing/btest/Traces/ldap/modify-request.pcapng",
		"public/arkime/tests/pcap/ntlm_synthetic.pcap",
	}
	for _, rel := range captures {
		t.Run(rel, func(t *testing.T) {
			rows := tsharkBinds(t, rel)
			byFrame := map[int][]Message{}
			for _, p := range pdus(t, rel) {
				if !p.wrapped {
					byFrame[p.frame] = append(byFrame[p.frame], p.msg)
				}
			}
			if len(rows) == 0 {
				t.Fatal("no LDAP binds in the oracle")
			}
			for _, r := range rows {
				ms := byFrame[r.frame]
				if len(ms) != 1 {
					t.Fatalf("frame %d: %d messages", r.frame, len(ms))
				}
				m := ms[0]
				if strconv.Itoa(int(m.Op)) != r.op {
					t.Errorf("frame %d: op %d, tshark %s", r.frame, m.Op, r.op)
				}
				switch m.Op {
				case OpBindRequest:
					if m.Bind.Name != r.name || m.Bind.SASLMechanism != r.mech {
						t.Errorf("frame %d: name %q mech %q, tshark %q %q", r.frame, m.Bind.Name, m.Bind.SASLMechanism, r.name, r.mech)
					}
				case OpBindResponse:
					if strconv.Itoa(m.BindResp.ResultCode) != r.result {
						t.Errorf("frame %d: result %d, tshark %s", r.frame, m.BindResp.ResultCode, r.result)
					}
				}
			}
		})
	}
}

type bindRow struct {
	frame                  int
	op, result, name, mech string
}

func tsharkBinds(t *testing.T, rel string) []bindRow {
	raw, err := os.ReadFile(pcaptest.Path(rel + ".tshark.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	col := map[string]int{}
	for i, h := range strings.Split(lines[1], "\t") {
		col[h] = i
	}
	var rows []bindRow
	for _, l := range lines[2:] {
		f := strings.Split(l, "\t")
		if len(f) < len(col) || f[col["ldap.protocolOp"]] == "" {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		rows = append(rows, bindRow{n, f[col["ldap.protocolOp"]], f[col["ldap.resultCode"]], f[col["ldap.name"]], f[col["ldap.mechanism"]]})
	}
	return rows
}

func TestSASLNTLMAndSynthetic(t *testing.T) {
	// zeek sasl-ntlm.pcap: OpenLDAP with SASL NTLM (raw NTLMSSP, no SPNEGO).
	got := pdus(t, "public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap")
	r := got[1].msg.BindResp
	if r.ResultCode != 14 || r.DiagnosticMessage != "SASL(0): successful result: " || ntlmType(r.ServerSASLCreds) != 2 ||
		!bytes.HasPrefix(r.ServerSASLCreds, []byte("NTLMSSP\x00")) {
		t.Errorf("challenge %+v", r)
	}
	if c := got[2].msg.Bind.Credentials; ntlmType(c) != 3 || !bytes.Contains(c, utf16le("sasladmin@slapd.ldap")) || !bytes.Contains(c, utf16le("LOCALHOST")) {
		t.Errorf("authenticate % x", c[:min(16, len(c))])
	}
	if last := got[len(got)-1].msg; last.Op != OpUnbindRequest || last.ID != 4 {
		t.Errorf("last %+v", last)
	}

	// arkime ntlm_synthetic.pcap: Sicily negotiate/response, SASL NTLM, and a
	// simple bind answered 49 with a CHALLENGE in matchedDN.
	got = pdus(t, "public/arkime/tests/pcap/ntlm_synthetic.pcap")
	type w struct {
		auth   AuthKind
		ntlm   uint32
		result int
		diag   string
	}
	want := []w{
		{AuthSimple, 0, -1, ""}, {0, 0, 0, ""},
		{AuthSicilyNegotiate, 1, -1, ""}, {0, 0, 14, "continue"},
		{AuthSicilyResponse, 3, -1, ""}, {0, 0, 0, ""},
		{AuthSASL, 1, -1, ""}, {0, 2, 14, ""},
		{AuthSASL, 3, -1, ""}, {0, 0, 0, ""},
		{AuthSimple, 0, -1, ""}, {0, 2, 49, "see matchedDN"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d pdus", len(got))
	}
	for i, w := range want {
		m := got[i].msg
		if w.result < 0 {
			if m.Op != OpBindRequest || m.Bind.Auth != w.auth || ntlmType(m.Bind.Credentials) != w.ntlm {
				t.Errorf("%d: %+v", i, m.Bind)
			}
			continue
		}
		r := m.BindResp
		tok := r.ServerSASLCreds
		if r.SicilyToken != nil {
			tok = r.SicilyToken
		}
		if m.Op != OpBindResponse || r.ResultCode != w.result || r.DiagnosticMessage != w.diag || ntlmType(tok) != w.ntlm {
			t.Errorf("%d: %+v", i, r)
		}
	}
	if got[0].msg.Bind.PasswordSent || got[0].msg.Bind.Name != "cn=anon" {
		t.Errorf("anonymous simple bind %+v", got[0].msg.Bind)
	}
}

func TestInvalidCredentialsWindows(t *testing.T) {
	// zeek ldap_invalid_credentials.pcap: a password spray against a Windows
	// DC (4-octet BER lengths, 0x84), users as in the .tshark.tsv.
	users := []string{"Administrator", "DC01-ZION$", "DESKTOP-EVIL$", "DESKTOP-VICTIM$", "agent.smith", "mister.andersson"}
	got := pdus(t, "public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap")
	if len(got) != 49 {
		t.Fatalf("%d pdus", len(got))
	}
	for i := 0; i < 48; i += 4 {
		fail := got[i+3].msg
		if fail.ID != got[i].msg.ID+1 || fail.BindResp.ResultCode != 49 || ResultName(49) != "invalidCredentials" {
			t.Errorf("round %d: %+v", i/4, fail)
		}
		if code, ok := DiagnosticDataCode(fail.BindResp.DiagnosticMessage); !ok || code != 0x52e {
			t.Errorf("round %d: data %x", i/4, code)
		}
		if c := got[i+2].msg.Bind.Credentials; ntlmType(c) != 3 || !bytes.Contains(c, utf16le(users[i/4%6])) || !bytes.Contains(c, utf16le("DESKTOP-EVIL")) {
			t.Errorf("round %d: no AUTHENTICATE of %s", i/4, users[i/4%6])
		}
	}
}

func TestStartTLSAndEdges(t *testing.T) {
	// RFC 4511 4.14.1 StartTLS request and response, as OpenLDAP sends them
	// (built here: no capture in pcaps/ has StartTLS).
	req := []byte("\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + StartTLSOID)
	m, err := Parse(req)
	if err != nil || m.Op != OpExtendedRequest || m.ExtendedName != StartTLSOID {
		t.Fatalf("%+v %v", m, err)
	}
	resp := []byte("\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16" + StartTLSOID)
	if m, err := Parse(resp); err != nil || m.Op != OpExtendedResponse || m.ExtendedResult != 0 || m.ExtendedName != StartTLSOID {
		t.Fatalf("%+v %v", m, err)
	}

	simple := pcaptest.Find(t, "real-implementations/ldap_simple_bind_success.pcap", []byte("\x30\x25\x02\x01\x01\x60"))[0]
	n, ok, err := MessageLength(simple)
	if n != 0x27 || !ok || err != nil {
		t.Fatalf("MessageLength %d %v %v", n, ok, err)
	}
	for i := 0; i < n; i++ {
		if _, ok, err := MessageLength(simple[:i]); ok || err != nil {
			t.Fatalf("prefix %d: %v %v", i, ok, err)
		}
		if _, err := Parse(simple[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("Parse prefix %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		b   string
		err error
	}{
		{"\x16\x03\x01", ErrMalformed},            // TLS ClientHello
		{"\x30\x80\x02\x01\x01", ErrMalformed},    // indefinite length
		{"\x30\x84\x01\x00\x00\x01", ErrTooLarge}, // 16 MiB + 1
		{"\x30\x85\x00\x00\x00\x00\x05", ErrTooLarge},
		{"\x30\x05\x04\x01\x01\x42\x00", ErrMalformed}, // no messageID first
		{"\x30\x03\x02\x01\x01", ErrMalformed},         // too short to hold an op
	} {
		if _, _, err := MessageLength([]byte(tc.b)); !errors.Is(err, tc.err) {
			t.Errorf("MessageLength(% x): %v, want %v", tc.b, err, tc.err)
		}
	}
	// Malformed inner elements fail without panicking.
	for _, b := range []string{
		"\x30\x05\x02\x01\xff\x42\x00",                             // negative id
		"\x30\x05\x02\x01\x01\x82\x00",                             // protocolOp not APPLICATION
		"\x30\x0a\x02\x01\x01\x60\x05\x02\x01\x03\x04\x05",         // name overruns
		"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\xa0\x00", // constructed simple
		"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x87\x05", // serverSaslCreds overruns
		"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x00\x04\x00\x80\x00", // version 0
	} {
		if _, err := Parse([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(% x): %v", b, err)
		}
	}
	if m, err := Parse([]byte("\x30\x05\x02\x01\x07\x42\x00")); err != nil || m.Op != OpUnbindRequest || m.ID != 7 {
		t.Errorf("unbind %+v %v", m, err)
	}

	if _, ok := SASLWrapped([]byte{0, 0, 0}); ok {
		t.Error("SASLWrapped on 3 bytes")
	}
	if _, ok := SASLWrapped([]byte{0, 0, 0, 0}); ok {
		t.Error("SASLWrapped zero length")
	}
	if _, ok := SASLWrapped([]byte{1, 0, 0, 1}); ok {
		t.Error("SASLWrapped above MaxMessage")
	}
	for code, name := range map[int]string{0: "success", 7: "authMethodNotSupported", 8: "strongerAuthRequired",
		14: "saslBindInProgress", 48: "inappropriateAuthentication", 49: "invalidCredentials",
		50: "insufficientAccessRights", 53: "unwillingToPerform", 9: "resultCode 9", -1: "resultCode -1", 4096: "resultCode 4096"} {
		if got := ResultName(code); got != name {
			t.Errorf("ResultName(%d) = %q", code, got)
		}
	}
	if OpBindRequest.String() != "bindRequest" || Op(30).String() != "op30" {
		t.Error("Op.String")
	}
	for _, s := range []string{"", "data 52e", ", data ,", ", data 52e1x"} {
		if _, ok := DiagnosticDataCode(s); ok {
			t.Errorf("DiagnosticDataCode(%q) ok", s)
		}
	}
}
