package dcerpc

import (
	"bytes"
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// Captures; expected values come from their FILE.tshark.tsv, TRUTH.md or
// `tshark -Y dcerpc -e dcerpc.*`.
const (
	tcpNTLM   = "real-implementations/dcerpc_tcp_ntlmssp_sign.pcap"
	smbPipe   = "real-implementations/dcerpc_smb_pipe_rpcclient.pcap"
	zeekNTLM  = "public/zeek/testing/btest/Traces/dce-rpc/dce_rpc_ntlm.pcapng"
	auth3     = "public/suricata-verify/tests/dcerpc/dcerpc-auth3-5133/input.pcap"
	mapi      = "public/zeek/testing/btest/Traces/dce-rpc/mapi.pcap"
	kerberos  = "public/zeek/testing/btest/Traces/dce-rpc/cs_window7-join_stream092.pcap"
	emptyAV   = "public/zeek/testing/btest/Traces/dce-rpc/ntlm-empty-av-sequence.pcap"
	gap       = "public/suricata-verify/tests/dcerpc/dce-gap-handling/input.pcap"
	noFragFlg = "public/suricata-verify/tests/dcerpc/dcerpc-bind-no-frag-flag/input.pcap"
)

// framePDU returns the first PDU of type typ in the given frames' payloads
// (concatenated, for a PDU spanning segments), found by scanning: over SMB
// the PDU follows the SMB header.
func framePDU(tb testing.TB, rel string, typ PacketType, frames ...int) []byte {
	tb.Helper()
	var p []byte
	for _, s := range pcaptest.Segments(tb, rel) {
		for _, f := range frames {
			if s.Frame == f {
				p = append(p, s.Payload...)
			}
		}
	}
	for i := range p {
		if LooksLikePDU(p[i:]) && PacketType(p[i+2]) == typ {
			return p[i:]
		}
	}
	tb.Fatalf("%s frames %v: no %v PDU", rel, frames, typ)
	return nil
}

// trailer is an expected sec_trailer; zero Type means no auth.
type trailer struct {
	Type, Level, Pad uint8
	Ctx              uint32
}

var (
	ntlmssp     = []byte("NTLMSSP\x00")
	spnegoOID   = []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}       // 1.3.6.1.5.5.2
	kerberosOID = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02} // 1.2.840.113554.1.2.2
	utf16       = func(s string) []byte {
		var b []byte
		for _, c := range []byte(s) {
			b = append(b, c, 0)
		}
		return b
	}
	samrWireOrder  = [16]byte{0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xac}
	samrRFC4122    = [16]byte{0x12, 0x34, 0x57, 0x78, 0x12, 0x34, 0xab, 0xcd, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xac}
	epmapperRFC412 = [16]byte{0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}
)

