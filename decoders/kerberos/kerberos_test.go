package kerberos

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/internal/pcaptest"
)

const realImpl = "real-implementations/"

// want is what a test pins of a decoded message; empty fields are not checked
// unless noted.
type want struct {
	typ          MsgType
	cname        string // Principal.String()
	crealm       string
	realm        string
	sname        string
	snameType    int32 // checked when sname is set
	etypes       []int32
	padata       []int32
	kdcOptions   uint32
	ticketEtype  int32 // checked (with HasTicket) when non-zero
	encPartEtype int32 // checked when non-zero
	errorCode    int32 // checked for KRB-ERROR
	stime        time.Time
	apOptions    uint32
}

func check(t *testing.T, m Message, w want) {
	t.Helper()
	if m.Type != w.typ {
		t.Errorf("Type = %v, want %v", m.Type, w.typ)
	}
	if got := m.CName.String(); got != w.cname {
		t.Errorf("CName = %q, want %q", got, w.cname)
	}
	if m.CRealm != w.crealm {
		t.Errorf("CRealm = %q, want %q", m.CRealm, w.crealm)
	}
	if m.Realm != w.realm {
		t.Errorf("Realm = %q, want %q", m.Realm, w.realm)
	}
	if got := m.SName.String(); got != w.sname {
		t.Errorf("SName = %q, want %q", got, w.sname)
	}
	if w.sname != "" && m.SName.NameType != w.snameType {
		t.Errorf("SName.NameType = %d, want %d", m.SName.NameType, w.snameType)
	}
	if got := m.Etypes[:m.NumEtypes]; !slices.Equal(got, w.etypes) && (len(got) != 0 || len(w.etypes) != 0) {
		t.Errorf("Etypes = %v, want %v", got, w.etypes)
	}
	if got := m.PAData[:m.NumPAData]; !slices.Equal(got, w.padata) && (len(got) != 0 || len(w.padata) != 0) {
		t.Errorf("PAData = %v, want %v", got, w.padata)
	}
	if m.KDCOptions != w.kdcOptions {
		t.Errorf("KDCOptions = %#08x, want %#08x", m.KDCOptions, w.kdcOptions)
	}
	if w.ticketEtype != 0 && (!m.HasTicket || m.TicketEtype != w.ticketEtype) {
		t.Errorf("ticket etype = %d (has %v), want %d", m.TicketEtype, m.HasTicket, w.ticketEtype)
	}
	if w.ticketEtype == 0 && m.HasTicket {
		t.Errorf("HasTicket set, ticket etype %d", m.TicketEtype)
	}
	if m.EncPartEtype != w.encPartEtype {
		t.Errorf("EncPartEtype = %d, want %d", m.EncPartEtype, w.encPartEtype)
	}
	if m.ErrorCode != w.errorCode {
		t.Errorf("ErrorCode = %d (%s), want %d (%s)", m.ErrorCode, ErrorName(m.ErrorCode), w.errorCode, ErrorName(w.errorCode))
	}
	if !m.STime.Equal(w.stime) {
		t.Errorf("STime = %v, want %v", m.STime, w.stime)
	}
	if m.APOptions != w.apOptions {
		t.Errorf("APOptions = %#08x, want %#08x", m.APOptions, w.apOptions)
	}
}

// MIT krb5 1.20 kinit/kvno against the Samba 4.17 KDC, values from TRUTH.md
// and tshark (see the tshark field list in TRUTH.md).
var (
	mitEtypes  = []int32{18, 17, 20, 19, 16, 23, 25, 26} // MIT default permitted_enctypes order
	principal1 = int32(1)                                // NT-PRINCIPAL: cnames, and MIT kvno's cifs/ SPNs
	srvInst    = int32(2)                                // NT-SRV-INST: krbtgt/REALM
	srvHst     = int32(3)                                // NT-SRV-HST: GSS host-based service HTTP@web.lab.test
)

func skew(s string) time.Time {
	tm, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return tm
}

