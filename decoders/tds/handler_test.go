package tds_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/dcerpc"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/tds"
	"ntlmsensor/findings"
)

const synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"

// The [MS-TDS] section 4 examples (4.1 Pre-Login Request, 4.2 Login
// Request, 4.4 Login Response), as tds_test.go uses them.
var (
	specPreLogin = unhex("1201002f0000010000001a00060100200001020021000103002200040400260001ff0900000000000100b80d000001")
	specLogin7   = unhex("1001009000000100880000000200097200100000000000070001000000000000e003000000000000090400005e0008006e0002007200000072000700800000008000000080000400880000008800000000508be2b78f8800000088000000880000000000000073006b006f00730074006f0076003100730061004f00530051004c002d00330032004f00440042004300")
	specLoginAck = unhex("0401016100000100e31b0001066d0061007300740065007200066d0061007300740065007200ab580045160000020025004300680061006e00670065006400200064006100740061006200610073006500200063006f006e007400650078007400200074006f00200027006d006100730074006500720027002e00000000000000e3080007050904d0003400e31700020a750073005f0065006e0067006c0069007300680000e3130004043400300039003600043400300039003600ab5c0047160000010027004300680061006e0067006500640020006c0061006e00670075006100670065002000730065007400740069006e006700200074006f002000750073005f0065006e0067006c006900730068002e00000000000000ad36000172090002164d006900630072006f0073006f00660074002000530051004c0020005300650072007600650072000000000000000000fd000000000000000000000000")
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// analyse runs the real pipeline, with only the tds carrier, over a
// capture below pcaps/.
func analyse(t testing.TB, rel string) []*findings.Finding {
	return carriertest.Analyse(t, rel, tds.Carrier)
}

func dump(fs []*findings.Finding) string {
	var b []byte
	for _, f := range fs {
		b = f.AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

// frames returns the TCP payloads of the synthetic TDS connection (client
// port 50014), in order, as pieces.
func frames(t testing.TB) []carriertest.Piece {
	var ps []carriertest.Piece
	for _, s := range pcaptest.Segments(t, synthetic) {
		switch {
		case s.SrcPort == 50014 && s.DstPort == 1433:
			ps = append(ps, carriertest.Piece{ToServer: true, Data: s.Payload})
		case s.SrcPort == 1433 && s.DstPort == 50014:
			ps = append(ps, carriertest.Piece{ToServer: false, Data: s.Payload})
		}
	}
	if len(ps) != 3 {
		t.Fatalf("%d TDS payloads, want LOGIN7, SSPI, SSPI", len(ps))
	}
	return ps
}

// TestSynthetic: the TDS part of Arkime's ntlm_synthetic capture (LOGIN7
// with NEGOTIATE, the CHALLENGE in a bare SSPI packet, the AUTHENTICATE in
// an SSPI packet, no login response) against its tshark oracle and Arkime's
// expected output (ntlm_synthetic.test: user mona, domain TDSDOM, host
// TDSHOST, version 10.0.19041).
func TestSynthetic(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "pcaps", synthetic+".tshark.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var col map[string]int
	var rows [][]string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if col == nil {
			col = map[string]int{}
			for i, n := range f {
				col[n] = i
			}
			continue
		}
		if f[col["_ws.col.Protocol"]] == "TDS" && strings.Contains(f[col["ntlmssp.messagetype"]], "0x00000003") {
			rows = append(rows, f)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("%d oracle rows", len(rows))
	}
	r := func(name string) string { return rows[0][col[name]] }

	fs := analyse(t, synthetic)
	if len(fs) != 1 {
		t.Fatalf("%d findings:\n%s", len(fs), dump(fs))
	}
	f := fs[0]
	if f.Client.Addr() != netip.MustParseAddr(r("ipv6.src")) || f.Server.Addr() != netip.MustParseAddr(r("ipv6.dst")) ||
		f.Client.Port() != 50014 || f.Server.Port() != 1433 ||
		f.UserName != r("ntlmssp.auth.username") || f.UserDomain != r("ntlmssp.auth.domain") ||
		f.NTLM.Workstation != r("ntlmssp.auth.hostname") || string(f.NTLM.Version) != r("ntlm_version") {
		t.Errorf("oracle row %v: %s", rows[0], f.AppendJSON(nil))
	}
	// Arkime's expectation and the rest of the facts: no login response,
	// so the outcome is unknown; raw NTLMSSP in TDS is NTLM called
	// directly; the 24-byte LM response ("LLL...", tshark
	// ntlmssp.auth.lmresponse) is not a copy of the NT response ("NNN...").
	if f.UserName != "mona" || f.UserDomain != "TDSDOM" || f.NTLM.Workstation != "TDSHOST" || f.NTLM.ClientVersion != "10.0.19041" ||
		f.Protocol != "mssql" || f.Mechanism != "ntlm" || f.Outcome != findings.Unknown || f.Reason != "" || f.SPNEGO != findings.False ||
		f.NTLM.LMResponse != findings.True || !f.HasUser ||
		!slices.Equal(f.Flags, []findings.Flag{findings.FlagNTLMv1, findings.FlagNTLMLM, findings.FlagNTLMDirect}) {
		t.Errorf("%s", f.AppendJSON(nil))
	}
}

// packet frames a payload as one TDS packet.
func packet(typ tds.PacketType, status uint8, payload []byte) []byte {
	b := []byte{byte(typ), status, 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(tds.HeaderLen+len(payload)))
	return append(b, payload...)
}

// preLogin is a PRELOGIN message [MS-TDS 2.2.6.5] with VERSION and
// ENCRYPTION, as client or server send it (the server in a tabular result).
func preLogin(typ tds.PacketType, enc uint8) []byte {
	p := []byte{
		0x00, 0, 11, 0, 6, // VERSION at 11, 6 bytes
		0x01, 0, 17, 0, 1, // ENCRYPTION at 17, 1 byte
		0xff,
		16, 0, 0x10, 0x7d, 0, 0, // 16.0.4221.0
		enc,
	}
	return packet(typ, tds.StatusEOM, p)
}

// sspiResult is a tabular result holding an SSPI token [MS-TDS 2.2.7.22],
// as SQL Server sends its CHALLENGE.
func sspiResult(token []byte) []byte {
	return packet(tds.TypeTabularResult, tds.StatusEOM, append([]byte{0xED, byte(len(token)), byte(len(token) >> 8)}, token...))
}

// loginFailed is a tabular result with ERROR 18456 [MS-TDS 2.2.7.10] and
// DONE with DONE_ERROR, laid out as SQL Server sends a failed login.
func loginFailed() []byte {
	msg := "Login failed for user 'TDSDOM\\mona'."
	var text []byte
	for _, c := range []byte(msg) {
		text = append(text, c, 0)
	}
	body := binary.LittleEndian.AppendUint32(nil, tds.NumberLoginFailed)
	body = append(body, 1, 14)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(msg)))
	body = append(body, text...)
	body = append(body, 0, 0)
	body = binary.LittleEndian.AppendUint32(body, 1)
	out := []byte{0xAA, byte(len(body)), byte(len(body) >> 8)}
	out = append(out, body...)
	out = append(out, 0xFD, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	return packet(tds.TypeTabularResult, tds.StatusEOM, out)
}

// tlsRecord is a TLS record of a content type with n bytes of body.
func tlsRecord(ct byte, n int) []byte {
	b := []byte{ct, 3, 3, byte(n >> 8), byte(n)}
	return append(b, bytes.Repeat([]byte{0xA5}, n)...)
}

// login7With is the synthetic LOGIN7 with another SSPI token.
func login7With(t testing.TB, tok []byte) []byte {
	base := bytes.Clone(frames(t)[0].Data[tds.HeaderLen:])
	if binary.LittleEndian.Uint16(base[78:]) != 94 {
		t.Fatal("synthetic LOGIN7: SSPI not at 94")
	}
	p := append(base[:94:94], tok...)
	binary.LittleEndian.PutUint32(p, uint32(len(p)))
	binary.LittleEndian.PutUint16(p[80:], uint16(len(tok)))
	return p
}

// apReq is a real SPNEGO Kerberos AP-REQ: the auth value of the
// kerberos135_auth DCE/RPC bind (sname RPCSS/BLACKCLOVER-DC.SRT-AD.local).
func apReq(t testing.TB) []byte {
	var p []byte
	for _, s := range pcaptest.Segments(t, "public/zeek/testing/btest/Traces/dce-rpc/kerberos135_auth.pcapng") {
		if s.Frame == 4 || s.Frame == 5 {
			p = append(p, s.Payload...)
		}
	}
	h, err := dcerpc.ParseHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	av, ok, err := dcerpc.ParseAuthVerifier(p, h)
	if err != nil || !ok {
		t.Fatal("no auth verifier", err)
	}
	return bytes.Clone(av.Value)
}

type sequence struct {
	name    string
	pieces  []carriertest.Piece
	n       int
	outcome findings.Outcome
	reason  string
	done    bool // the handler is done with the connection at the end
}

func c2s(b ...[]byte) carriertest.Piece {
	return carriertest.Piece{ToServer: true, Data: bytes.Join(b, nil)}
}
func s2c(b ...[]byte) carriertest.Piece {
	return carriertest.Piece{ToServer: false, Data: bytes.Join(b, nil)}
}

// sequences are logins built from the synthetic capture's real NTLM
// messages and the MS-TDS examples.
func sequences(t testing.TB) []sequence {
	syn := frames(t)
	login7, challengePkt, authPkt := syn[0].Data, syn[1].Data, syn[2].Data
	challenge := challengePkt[tds.HeaderLen:]
	l7 := login7[tds.HeaderLen:]
	half := len(l7) / 2
	split := append(packet(tds.TypeLogin7, 0, l7[:half]), packet(tds.TypeLogin7, tds.StatusEOM, l7[half:])...)
	krbLogin := packet(tds.TypeLogin7, tds.StatusEOM, login7With(t, apReq(t)))
	return []sequence{
		{name: "challenge in a tabular result, login ack",
			pieces: []carriertest.Piece{c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt), s2c(specLoginAck)},
			n:      1, outcome: findings.Success, done: true},
		{name: "login failed 18456",
			pieces: []carriertest.Piece{c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt), s2c(loginFailed())},
			n:      1, outcome: findings.Failure, reason: "MSSQL 18456", done: true},
		{name: "bare SSPI challenge, login ack",
			pieces: []carriertest.Piece{c2s(login7), s2c(challengePkt), c2s(authPkt), s2c(specLoginAck)},
			n:      1, outcome: findings.Success, done: true},
		{name: "LOGIN7 over two packets",
			pieces: []carriertest.Piece{c2s(split), s2c(sspiResult(challenge)), c2s(authPkt), s2c(specLoginAck)},
			n:      1, outcome: findings.Success, done: true},
		{name: "prelogin encryption off/off: only LOGIN7 in TLS",
			pieces: []carriertest.Piece{
				c2s(preLogin(tds.TypePreLogin, tds.EncryptOff)), s2c(preLogin(tds.TypeTabularResult, tds.EncryptOff)),
				c2s(packet(tds.TypePreLogin, tds.StatusEOM, tlsRecord(22, 180))), s2c(packet(tds.TypePreLogin, tds.StatusEOM, tlsRecord(22, 900))),
				c2s(packet(tds.TypePreLogin, tds.StatusEOM, tlsRecord(20, 1)), packet(tds.TypePreLogin, tds.StatusEOM, tlsRecord(22, 40))),
				s2c(packet(tds.TypePreLogin, tds.StatusEOM, append(tlsRecord(20, 1), tlsRecord(22, 40)...))),
				c2s(tlsRecord(23, len(login7)+40)), // the LOGIN7, encrypted
				s2c(sspiResult(challenge)), c2s(authPkt), s2c(specLoginAck)},
			n: 1, outcome: findings.Success, done: true},
		{name: "prelogin not supported both ways",
			pieces: []carriertest.Piece{c2s(preLogin(tds.TypePreLogin, tds.EncryptNotSup)), s2c(preLogin(tds.TypeTabularResult, tds.EncryptNotSup)),
				c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt), s2c(loginFailed())},
			n: 1, outcome: findings.Failure, reason: "MSSQL 18456", done: true},
		{name: "prelogin encryption on (MS-TDS 4.1) answered on",
			pieces: []carriertest.Piece{c2s(specPreLogin), s2c(preLogin(tds.TypeTabularResult, tds.EncryptOn)),
				c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt), s2c(specLoginAck)},
			done: true},
		{name: "prelogin encryption off answered required",
			pieces: []carriertest.Piece{c2s(preLogin(tds.TypePreLogin, tds.EncryptOff)), s2c(preLogin(tds.TypeTabularResult, tds.EncryptReq)),
				c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt), s2c(specLoginAck)},
			done: true},
		{name: "SQL authentication (MS-TDS 4.2, 4.4)",
			pieces: []carriertest.Piece{c2s(specLogin7), s2c(specLoginAck)},
			done:   true},
		{name: "kerberos AP-REQ in LOGIN7",
			pieces: []carriertest.Piece{c2s(krbLogin), s2c(specLoginAck)},
			n:      1, outcome: findings.Success, done: true},
		{name: "no login response",
			pieces: []carriertest.Piece{c2s(login7), s2c(sspiResult(challenge)), c2s(authPkt)},
			n:      1, outcome: findings.Unknown},
		{name: "no AUTHENTICATE",
			pieces: []carriertest.Piece{c2s(login7), s2c(sspiResult(challenge)), s2c(loginFailed())},
			done:   true},
	}
}