func TestRealPDUs(t *testing.T) {
	tests := []struct {
		name    string
		capture string
		frames  []int
		typ     PacketType
		flags   uint8
		frag    uint16
		authLen uint16
		callID  uint32
		auth    trailer
		// value checks: message type byte after "NTLMSSP\0", or byte strings it holds
		ntlmType byte
		has      [][]byte
		// body checks (zero = not checked)
		iface       string
		ifaceVer    uint16
		contexts    int
		maxXmit     uint16
		maxRecv     uint16
		assoc       uint32
		secAddr     string
		results     int
		faultStatus uint32
	}{
		// Samba rpcclient over ncacn_ip_tcp: epmapper on 135, then samr on
		// 49154 with NTLMSSP at PKT_INTEGRITY (5; TRUTH.md: auth_type=10 auth_level=5).
		{name: "epm bind", capture: tcpNTLM, frames: []int{4}, typ: TypeBind, flags: 0x03, frag: 72, callID: 1,
			iface: "epmapper", ifaceVer: 3, contexts: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "epm bind_ack", capture: tcpNTLM, frames: []int{6}, typ: TypeBindAck, flags: 0x03, frag: 60, callID: 1,
			maxXmit: 4280, maxRecv: 4280, assoc: 0x982e, secAddr: "135", results: 1},
		{name: "samr bind ntlm negotiate", capture: tcpNTLM, frames: []int{16}, typ: TypeBind, flags: 0x07, frag: 120, authLen: 40, callID: 3,
			auth: trailer{10, 5, 0, 1}, ntlmType: 1, iface: "samr", ifaceVer: 1, contexts: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "samr bind_ack ntlm challenge", capture: tcpNTLM, frames: []int{18}, typ: TypeBindAck, flags: 0x07, frag: 214, authLen: 146, callID: 3,
			auth: trailer{10, 5, 0, 1}, ntlmType: 2, assoc: 0xb8a6, secAddr: "49154", results: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "samr auth3 alice", capture: tcpNTLM, frames: []int{20}, typ: TypeAuth3, flags: 0x03, frag: 428, authLen: 400, callID: 3,
			auth: trailer{10, 5, 0, 1}, ntlmType: 3, has: [][]byte{utf16("alice"), utf16("LAB"), utf16("WKS01")}},
		{name: "samr signed response", capture: tcpNTLM, frames: []int{23}, typ: TypeResponse, flags: 0x03, frag: 96, authLen: 16, callID: 4,
			auth: trailer{10, 5, 8, 1}, has: [][]byte{{1, 0, 0, 0}}}, // NTLMSSP_MESSAGE_SIGNATURE version 1

		// rpcclient over an SMB2 named pipe: unauthenticated binds (auth is in SMB).
		{name: "srvsvc pipe bind", capture: smbPipe, frames: []int{16}, typ: TypeBind, flags: 0x03, frag: 72, callID: 1,
			iface: "srvsvc", ifaceVer: 3, contexts: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "srvsvc pipe bind_ack", capture: smbPipe, frames: []int{17}, typ: TypeBindAck, flags: 0x03, frag: 68, callID: 1,
			assoc: 0x9854, secAddr: `\pipe\srvsvc`, results: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "samr pipe bind", capture: smbPipe, frames: []int{22}, typ: TypeBind, flags: 0x03, frag: 72, callID: 3,
			iface: "samr", ifaceVer: 1, contexts: 1, maxXmit: 4280, maxRecv: 4280},
		{name: "samr pipe bind_ack", capture: smbPipe, frames: []int{23}, typ: TypeBindAck, flags: 0x03, frag: 68, callID: 3,
			assoc: 0x97cf, secAddr: `\pipe\samr`, results: 1, maxXmit: 4280, maxRecv: 4280},

		// Zeek dce_rpc_ntlm: DCOM with SPNEGO; the bind offers Kerberos (a U2U
		// TGT request), the alter_contexts then carry NTLM: BLACKCLOVER\Administrator.
		{name: "dcom spnego bind", capture: zeekNTLM, frames: []int{1}, typ: TypeBind, flags: 0x07, frag: 308, authLen: 140, callID: 2,
			auth: trailer{9, 5, 0, 0}, has: [][]byte{spnegoOID, kerberosOID, []byte("Administrator")}, iface: "IRemUnknown2", ifaceVer: 0, contexts: 3, maxXmit: 5840, maxRecv: 5840},
		{name: "dcom spnego bind_ack 3 results", capture: zeekNTLM, frames: []int{3}, typ: TypeBindAck, flags: 0x07, frag: 139, authLen: 23, callID: 2,
			auth: trailer{9, 5, 0, 0}, assoc: 0x0510bd56, secAddr: "58772", results: 3, maxXmit: 5840, maxRecv: 5840},
		{name: "dcom alter_context_resp challenge", capture: zeekNTLM, frames: []int{5}, typ: TypeAlterContextResp, flags: 0x07, frag: 361, authLen: 297, callID: 2,
			auth: trailer{9, 5, 0, 0}, has: [][]byte{ntlmssp, {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 2, 0, 0, 0}}, assoc: 0x0510bd56, results: 1, maxXmit: 5840, maxRecv: 5840},
		{name: "dcom alter_context authenticate", capture: zeekNTLM, frames: []int{6}, typ: TypeAlterContext, flags: 0x07, frag: 695, authLen: 615, callID: 2,
			auth: trailer{9, 5, 0, 0}, has: [][]byte{{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0}, utf16("Administrator"), utf16("BLACKCLOVER"), utf16("CBTH-WS-1")},
			iface: "IRemUnknown2", contexts: 1, maxXmit: 5840, maxRecv: 5840},

		// Suricata dcerpc-auth3-5133: svcctl at PKT_PRIVACY, 3B\Backdoor.
		{name: "svcctl privacy bind", capture: auth3, frames: []int{1}, typ: TypeBind, flags: 0x07, frag: 164, authLen: 40, callID: 2,
			auth: trailer{10, 6, 0, 0}, ntlmType: 1, iface: "svcctl", ifaceVer: 2, contexts: 2, maxXmit: 5840, maxRecv: 5840},
		{name: "svcctl bind_ack", capture: auth3, frames: []int{2}, typ: TypeBindAck, flags: 0x07, frag: 344, authLen: 252, callID: 2,
			auth: trailer{10, 6, 0, 0}, ntlmType: 2, assoc: 0x3191, secAddr: "49683", results: 2, maxXmit: 5840, maxRecv: 5840},
		{name: "svcctl auth3", capture: auth3, frames: []int{3}, typ: TypeAuth3, flags: 0x07, frag: 562, authLen: 534, callID: 2,
			auth: trailer{10, 6, 0, 0}, ntlmType: 3, has: [][]byte{utf16("Backdoor"), utf16("3B"), utf16("02694W-WIN10")}},
		{name: "svcctl alter_context ctx 1", capture: auth3, frames: []int{16}, typ: TypeAlterContext, flags: 0x03, frag: 120, authLen: 40, callID: 8,
			auth: trailer{10, 6, 0, 1}, ntlmType: 1, iface: "svcctl", ifaceVer: 2, contexts: 1, maxXmit: 5840, maxRecv: 5840, assoc: 0x3191},

		// Zeek mapi: Exchange NSPI with NTLMv1-ESS at CONNECT, and a Netlogon
		// secure channel request over SMB1 (port 139).
		{name: "nspi auth3 ALeonard", capture: mapi, frames: []int{417}, typ: TypeAuth3, frag: 190, authLen: 162, flags: 0x03, callID: 2,
			auth: trailer{10, 2, 0, 689664}, ntlmType: 3, has: [][]byte{utf16("ALeonard"), utf16("CNAMIS"), utf16("ALEONARD-XP")}},
		{name: "netlogon schannel request", capture: mapi, frames: []int{420}, typ: TypeRequest, flags: 0x03, frag: 400, authLen: 32, callID: 152,
			auth: trailer{68, 6, 6, 1340984}},

		// Zeek cs_window7-join: drsuapi with SPNEGO Kerberos at PKT_PRIVACY; the
		// 1758-byte bind spans frames 4 and 6.
		{name: "drsuapi kerberos bind", capture: kerberos, frames: []int{4, 6}, typ: TypeBind, flags: 0x07, frag: 1758, authLen: 1590, callID: 2,
			auth: trailer{9, 6, 0, 0}, has: [][]byte{spnegoOID, kerberosOID}, iface: "drsuapi", ifaceVer: 4, contexts: 3, maxXmit: 5840, maxRecv: 5840},
		{name: "drsuapi bind_ack pipe name over tcp", capture: kerberos, frames: []int{8}, typ: TypeBindAck, flags: 0x03, frag: 244, authLen: 168, callID: 2,
			auth: trailer{9, 6, 0, 0}, assoc: 0xed84, secAddr: `\PIPE\drsuapi`, results: 1, maxXmit: 5840, maxRecv: 8192},
		{name: "drsuapi alter_context_resp empty addr", capture: kerberos, frames: []int{10}, typ: TypeAlterContextResp, flags: 0x03, frag: 105, authLen: 41, callID: 2,
			auth: trailer{9, 6, 0, 0}, assoc: 0xed84, results: 1, maxXmit: 8192, maxRecv: 8192},

		// Zeek ntlm-empty-av-sequence: odd frag/auth lengths, CONNECT level.
		{name: "nspi bind odd lengths", capture: emptyAV, frames: []int{4}, typ: TypeBind, flags: 0x03, frag: 129, authLen: 49, callID: 2,
			auth: trailer{10, 2, 0, 689664}, ntlmType: 1, iface: "nspi", ifaceVer: 56, contexts: 1, maxXmit: 5840, maxRecv: 5840, assoc: 0x02a46c81},
		{name: "nspi bind_ack", capture: emptyAV, frames: []int{5}, typ: TypeBindAck, flags: 0x03, frag: 128, authLen: 60, callID: 2,
			auth: trailer{10, 2, 0, 689664}, ntlmType: 2, assoc: 0x02a46c81, secAddr: "4997", results: 1, maxXmit: 5840, maxRecv: 5840},

		// Faults: a security-package error after auth, and an opnum range error.
		{name: "fault sec_pkg_error", capture: gap, frames: []int{12}, typ: TypeFault, flags: 0x03, frag: 152, callID: 2, faultStatus: 0x721},
		{name: "fault op_rng_error", capture: noFragFlg, frames: []int{33}, typ: TypeFault, flags: 0x23, frag: 32, callID: 1, faultStatus: 0x1c010002},
		// A bind with neither first nor last fragment flag: still a bind.
		{name: "bind without frag flags", capture: noFragFlg, frames: []int{28}, typ: TypeBind, flags: 0x00, frag: 72, callID: 1,
			iface: "epmapper", ifaceVer: 3, contexts: 1, maxXmit: 4280, maxRecv: 4280},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdu := framePDU(t, tt.capture, tt.typ, tt.frames...)
			h, err := ParseHeader(pdu)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != 5 || h.VersionMinor != 0 || !h.LittleEndian || h.DataRep != [4]byte{0x10, 0, 0, 0} ||
				h.Type != tt.typ || h.Flags != tt.flags || h.FragLength != tt.frag || h.AuthLength != tt.authLen || h.CallID != tt.callID {
				t.Fatalf("header %+v", h)
			}
			pdu = pdu[:h.FragLength]

			av, ok, err := ParseAuthVerifier(pdu, h)
			switch {
			case err != nil:
				t.Fatal(err)
			case ok != (tt.auth.Type != 0):
				t.Fatalf("auth present %v, want %v", ok, tt.auth.Type != 0)
			case ok:
				got := trailer{av.Type, av.Level, av.PadLength, av.ContextID}
				if got != tt.auth || len(av.Value) != int(tt.authLen) {
					t.Errorf("auth %+v (%d bytes), want %+v", got, len(av.Value), tt.auth)
				}
			}
			if tt.ntlmType != 0 && (!bytes.HasPrefix(av.Value, ntlmssp) || av.Value[8] != tt.ntlmType) {
				t.Errorf("auth value %q, want NTLMSSP type %d", av.Value, tt.ntlmType)
			}
			for _, s := range tt.has {
				if !bytes.Contains(av.Value, s) {
					t.Errorf("auth value lacks %q", s)
				}
			}

			switch tt.typ {
			case TypeBind, TypeAlterContext:
				b, err := ParseBind(pdu, h)
				if err != nil {
					t.Fatal(err)
				}
				if InterfaceName(b.FirstInterface) != tt.iface || b.FirstInterfaceVersion != tt.ifaceVer || b.NumContexts != tt.contexts ||
					b.MaxXmit != tt.maxXmit || b.MaxRecv != tt.maxRecv || b.AssocGroup != tt.assoc {
					t.Errorf("bind %+v (%s %q)", b, UUIDString(b.FirstInterface), InterfaceName(b.FirstInterface))
				}
			case TypeBindAck, TypeAlterContextResp:
				a, err := ParseBindAck(pdu, h)
				if err != nil {
					t.Fatal(err)
				}
				// tshark: first ack result 0 (acceptance) everywhere here.
				if a.SecondaryAddr != tt.secAddr || a.NumResults != tt.results || a.Result != 0 ||
					a.MaxXmit != tt.maxXmit || a.MaxRecv != tt.maxRecv || a.AssocGroup != tt.assoc {
					t.Errorf("bind_ack %+v", a)
				}
			case TypeFault:
				st, err := ParseFault(pdu, h)
				if err != nil || st != tt.faultStatus || FaultStatusName(st) == "" {
					t.Errorf("fault status %#x %q, %v; want %#x", st, FaultStatusName(st), err, tt.faultStatus)
				}
			}
		})
	}
}