func TestParseRealCaptures(t *testing.T) {
	tests := []struct {
		pcap  string
		frame int
		want  want
	}{
		// AS-REQ without pre-authentication: PA-PAC-REQUEST-ish 150/149 only.
		{"krb_as_tgs_aes_success.pcap", 4, want{typ: ASReq, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, etypes: mitEtypes, padata: []int32{150, 149}, kdcOptions: 0x00000010}},
		{"krb_as_tgs_aes_success.pcap", 6, want{typ: KRBError, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, errorCode: 25, stime: skew("2026-11-25 13:54:14")}},
		// Second AS-REQ with PA-ENC-TIMESTAMP (2).
		{"krb_as_tgs_aes_success.pcap", 14, want{typ: ASReq, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, etypes: mitEtypes, padata: []int32{2, 150, 149}, kdcOptions: 0x00000010}},
		{"krb_as_tgs_aes_success.pcap", 16, want{typ: ASRep, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, padata: []int32{19}, ticketEtype: 18, encPartEtype: 18}},
		// TGS-REQ: PA-TGS-REQ (1) carries the AES256 TGT, PA-FX-FAST (136).
		{"krb_as_tgs_aes_success.pcap", 24, want{typ: TGSReq, realm: "LAB.TEST", sname: "cifs/dc1.lab.test", snameType: principal1,
			etypes: mitEtypes, padata: []int32{1, 136}, kdcOptions: 0x00810000, ticketEtype: 18}},
		{"krb_as_tgs_aes_success.pcap", 26, want{typ: TGSRep, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "cifs/dc1.lab.test", snameType: principal1, padata: []int32{136}, ticketEtype: 18, encPartEtype: 18}},

		// RC4-only client: etype list [23], RC4 session keys, AES TGT.
		{"krb_rc4_only_client.pcap", 4, want{typ: ASReq, cname: "bob", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, etypes: []int32{23}, padata: []int32{150, 149}, kdcOptions: 0x00000010}},
		{"krb_rc4_only_client.pcap", 16, want{typ: ASRep, cname: "bob", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, ticketEtype: 18, encPartEtype: 23}},
		{"krb_rc4_only_client.pcap", 24, want{typ: TGSReq, realm: "LAB.TEST", sname: "cifs/dc1.lab.test", snameType: principal1,
			etypes: []int32{23}, padata: []int32{1, 136}, kdcOptions: 0x00810000, ticketEtype: 18}},
		{"krb_rc4_only_client.pcap", 26, want{typ: TGSRep, cname: "bob", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "cifs/dc1.lab.test", snameType: principal1, padata: []int32{136}, ticketEtype: 18, encPartEtype: 23}},

		// SPN is an IP address: KDC_ERR_S_PRINCIPAL_UNKNOWN naming it.
		{"krb_tgs_spn_is_ip.pcap", 24, want{typ: TGSReq, realm: "LAB.TEST", sname: "cifs/127.0.0.10", snameType: principal1,
			etypes: mitEtypes, padata: []int32{1, 136}, kdcOptions: 0x00810000, ticketEtype: 18}},
		{"krb_tgs_spn_is_ip.pcap", 26, want{typ: KRBError, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "cifs/127.0.0.10", snameType: principal1, errorCode: 7, stime: skew("2026-11-25 13:54:26")}},

		// Clock skew on the TGS exchange: Samba's minimal KRB-ERROR, literal
		// "<unspecified realm>" and an empty sname.
		{"krb_clock_skew_tgs.pcap", 26, want{typ: KRBError, realm: "<unspecified realm>", errorCode: 37,
			stime: skew("2026-11-25 13:54:32")}},
		{"krb_preauth_failed.pcap", 16, want{typ: KRBError, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, errorCode: 24, stime: skew("2026-11-25 13:54:17")}},
		{"krb_unknown_client.pcap", 6, want{typ: KRBError, cname: "nosuchuser", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "krbtgt/LAB.TEST", snameType: srvInst, errorCode: 6, stime: skew("2026-11-25 13:54:20")}},

		// The KDC issues an RC4 service ticket for HTTP/web.lab.test although
		// the client asked for AES: ticket 23, reply key 18.
		{"http_negotiate_kerberos.pcap", 29, want{typ: TGSRep, cname: "alice", crealm: "LAB.TEST", realm: "LAB.TEST",
			sname: "HTTP/web.lab.test", snameType: srvHst, padata: []int32{136}, ticketEtype: 23, encPartEtype: 18}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", strings.TrimSuffix(tc.pcap, ".pcap"), tc.frame), func(t *testing.T) {
			b := pduAt(t, realImpl+tc.pcap, tc.frame)
			m, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			check(t, m, tc.want)
			if m.CName.NumParts > 0 && m.CName.NameType != principal1 {
				t.Errorf("cname type %d", m.CName.NameType)
			}
			// A bare PDU is accepted by ParseGSS too, with the same result.
			g, err := ParseGSS(b)
			if err != nil || g != m {
				t.Errorf("ParseGSS(bare) = %+v, %v", g, err)
			}
		})
	}
}