// drive runs the pieces through a handler and reports the findings and
// whether the handler said it was done.
func drive(t testing.TB, ps []carriertest.Piece) ([]*findings.Finding, bool) {
	var out []*findings.Finding
	c := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:1433"), false, tds.Carrier.Protocol, "", func(f *findings.Finding) { out = append(out, f) })
	h := tds.Carrier.New(c)
	ts := time.Unix(1700000000, 0)
	for _, p := range ps {
		if c.IsDone() {
			break // the sensor stops feeding
		}
		if n := h.Feed(p.ToServer, p.Data, ts); n < len(p.Data) && !c.IsDone() {
			t.Fatalf("a whole piece of %d bytes left %d unconsumed", len(p.Data), len(p.Data)-n)
		}
	}
	done := c.IsDone()
	h.Close(ts)
	return out, done
}

func TestSequences(t *testing.T) {
	for _, sq := range sequences(t) {
		t.Run(sq.name, func(t *testing.T) {
			fs, done := drive(t, sq.pieces)
			if done != sq.done {
				t.Errorf("done %v, want %v", done, sq.done)
			}
			if len(fs) != sq.n {
				t.Fatalf("%d findings, want %d:\n%s", len(fs), sq.n, dump(fs))
			}
			if sq.n == 0 {
				return
			}
			f := fs[0]
			if f.Outcome != sq.outcome || f.Reason != sq.reason || f.Protocol != "mssql" {
				t.Errorf("%s", f.AppendJSON(nil))
			}
			if f.Mechanism == "ntlm" && (f.UserName != "mona" || f.UserDomain != "TDSDOM" || f.NTLM.Version != "NTLMv1") {
				t.Errorf("%s", f.AppendJSON(nil))
			}
			if f.Mechanism == "kerberos" && (f.Kerberos.SName != "RPCSS/BLACKCLOVER-DC.SRT-AD.local" || f.Kerberos.Realm != "SRT-AD.LOCAL" || f.SPNEGO != findings.True) {
				t.Errorf("%s", f.AppendJSON(nil))
			}
		})
	}
}