// tcpStream concatenates the payloads from srcPort to dstPort.
func tcpStream(tb testing.TB, rel string, srcPort, dstPort uint16) []byte {
	tb.Helper()
	var out []byte
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.SrcPort == srcPort && s.DstPort == dstPort && !s.UDP {
			out = append(out, s.Payload...)
		}
	}
	return out
}

// TestStreamWalk splits both directions of the authenticated samr
// connection into PDUs by frag_length, as the streaming handler will, and
// checks the sequence tshark shows: every PDU after the bind carries the
// NTLMSSP verifier of context 1 at PKT_INTEGRITY.
func TestStreamWalk(t *testing.T) {
	tests := []struct {
		src, dst uint16
		want     []PacketType
		pads     []uint8
	}{
		{53410, 49154,
			[]PacketType{TypeBind, TypeAuth3, TypeRequest, TypeRequest, TypeRequest, TypeRequest, TypeRequest, TypeRequest, TypeRequest},
			[]uint8{0, 0, 0, 4, 2, 12, 0, 12, 12}},
		{49154, 53410,
			[]PacketType{TypeBindAck, TypeResponse, TypeResponse, TypeResponse, TypeResponse, TypeResponse, TypeResponse, TypeResponse},
			[]uint8{0, 8, 12, 12, 8, 12, 8, 8}},
	}
	for _, tt := range tests {
		s := tcpStream(t, tcpNTLM, tt.src, tt.dst)
		if !LooksLikePDU(s) {
			t.Fatalf("%d->%d: stream start not recognised", tt.src, tt.dst)
		}
		var types []PacketType
		var pads []uint8
		for len(s) > 0 {
			h, err := ParseHeader(s)
			if err != nil || int(h.FragLength) > len(s) {
				t.Fatalf("%d->%d: header %+v, %v with %d bytes left", tt.src, tt.dst, h, err, len(s))
			}
			av, ok, err := ParseAuthVerifier(s, h)
			if err != nil || !ok || av.Type != 10 || av.Level != 5 || av.ContextID != 1 {
				t.Errorf("%d->%d %v: auth %+v ok %v err %v", tt.src, tt.dst, h.Type, av, ok, err)
			}
			types = append(types, h.Type)
			pads = append(pads, av.PadLength)
			s = s[h.FragLength:]
		}
		if len(types) != len(tt.want) {
			t.Fatalf("%d->%d: types %v, want %v", tt.src, tt.dst, types, tt.want)
		}
		for i := range types {
			if types[i] != tt.want[i] || pads[i] != tt.pads[i] {
				t.Errorf("%d->%d PDU %d: %v pad %d, want %v pad %d", tt.src, tt.dst, i, types[i], pads[i], tt.want[i], tt.pads[i])
			}
		}
	}
}