// The AS-REQ of krb_as_tgs_aes_success asks for a ticket valid until the
// far-future "till" MIT sends by default.
func TestParseTimes(t *testing.T) {
	m, err := Parse(pduAt(t, realImpl+"krb_as_tgs_aes_success.pcap", 4))
	if err != nil {
		t.Fatal(err)
	}
	if !m.From.IsZero() || m.Till.IsZero() {
		t.Errorf("From = %v, Till = %v", m.From, m.Till)
	}
	e, err := Parse(pduAt(t, realImpl+"krb_as_tgs_aes_success.pcap", 6))
	if err != nil {
		t.Fatal(err)
	}
	if !e.CTime.IsZero() {
		t.Errorf("CTime = %v, want absent", e.CTime)
	}
}

// AP-REQ / AP-REP inside GSS-API framing: SMB2 SESSION_SETUP (SPNEGO
// mechToken) and HTTP Negotiate.
func TestParseGSSRealCaptures(t *testing.T) {
	t.Run("smb2_kerberos_hostname/AP-REQ", func(t *testing.T) {
		toks := gssTokens(t, payloadsWith(t, realImpl+"smb2_kerberos_hostname.pcap", gssKRB5APReq), gssKRB5APReq)
		if len(toks) != 1 {
			t.Fatalf("%d AP-REQ tokens, want 1", len(toks))
		}
		m, err := ParseGSS(toks[0])
		if err != nil {
			t.Fatal(err)
		}
		// smbclient sets mutual-required (0x20000000).
		check(t, m, want{typ: APReq, realm: "LAB.TEST", sname: "cifs/dc1.lab.test", snameType: principal1,
			ticketEtype: 18, encPartEtype: 18, apOptions: 0x20000000})
		// The inner token alone (TOK_ID + PDU) decodes the same.
		inner := toks[0][bytesIndex(toks[0], gssKRB5APReq)+len(gssKRB5APReq)-2:]
		if g, err := ParseGSS(inner); err != nil || g != m {
			t.Errorf("ParseGSS(TOK_ID+PDU) = %+v, %v", g, err)
		}
	})
	t.Run("smb2_kerberos_hostname/AP-REP", func(t *testing.T) {
		toks := gssTokens(t, payloadsWith(t, realImpl+"smb2_kerberos_hostname.pcap", gssKRB5APRep), gssKRB5APRep)
		if len(toks) != 1 {
			t.Fatalf("%d AP-REP tokens, want 1", len(toks))
		}
		m, err := ParseGSS(toks[0])
		if err != nil {
			t.Fatal(err)
		}
		check(t, m, want{typ: APRep, encPartEtype: 18})
	})
	t.Run("http_negotiate_kerberos", func(t *testing.T) {
		neg := httpNegotiate(t, realImpl+"http_negotiate_kerberos.pcap")
		if len(neg) != 2 {
			t.Fatalf("%d Negotiate headers, want 2", len(neg))
		}
		req := gssTokens(t, neg[:1], gssKRB5APReq)
		rep := gssTokens(t, neg[1:], gssKRB5APRep)
		if len(req) != 1 || len(rep) != 1 {
			t.Fatalf("tokens: %d AP-REQ, %d AP-REP", len(req), len(rep))
		}
		m, err := ParseGSS(req[0])
		if err != nil {
			t.Fatal(err)
		}
		// RC4 service ticket, AES256 authenticator (TRUTH.md: RC4 ticket flag).
		check(t, m, want{typ: APReq, realm: "LAB.TEST", sname: "HTTP/web.lab.test", snameType: srvHst,
			ticketEtype: 23, encPartEtype: 18, apOptions: 0x20000000})
		r, err := ParseGSS(rep[0])
		if err != nil {
			t.Fatal(err)
		}
		check(t, r, want{typ: APRep, encPartEtype: 18})
	})
}