// TestHandlerChunking: however the bytes are cut, the findings are the same.
func TestHandlerChunking(t *testing.T) {
	cases := []struct {
		name   string
		pieces []carriertest.Piece
	}{{"synthetic capture", frames(t)}}
	for _, sq := range sequences(t) {
		cases = append(cases, struct {
			name   string
			pieces []carriertest.Piece
		}{sq.name, sq.pieces})
	}
	for _, c := range cases {
		want := dump(carriertest.Drive(tds.Carrier, c.pieces, 1<<20))
		for _, chunk := range []int{7, 1} {
			if got := dump(carriertest.Drive(tds.Carrier, c.pieces, chunk)); got != want {
				t.Errorf("%s chunk %d:\n%s\nwant\n%s", c.name, chunk, got, want)
			}
		}
	}
	if n := strings.Count(dump(carriertest.Drive(tds.Carrier, frames(t), 1)), "\n"); n != 1 {
		t.Errorf("synthetic: %d findings", n)
	}
}

// TestGap: lost server bytes leave the attempt's outcome unknown.
func TestGap(t *testing.T) {
	syn := frames(t)
	var out []*findings.Finding
	c := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:1433"), false, tds.Carrier.Protocol, "", func(f *findings.Finding) { out = append(out, f) })
	h := tds.Carrier.New(c)
	ts := time.Unix(1700000000, 0)
	h.Feed(true, syn[0].Data, ts)
	h.Feed(false, syn[1].Data, ts)
	h.Feed(true, syn[2].Data, ts)
	h.Gap(false, ts)
	if n := h.Feed(false, specLoginAck[5:], ts); n != len(specLoginAck)-5 {
		t.Errorf("after the gap: %d consumed", n)
	}
	h.Close(ts)
	if len(out) != 1 || out[0].Outcome != findings.Unknown || out[0].UserName != "mona" {
		t.Fatalf("%s", dump(out))
	}
}