// TestBigEndian re-encodes a real samr bind in big-endian NDR (DataRep
// 0x00): the fields and the interface UUID must come out the same.
func TestBigEndian(t *testing.T) {
	le := framePDU(t, tcpNTLM, TypeBind, 16)[:120]
	be := append([]byte(nil), le...)
	be[4] = 0x00
	swap := func(off, n int) {
		for i, j := off, off+n-1; i < j; i, j = i+1, j-1 {
			be[i], be[j] = be[j], be[i]
		}
	}
	for _, f := range [][2]int{{8, 2}, {10, 2}, {12, 4}, {16, 2}, {18, 2}, {20, 4}, {28, 2}, // header, bind, p_cont_id
		{32, 4}, {36, 2}, {38, 2}, {48, 2}, {50, 2}, // abstract syntax uuid and version
		{120 - 40 - 8 + 4, 4}, // auth_context_id
	} {
		swap(f[0], f[1])
	}
	if bytes.Equal(le[32:48], samrWireOrder[:]) == false {
		t.Fatalf("samr UUID on the wire %x", le[32:48])
	}
	h, err := ParseHeader(be)
	if err != nil || h.LittleEndian || h.FragLength != 120 || h.AuthLength != 40 || h.CallID != 3 {
		t.Fatalf("header %+v, %v", h, err)
	}
	b, err := ParseBind(be, h)
	if err != nil || b.FirstInterface != samrRFC4122 || b.FirstInterfaceVersion != 1 || b.MaxXmit != 4280 {
		t.Fatalf("bind %+v, %v", b, err)
	}
	av, ok, err := ParseAuthVerifier(be, h)
	if err != nil || !ok || av.ContextID != 1 || av.Type != 10 {
		t.Fatalf("auth %+v %v %v", av, ok, err)
	}
}