// TestOracle compares every port-88 message of public captures with the
// tshark dump beside them: msg_type, cname, crealm, realm, sname, error_code.
// Where this package and tshark rightly differ, the difference is pinned in
// divergent instead.
func TestOracle(t *testing.T) {
	divergent := map[string]map[int]func(*testing.T, Message, error){
		"arkime_synthetic.pcap": {
			// A synthetic AS-REQ whose APPLICATION length (32) exceeds the
			// 32-byte datagram: tshark shows the fragment, we say truncated
			// but still name the message.
			298: func(t *testing.T, m Message, err error) {
				if !errors.Is(err, ErrTruncated) || m.Type != ASReq {
					t.Errorf("frame 298: %v, %v; want AS-REQ, ErrTruncated", m.Type, err)
				}
			},
			// A synthetic KRB-ERROR without the mandatory stime/susec: tshark's
			// strict SEQUENCE walk gives up, the tolerant one keeps the rest.
			559: func(t *testing.T, m Message, err error) {
				if err != nil || m.ErrorCode != 6 || m.Realm != "EXAMPLE.COM" || m.SName.String() != "krbtgt/EXAMPLE.COM" || !m.STime.IsZero() {
					t.Errorf("frame 559: %+v, %v", m, err)
				}
			},
		},
	}
	for _, rel := range []string{
		"public/zeek/testing/btest/Traces/krb/kinit.pcap",
		"public/zeek/testing/btest/Traces/krb/auth.pcap",
		"public/zeek/testing/btest/Traces/krb/optional-service-name.pcap",
		"public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng",
		"public/zeek/testing/btest/Traces/ldap/aduser1.pcap",
		"public/arkime/tests/pcap/krb5-udp.pcap",
		"public/arkime/tests/pcap/krb5-tcp.pcap",
		"public/arkime/tests/pcap/arkime_synthetic.pcap",
		"public/suricata-verify/tests/krb5-kerberoasting/kerberoast.pcap",
		"public/suricata-verify/tests/krb5-krb5_msg_type/input.pcap",
		"public/suricata-verify/tests/krb5-probing/krb.pcap",
		"public/suricata-verify/tests/krb5-request-frag-log/krb5-frag.pcap",
		"public/suricata-verify/tests/bug-8278-krb5-01/evasion.1.flow.1.segment.pcap",
		"public/suricata-verify/tests/bug-8278-krb5-02/evasion.1.flow.2.segments.pcap",
		"public/suricata-verify/tests/bug-8278-krb5-03/baseline.2.flows.pcap",
		"public/suricata-verify/tests/dcerpc/dcerpc-ctxids/input.pcap",
	} {
		name := rel[strings.LastIndexByte(rel, '/')+1:]
		t.Run(name, func(t *testing.T) {
			byFrame := map[int][][]byte{}
			npdu := 0
			for _, p := range portPDUs(t, rel) {
				byFrame[p.frame] = append(byFrame[p.frame], p.b)
				npdu++
			}
			total, ok, div := 0, 0, 0
			for _, r := range oracle(t, rel) {
				if !r.port88 {
					continue
				}
				total++
				pdus := byFrame[r.frame]
				if len(pdus) == 0 {
					t.Errorf("frame %d: no PDU reassembled (tshark: msg_type %s)", r.frame, r.msgType)
					continue
				}
				m, err := Parse(pdus[0])
				if f := divergent[name][r.frame]; f != nil {
					f(t, m, err)
					div++
					continue
				}
				if err != nil {
					t.Errorf("frame %d: %v", r.frame, err)
					continue
				}
				if len(pdus) > 1 {
					// Several records in one segment: tshark joins their fields,
					// so check each decodes and the first has the first type.
					for _, b := range pdus[1:] {
						if _, err := Parse(b); err != nil {
							t.Errorf("frame %d: %v", r.frame, err)
						}
					}
					if fmt.Sprint(int(m.Type)) != r.msgType {
						t.Errorf("frame %d: msg_type %d, tshark %s", r.frame, m.Type, r.msgType)
						continue
					}
				} else if diff := compareOracle(m, r); diff != "" {
					t.Errorf("frame %d: %s", r.frame, diff)
					continue
				}
				ok++
			}
			t.Logf("%s: %d/%d messages agree with tshark, %d pinned divergences (%d PDUs reassembled)", rel, ok, total, div, npdu)
			if total == 0 {
				t.Fatal("no Kerberos rows in the oracle")
			}
		})
	}
}