// TestSkip: packets that are not part of a login are skipped unread, by
// over-consumption.
func TestSkip(t *testing.T) {
	c := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:1433"), false, tds.Carrier.Protocol, "", func(*findings.Finding) {})
	h := tds.Carrier.New(c)
	batch := packet(tds.TypeSQLBatch, tds.StatusEOM, make([]byte, 5000))
	if n := h.Feed(true, batch[:100], time.Now()); n != len(batch) {
		t.Errorf("SQL batch: %d consumed, want %d", n, len(batch))
	}
	tls := tlsRecord(23, 3000)
	if n := h.Feed(true, tls[:10], time.Now()); n != len(tls) {
		t.Errorf("TLS record: %d consumed, want %d", n, len(tls))
	}
}

func TestDetect(t *testing.T) {
	login7 := frames(t)[0].Data
	tests := []struct {
		name     string
		toServer bool
		b        []byte
		want     carrier.Verdict
	}{
		{"LOGIN7", true, login7, carrier.Yes},
		{"PRELOGIN", true, specPreLogin, carrier.Yes},
		{"header prefix", true, login7[:5], carrier.Maybe},
		{"server first", false, specLoginAck, carrier.No},
		{"SQL batch first", true, packet(tds.TypeSQLBatch, 1, []byte("select 1")), carrier.No},
		{"http", true, []byte("GET / HTTP/1.1\r\n\r\n"), carrier.No},
		{"tls client hello", true, tlsRecord(22, 100), carrier.No},
		{"bad status", true, []byte{0x12, 0x40}, carrier.No},
	}
	for _, tt := range tests {
		if got := tds.Carrier.Detect(tt.toServer, tt.b); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzHandler drives the TDS carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	seed := func(ps []carriertest.Piece) {
		var client, server []byte
		for _, p := range ps {
			if p.ToServer {
				client = append(client, p.Data...)
			} else {
				server = append(server, p.Data...)
			}
		}
		f.Add(client, server, uint16(1460))
	}
	seed(frames(f))
	for _, sq := range sequences(f) {
		seed(sq.pieces)
	}
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16) {
		for _, fd := range carriertest.Drive(tds.Carrier, carriertest.Alternate(client, server, int(chunk%4096)+1), 1460) {
			if fd.Outcome == "" || fd.Protocol != "mssql" || fd.Mechanism == "" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