func TestMalformed(t *testing.T) {
	bind := framePDU(t, tcpNTLM, TypeBind, 16)[:120]
	ack := framePDU(t, tcpNTLM, TypeBindAck, 18)[:214]
	mod := func(b []byte, f func([]byte)) []byte { c := append([]byte(nil), b...); f(c); return c }
	tests := []struct {
		name string
		pdu  []byte
		fn   func(pdu []byte, h Header) error
		want error
	}{
		{"short header", bind[:15], nil, ErrTruncated},
		{"version 4", mod(bind, func(b []byte) { b[0] = 4 }), nil, ErrMalformed},
		{"minor 2", mod(bind, func(b []byte) { b[1] = 2 }), nil, ErrMalformed},
		{"frag below header", mod(bind, func(b []byte) { b[8], b[9] = 15, 0 }), nil, ErrMalformed},
		{"auth longer than frag", mod(bind, func(b []byte) { b[10], b[11] = 100, 0 }), nil, ErrMalformed},
		{"truncated pdu auth", bind[:119], func(p []byte, h Header) error { _, _, err := ParseAuthVerifier(p, h); return err }, ErrTruncated},
		{"truncated pdu bind", bind[:119], func(p []byte, h Header) error { _, err := ParseBind(p, h); return err }, ErrTruncated},
		{"lying context count", mod(bind, func(b []byte) { b[24] = 200 }), func(p []byte, h Header) error { _, err := ParseBind(p, h); return err }, ErrTruncated},
		{"lying transfer count", mod(bind, func(b []byte) { b[30] = 200 }), func(p []byte, h Header) error { _, err := ParseBind(p, h); return err }, ErrTruncated},
		{"lying sec_addr length", mod(ack, func(b []byte) { b[24], b[25] = 0xff, 0xff }), func(p []byte, h Header) error { _, err := ParseBindAck(p, h); return err }, ErrTruncated},
		{"bind as bind_ack", bind, func(p []byte, h Header) error { _, err := ParseBindAck(p, h); return err }, ErrWrongType},
		{"bind as fault", bind, func(p []byte, h Header) error { _, err := ParseFault(p, h); return err }, ErrWrongType},
		{"bind as bind_nak", bind, func(p []byte, h Header) error { _, err := ParseBindNak(p, h); return err }, ErrWrongType},
		{"ack as bind", ack, func(p []byte, h Header) error { _, err := ParseBind(p, h); return err }, ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(tt.pdu)
			if tt.fn == nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("ParseHeader err %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.fn(tt.pdu, h); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// TestBindNak has no capture with a bind_nak: the reason is read from a
// real bind_ack's header re-typed as bind_nak with reason 8
// (authentication type not recognized, MS-RPCE 2.2.2.5).
func TestBindNak(t *testing.T) {
	nak := append([]byte(nil), framePDU(t, tcpNTLM, TypeBindAck, 6)[:60]...)
	nak[2] = byte(TypeBindNak)
	nak[16], nak[17] = 8, 0
	h, err := ParseHeader(nak)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ParseBindNak(nak, h); err != nil || r != 8 {
		t.Fatalf("reason %d, %v", r, err)
	}
}

func TestLooksLikePDU(t *testing.T) {
	bind := framePDU(t, tcpNTLM, TypeBind, 16)
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"real bind", bind, true},
		{"real bind without frag flags", framePDU(t, noFragFlg, TypeBind, 28), true},
		{"short", bind[:15], false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"smb2", pcaptest.Segments(t, smbPipe)[0].Payload, false},
		{"connectionless type 1", append([]byte{5, 0, 1}, bind[3:]...), false},
		{"bad drep", append([]byte{5, 0, 11, 3, 0x20}, bind[5:]...), false},
	}
	for _, tt := range tests {
		if got := LooksLikePDU(tt.b); got != tt.want {
			t.Errorf("%s: LooksLikePDU = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	if AuthTypeName(9) != "spnego" || AuthTypeName(10) != "ntlmssp" || AuthTypeName(16) != "kerberos" || AuthTypeName(68) != "netlogon" || AuthTypeName(3) != "" {
		t.Error("AuthTypeName")
	}
	if AuthLevelName(1) != "none" || AuthLevelName(5) != "integrity" || AuthLevelName(6) != "privacy" || AuthLevelName(7) != "" {
		t.Error("AuthLevelName")
	}
	if TypeAlterContextResp.String() != "alter_context_resp" || PacketType(1).String() != "" {
		t.Error("PacketType.String")
	}
	if UUIDString(epmapperRFC412) != "e1af8308-5d1f-11c9-91a4-08002b14a0fa" || InterfaceName(epmapperRFC412) != "epmapper" || InterfaceName([16]byte{}) != "" {
		t.Error("UUIDString / InterfaceName")
	}
	seen := map[[16]byte]bool{}
	for _, i := range interfaces {
		if seen[i.uuid] && i.name != "efsrpc" {
			t.Errorf("duplicate %s", UUIDString(i.uuid))
		}
		seen[i.uuid] = true
	}
}

// realPDUs is the fuzz seed corpus: every PDU type the captures hold.
func realPDUs(tb testing.TB) [][]byte {
	var out [][]byte
	for _, c := range []struct {
		rel    string
		typ    PacketType
		frames []int
	}{
		{tcpNTLM, TypeBind, []int{16}}, {tcpNTLM, TypeBindAck, []int{18}}, {tcpNTLM, TypeAuth3, []int{20}},
		{tcpNTLM, TypeRequest, []int{21}}, {tcpNTLM, TypeResponse, []int{23}},
		{zeekNTLM, TypeBindAck, []int{3}}, {zeekNTLM, TypeAlterContextResp, []int{5}},
		{kerberos, TypeBind, []int{4, 6}}, {kerberos, TypeAlterContextResp, []int{10}},
		{emptyAV, TypeBind, []int{4}}, {gap, TypeFault, []int{12}}, {noFragFlg, TypeFault, []int{33}},
		{mapi, TypeRequest, []int{420}},
	} {
		out = append(out, framePDU(tb, c.rel, c.typ, c.frames...))
	}
	return out
}

func fuzzSeeds(f *testing.F) {
	for _, p := range realPDUs(f) {
		f.Add(p)
	}
}

func FuzzParseHeader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		looks := LooksLikePDU(b)
		if err != nil {
			if looks {
				t.Fatal("LooksLikePDU accepts what ParseHeader rejects")
			}
			return
		}
		if h.FragLength < CommonHeaderLen || (h.AuthLength > 0 && int(h.AuthLength)+24 > int(h.FragLength)) {
			t.Fatalf("header %+v escaped the length checks", h)
		}
	})
}

func FuzzParseAuthVerifier(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		av, ok, err := ParseAuthVerifier(b, h)
		if err != nil || !ok {
			return
		}
		if len(av.Value) != int(h.AuthLength) || cap(av.Value) != len(av.Value) {
			t.Fatalf("value %d bytes (cap %d), auth_length %d", len(av.Value), cap(av.Value), h.AuthLength)
		}
	})
}