func compareOracle(m Message, r oracleRow) string {
	var d []string
	if got := fmt.Sprint(int(m.Type)); got != r.msgType {
		d = append(d, fmt.Sprintf("msg_type %s, tshark %s", got, r.msgType))
	}
	if got := joinParts(m.CName); got != r.cname {
		d = append(d, fmt.Sprintf("cname %q, tshark %q", got, r.cname))
	}
	if (m.Type == ASRep || m.Type == TGSRep || m.Type == KRBError) && m.CRealm != r.crealm {
		d = append(d, fmt.Sprintf("crealm %q, tshark %q", m.CRealm, r.crealm))
	}
	// tshark lists every realm of the PDU; the one this package reports is
	// the last (req-body after the PA-TGS-REQ ticket).
	if m.Realm != lastOf(r.realm) {
		d = append(d, fmt.Sprintf("realm %q, tshark %q", m.Realm, r.realm))
	}
	if got := joinParts(m.SName); !strings.HasSuffix(r.sname, got) || (got == "") != (r.sname == "") ||
		len(got) < len(r.sname) && r.sname[len(r.sname)-len(got)-1] != ',' {
		d = append(d, fmt.Sprintf("sname %q, tshark %q", got, r.sname))
	}
	if m.Type == KRBError && fmt.Sprint(m.ErrorCode) != r.errorCode {
		d = append(d, fmt.Sprintf("error_code %d, tshark %s", m.ErrorCode, r.errorCode))
	}
	return strings.Join(d, "; ")
}

func TestTCPRecordLength(t *testing.T) {
	// The KRB-ERROR of krb_clock_skew_tgs frame 26: record mark 81.
	seg := pcapSegment(t, realImpl+"krb_clock_skew_tgs.pcap", 26)
	if n, ok := TCPRecordLength(seg); !ok || n != 81 || len(seg) != 85 {
		t.Fatalf("TCPRecordLength = %d, %v (segment %d bytes)", n, ok, len(seg))
	}
	for _, tc := range []struct {
		b  []byte
		n  int
		ok bool
	}{
		{nil, 0, false},
		{[]byte{0, 0, 1}, 0, false},
		{[]byte{0, 0, 0, 0}, 0, false},
		{[]byte{0x80, 0, 0, 5}, 0, false},
		{[]byte{0x7f, 0xff, 0xff, 0xff}, 0x7fffffff, true},
	} {
		if n, ok := TCPRecordLength(tc.b); n != tc.n || ok != tc.ok {
			t.Errorf("TCPRecordLength(% x) = %d, %v", tc.b, n, ok)
		}
	}
}

func TestNames(t *testing.T) {
	for code, name := range map[int32]string{
		6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 13: "KDC_ERR_BADOPTION",
		14: "KDC_ERR_ETYPE_NOSUPP", 18: "KDC_ERR_CLIENT_REVOKED", 23: "KDC_ERR_KEY_EXPIRED",
		24: "KDC_ERR_PREAUTH_FAILED", 25: "KDC_ERR_PREAUTH_REQUIRED", 31: "KRB_AP_ERR_BAD_INTEGRITY",
		32: "KRB_AP_ERR_TKT_EXPIRED", 37: "KRB_AP_ERR_SKEW", 41: "KRB_AP_ERR_MODIFIED",
		52: "KRB_ERR_RESPONSE_TOO_BIG", 60: "KRB_ERR_GENERIC", 68: "KDC_ERR_WRONG_REALM",
		30: "KRB_ERR_30", 43: "KRB_ERR_43", -1: "KRB_ERR_-1", 1000: "KRB_ERR_1000",
	} {
		if got := ErrorName(code); got != name {
			t.Errorf("ErrorName(%d) = %q, want %q", code, got, name)
		}
	}
	for e, name := range map[int32]string{
		1: "des-cbc-crc", 3: "des-cbc-md5", 17: "aes128-cts-hmac-sha1-96", 18: "aes256-cts-hmac-sha1-96",
		19: "aes128-cts-hmac-sha256-128", 20: "aes256-cts-hmac-sha384-192", 23: "rc4-hmac", 24: "rc4-hmac-exp",
		-133: "rc4-hmac-old", 99: "etype-99",
	} {
		if got := EtypeName(e); got != name {
			t.Errorf("EtypeName(%d) = %q, want %q", e, got, name)
		}
	}
	if APReq.String() != "AP-REQ" || KRBError.String() != "KRB-ERROR" || MsgType(3).String() != "MsgType(3)" {
		t.Error("MsgType.String")
	}
}