func FuzzParseBind(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		h.Type = TypeBind // reach the body parser with any bytes
		bd, err := ParseBind(b, h)
		if err == nil && (bd.NumContexts < 0 || bd.NumContexts > 255) {
			t.Fatalf("bind %+v", bd)
		}
	})
}

func FuzzParseBindAck(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		h.Type = TypeBindAck
		a, err := ParseBindAck(b, h)
		if err == nil && len(a.SecondaryAddr) > int(h.FragLength) {
			t.Fatalf("secondary address %d bytes in a %d-byte PDU", len(a.SecondaryAddr), h.FragLength)
		}
	})
}

func FuzzParseFault(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		h.Type = TypeFault
		_, _ = ParseFault(b, h)
		h.Type = TypeBindNak
		_, _ = ParseBindNak(b, h)
	})
}

func BenchmarkParseHeaderAndAuth(b *testing.B) {
	pdu := framePDU(b, tcpNTLM, TypeAuth3, 20)
	b.ReportAllocs()
	for b.Loop() {
		h, _ := ParseHeader(pdu)
		_, _, _ = ParseAuthVerifier(pdu, h)
	}
}

func BenchmarkLooksLikePDU(b *testing.B) {
	pdu := framePDU(b, tcpNTLM, TypeBind, 16)
	b.ReportAllocs()
	for b.Loop() {
		_ = LooksLikePDU(pdu)
	}
}

func BenchmarkParseBind(b *testing.B) {
	pdu := framePDU(b, kerberos, TypeBind, 4, 6)
	h, _ := ParseHeader(pdu)
	b.ReportAllocs()
	for b.Loop() {
		bd, _ := ParseBind(pdu, h)
		_ = InterfaceName(bd.FirstInterface)
	}
}

func BenchmarkParseBindAck(b *testing.B) {
	pdu := framePDU(b, tcpNTLM, TypeBindAck, 18)
	h, _ := ParseHeader(pdu)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseBindAck(pdu, h)
	}
}

func BenchmarkParseFault(b *testing.B) {
	pdu := framePDU(b, gap, TypeFault, 12)
	h, _ := ParseHeader(pdu)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseFault(pdu, h)
	}
}