// Truncation, lying lengths and wrong framing give the right sentinel.
func TestParseErrors(t *testing.T) {
	asReq := pduAt(t, realImpl+"krb_as_tgs_aes_success.pcap", 4)
	apReq := gssTokens(t, payloadsWith(t, realImpl+"smb2_kerberos_hostname.pcap", gssKRB5APReq), gssKRB5APReq)[0]
	lying := slices.Clone(asReq)
	lying[2], lying[3] = 0xff, 0xff // outer length 0xffff: more than there is
	inner := slices.Clone(asReq)
	inner[5] = 0x84 // SEQUENCE length 4-octet: runs past the APPLICATION element
	wrongType := slices.Clone(asReq)
	wrongType[0] = 0x6c // APPLICATION 12 (TGS-REQ) around an AS-REQ msg-type
	tokID := slices.Clone(apReq)
	tokID[bytesIndex(tokID, gssKRB5APReq)+len(gssKRB5APReq)-2] = 2 // TOK_ID AP-REP on an AP-REQ
	for _, tc := range []struct {
		name string
		b    []byte
		gss  bool
		err  error
	}{
		{"empty", nil, false, ErrTruncated},
		{"one byte", asReq[:1], false, ErrTruncated},
		{"cut", asReq[:len(asReq)-1], false, ErrTruncated},
		{"lying outer length", lying, false, ErrTruncated},
		{"inner overruns outer", inner, false, ErrMalformed},
		{"msg-type disagrees", wrongType, false, ErrMalformed},
		{"indefinite length", []byte{0x6a, 0x80, 0x30, 0x00, 0x00, 0x00}, false, ErrMalformed},
		{"APPLICATION high tag number", []byte{0x7f, 0x81, 0x00, 0x00}, false, ErrUnsupported},
		{"member with high tag number", []byte{0x6a, 0x06, 0x30, 0x04, 0xbf, 0x81, 0x00, 0x00}, false, ErrMalformed},
		{"universal SEQUENCE", []byte{0x30, 0x00}, false, ErrUnsupported},
		{"APPLICATION 2", []byte{0x62, 0x00}, false, ErrUnsupported},
		{"KRB-PRIV", []byte{0x75, 0x02, 0x30, 0x00}, false, ErrUnsupported},
		{"AS-REQ without body", []byte{0x6a, 0x02, 0x30, 0x00}, false, ErrMalformed},
		{"gss cut", apReq[:100], true, ErrTruncated},
		{"gss TOK_ID mismatch", tokID, true, ErrMalformed},
		{"gss other mech", []byte{0x60, 0x08, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}, true, ErrUnsupported},
	} {
		var err error
		if tc.gss {
			_, err = ParseGSS(tc.b)
		} else {
			_, err = Parse(tc.b)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	// The type of a recognised but undecoded message is still reported.
	if m, _ := Parse([]byte{0x75, 0x02, 0x30, 0x00}); m.Type != KRBPriv {
		t.Errorf("KRB-PRIV Type = %v", m.Type)
	}
}

// Every strict prefix of a real PDU is ErrTruncated (what a TCP reassembler
// relies on), and bytes after it are ignored.
func TestPrefixesAndTrailing(t *testing.T) {
	for _, p := range portPDUs(t, realImpl+"krb_as_tgs_aes_success.pcap") {
		want, err := Parse(p.b)
		if err != nil {
			t.Fatalf("frame %d: %v", p.frame, err)
		}
		for k := 0; k < len(p.b); k++ {
			if _, err := Parse(p.b[:k]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("frame %d prefix %d: err = %v", p.frame, k, err)
			}
		}
		got, err := Parse(append(slices.Clone(p.b), 0, 0, 0, 0))
		if err != nil || got != want {
			t.Errorf("frame %d with trailing bytes: %v", p.frame, err)
		}
	}
}

// Hand-made encodings the captures do not show: non-minimal BER lengths,
// a fractional KerberosTime, a 5-part principal.
func TestLenientEncodings(t *testing.T) {
	// KRB-ERROR { [1] 30, [4] stime with fraction, [6] 60, [9] "R",
	// [10] { [0] 2, [1] {a b c d e} } } with a 0x81-form outer length.
	body := []byte{
		0xa1, 0x03, 0x02, 0x01, 0x1e,
		0xa4, 0x15, 0x18, 0x13, '2', '0', '2', '4', '0', '2', '2', '9', '2', '3', '5', '9', '5', '9', '.', '1', '2', '3', 'Z',
		0xa6, 0x03, 0x02, 0x01, 0x3c,
		0xa9, 0x03, 0x1b, 0x01, 'R',
		0xaa, 0x1a, 0x30, 0x18, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x11, 0x30, 0x0f,
		0x1b, 0x01, 'a', 0x1b, 0x01, 'b', 0x1b, 0x01, 'c', 0x1b, 0x01, 'd', 0x1b, 0x01, 'e',
		0xbe, 0x02, 0x05, 0x00, // unknown member [30]: skipped
	}
	seq := append([]byte{0x30, 0x82, 0x00, byte(len(body))}, body...)
	pdu := append([]byte{0x7e, 0x81, byte(len(seq))}, seq...)
	m, err := Parse(pdu)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != KRBError || m.ErrorCode != 60 || m.Realm != "R" || m.SName.NumParts != 4 || m.SName.String() != "a/b/c/d" {
		t.Errorf("got %+v", m)
	}
	if want := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC); !m.STime.Equal(want) {
		t.Errorf("STime = %v, want %v", m.STime, want)
	}
}

func TestPrincipalString(t *testing.T) {
	for _, tc := range []struct {
		p    Principal
		want string
	}{
		{Principal{}, ""},
		{Principal{Parts: [4]string{"alice"}, NumParts: 1}, "alice"},
		{Principal{Parts: [4]string{"cifs", "dc1.lab.test"}, NumParts: 2}, "cifs/dc1.lab.test"},
		{Principal{Parts: [4]string{"a", "b", "c", "d"}, NumParts: 9}, "a/b/c/d"},
		{Principal{NumParts: -1}, ""},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q", tc.p, got)
		}
	}
}

// TestOracleGSS finds the AP-REQ/AP-REP that tshark decodes inside SMB,
// LDAP, DCE/RPC and DNS TKEY traffic (Windows and Samba peers) and compares
// them through ParseGSS: GSS-wrapped (0x60 krb5-OID TOK_ID) or, as Windows
// servers send the AP-REP, bare.
func TestOracleGSS(t *testing.T) {
	for _, rel := range []string{
		"public/zeek/testing/btest/Traces/krb/smb2_krb.pcap",
		"public/zeek/testing/btest/Traces/krb/smb_gssapi.pcap",
		"public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng",
		"public/zeek/testing/btest/Traces/dce-rpc/kerberos445_auth.pcapng",
		"public/zeek/testing/btest/Traces/dce-rpc/kerberos135_auth.pcapng",
		"public/zeek/testing/btest/Traces/dce-rpc/cs_window7-join_stream092.pcap",
		"public/zeek/testing/btest/Traces/ldap/krb5-sign-seal-01.pcap",
		"public/zeek/testing/btest/Traces/ldap/aduser1.pcap",
		"public/zeek/testing/btest/Traces/dns/tkey.pcap",
		"public/suricata-verify/tests/smb2-07/20171220_smb_psexec_add_user.pcap",
		"public/suricata-verify/tests/smb-length-5786/input.pcap", // macOS: IAKERB OID around AP-REQ/AP-REP
		"public/suricata-verify/tests/dcerpc/dcerpc-ctxids/input.pcap",
	} {
		t.Run(rel[strings.LastIndexByte(rel, '/')+1:], func(t *testing.T) {
			// The bytes of each frame's direction up to and including it (the
			// last 8 segments): large AP-REQs span several.
			type flow struct{ src, dst uint16 }
			seen := map[flow][][]byte{}
			payload := map[int][]byte{}
			for _, s := range pcaptest.Segments(t, rel) {
				f := flow{s.SrcPort, s.DstPort}
				seen[f] = append(seen[f], s.Payload)
				if n := len(seen[f]); n > 8 {
					seen[f] = seen[f][n-8:]
				}
				payload[s.Frame] = slices.Concat(seen[f]...)
			}
			total, located := 0, 0
			for _, r := range oracle(t, rel) {
				if r.port88 {
					continue
				}
				total++
				m, found := findGSS(payload[r.frame], r.msgType)
				if !found {
					t.Errorf("frame %d: msg_type %s not located", r.frame, r.msgType)
					continue
				}
				located++
				if m.Type == APReq {
					if m.Realm != lastOf(r.realm) || joinParts(m.SName) != r.sname || !m.HasTicket {
						t.Errorf("frame %d: realm %q sname %q, tshark %q %q", r.frame, m.Realm, joinParts(m.SName), r.realm, r.sname)
					}
				}
			}
			t.Logf("%s: %d/%d GSS messages located and agreeing", rel, located, total)
		})
	}
}

// findGSS tries ParseGSS at every plausible start in p and returns the last
// message of the wanted type: p ends with the frame tshark decoded it in, and
// earlier segments may hold other tokens (an IAKERB proxy TGS-REQ carries an
// AP-REQ for krbtgt in its padata).
func findGSS(p []byte, msgType string) (Message, bool) {
	var last Message
	found := false
	for i, c := range p {
		if c != 0x60 && c != 0x6e && c != 0x6f && c != 0x7e {
			continue
		}
		if m, err := ParseGSS(p[i:]); err == nil && fmt.Sprint(int(m.Type)) == msgType {
			last, found = m, true
		}
	}
	return last, found
}
