package pop3_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// The only POP3 capture: Arkime's synthetic POP3DOM\liam session.
const synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"

// analyse runs the real pipeline over a capture with the POP3 carrier alone.
func analyse(t testing.TB, rel string) []*findings.Finding {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join("..", "..", "pcaps", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*findings.Finding
	cfg := sensor.DefaultConfig()
	cfg.Carriers = []*carrier.Carrier{pop3.Carrier}
	cfg.Emit = func(f *findings.Finding) { out = append(out, f) }
	p := sensor.NewPipeline(cfg, 1, nil)
	if err := p.ReadSource(src); err != nil {
		t.Log(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// doc is a finding as written out, parsed back.
func doc(t testing.TB, f *findings.Finding) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", f.AppendJSON(nil), err)
	}
	return m
}

func lookup(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func flagIDs(f *findings.Finding) []string {
	out := []string{}
	for _, fl := range f.Flags {
		out = append(out, string(fl))
	}
	return out
}

// tsvRows reads the rows of the synthetic capture's tshark oracle that
// match all of the given column values.
func tsvRows(t testing.TB, match map[string]string) []map[string]string {
	t.Helper()
	fh, err := os.Open(filepath.Join("..", "..", "pcaps", synthetic+".tshark.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var header []string
	var out []map[string]string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(header) {
				row[header[i]] = c
			}
		}
		ok := true
		for k, v := range match {
			ok = ok && row[k] == v
		}
		if ok {
			out = append(out, row)
		}
	}
	return out
}

// arkimeSession is the session of Arkime's expected output (.test) whose
// protocols include proto.
func arkimeSession(t testing.TB, proto string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "pcaps", strings.TrimSuffix(synthetic, ".pcap")+".test"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Sessions []struct {
			Body map[string]any `json:"body"`
		} `json:"sessions3"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	for _, s := range spec.Sessions {
		ps, _ := s.Body["protocol"].([]any)
		if slices.Contains(ps, any(proto)) {
			return s.Body
		}
	}
	t.Fatalf("no %s session in Arkime's output", proto)
	return nil
}

func first(v any) any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return l[0]
	}
	return nil
}

// TestSyntheticCapture: Arkime's POP3DOM\liam session, compared with the
// tshark oracle rows and with Arkime's own output.
func TestSyntheticCapture(t *testing.T) {
	finds := analyse(t, synthetic)
	if len(finds) != 1 {
		for _, f := range finds {
			t.Logf("%s", f.AppendJSON(nil))
		}
		t.Fatalf("%d findings, want 1", len(finds))
	}
	f := finds[0]

	rows := tsvRows(t, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "110", "ntlmssp.messagetype": "0x00000003"})
	if len(rows) != 1 {
		t.Fatalf("%d oracle AUTHENTICATE rows", len(rows))
	}
	r := rows[0]
	if f.UserName != r["ntlmssp.auth.username"] || f.UserDomain != r["ntlmssp.auth.domain"] ||
		f.NTLM.Workstation != r["ntlmssp.auth.hostname"] || f.NTLM.Version != r["ntlm_version"] {
		t.Errorf("finding %s\\%s from %s %s; tshark %v", f.UserDomain, f.UserName, f.NTLM.Workstation, f.NTLM.Version, r)
	}
	if f.Client.String() != r["ip.src"]+":"+r["tcp.srcport"] || f.Server.String() != r["ip.dst"]+":"+r["tcp.dstport"] {
		t.Errorf("endpoints %v -> %v", f.Client, f.Server)
	}

	a := arkimeSession(t, "pop3")
	if first(a["user"]) != f.UserName || first(lookup(a, "ntlm.domain")) != f.UserDomain ||
		first(lookup(a, "ntlm.host")) != f.NTLM.Workstation || first(lookup(a, "ntlm.version")) != f.NTLM.ClientVersion ||
		lookup(a, "network.community_id") != f.CommunityID {
		t.Errorf("finding %+v; Arkime %v %v", f, a["user"], a["ntlm"])
	}

	// pinned: "+OK Logged in" is frame 198
	if f.Outcome != findings.Success || f.Reason != "POP3 +OK" || !f.Time.Equal(time.Unix(1700000007, 242e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	m := doc(t, f)
	want := map[string]any{
		"event.kind":          "event",
		"event.severity":      4.0, // ntlm_lm: critical
		"network.transport":   "tcp",
		"network.protocol":    "pop3",
		"auth.mechanism":      "ntlm",
		"auth.spnego":         false,
		"ntlm.version":        "NTLMv1",
		"ntlm.lm_response":    true,
		"ntlm.mic":            false,
		"ntlm.flags":          "0x02000205",
		"ntlm.client_version": "10.0.19041",
		"ntlm.server_version": "10.0.19041",
		"ntlm.target_name":    nil,
	}
	for k, v := range want {
		if got := lookup(m, k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if fl := flagIDs(f); !slices.Equal(fl, []string{"ntlm_v1", "ntlm_lm", "ntlm_direct"}) {
		t.Errorf("flags %v", fl)
	}
}

// pieces are the TCP payloads of the capture's connection to port, in order.
func pieces(t testing.TB, rel string, port uint16) []carrier.Piece {
	t.Helper()
	var ps []carrier.Piece
	for _, s := range pcaptest.Segments(t, rel) {
		if !s.UDP && (s.DstPort == port || s.SrcPort == port) {
			ps = append(ps, carrier.Piece{ToServer: s.DstPort == port, Data: s.Payload})
		}
	}
	if len(ps) == 0 {
		t.Fatalf("%s: no connection to port %d", rel, port)
	}
	return ps
}

// session is the synthetic capture's POP3 conversation, one piece per
// segment: greeting, AUTH NTLM, "+ ", NEGOTIATE, "+ " CHALLENGE,
// AUTHENTICATE, +OK, QUIT, +OK.
func session(t testing.TB) []carrier.Piece {
	ps := pieces(t, synthetic, 110)
	if len(ps) != 9 {
		t.Fatalf("POP3 session in %d pieces", len(ps))
	}
	return ps
}

// replace swaps old for new in the first piece that holds old.
func replace(t testing.TB, ps []carrier.Piece, old, new string) []carrier.Piece {
	t.Helper()
	out := slices.Clone(ps)
	for i, p := range out {
		if bytes.Contains(p.Data, []byte(old)) {
			out[i].Data = bytes.Replace(p.Data, []byte(old), []byte(new), 1)
			return out
		}
	}
	t.Fatalf("no piece holds %q", old)
	return nil
}

func client(s string) carrier.Piece { return carrier.Piece{ToServer: true, Data: []byte(s)} }
func server(s string) carrier.Piece { return carrier.Piece{ToServer: false, Data: []byte(s)} }

func join(parts ...[]carrier.Piece) []carrier.Piece {
	var out []carrier.Piece
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// authExchange is the session's AUTH NTLM exchange, from the command to
// the +OK.
func authExchange(t testing.TB) []carrier.Piece { return slices.Clone(session(t)[1:7]) }

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carrier.Piece) ([]*findings.Finding, bool) { return feed(ps, nil) }

// feed is drive where the pieces whose index is in lost are lost in
// transit: the handler is told of a gap instead.
func feed(ps []carrier.Piece, lost map[int]bool) ([]*findings.Finding, bool) {
	var out []*findings.Finding
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:110"), false, "", func(f *findings.Finding) { out = append(out, f) })
	h := pop3.Carrier.New(conn)
	ts := time.Unix(1700000000, 0)
	var buf [2][]byte
	var skip [2]int
	for i, p := range ps {
		if conn.IsDone() {
			break
		}
		d := 1
		if p.ToServer {
			d = 0
		}
		if lost[i] {
			buf[d], skip[d] = buf[d][:0], 0
			h.Gap(p.ToServer, ts)
			continue
		}
		data := p.Data
		k := min(skip[d], len(data))
		skip[d] -= k
		data = data[k:]
		if len(data) == 0 {
			continue
		}
		buf[d] = append(buf[d], data...)
		n := h.Feed(p.ToServer, buf[d], ts)
		if n >= len(buf[d]) {
			skip[d] = n - len(buf[d])
			buf[d] = buf[d][:0]
		} else {
			buf[d] = append(buf[d][:0], buf[d][n:]...)
		}
	}
	h.Close(ts)
	return out, conn.IsDone()
}

// key is what the findings of two runs must agree on.
func key(f *findings.Finding) string {
	var m map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		return err.Error()
	}
	delete(m, "@timestamp")
	delete(m, "source")
	delete(m, "destination")
	delete(m, "network")
	if r, ok := m["related"].(map[string]any); ok {
		delete(r, "ip") // the addresses, like source and destination
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestHandlerChunking: however the bytes are cut, the finding is that of
// the pipeline.
func TestHandlerChunking(t *testing.T) {
	ref := analyse(t, synthetic)
	if len(ref) != 1 {
		t.Fatalf("%d findings", len(ref))
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := carrier.Drive(pop3.Carrier, session(t), chunk)
		if len(fs) != 1 || key(fs[0]) != key(ref[0]) {
			t.Errorf("chunk %d: %v, want %s", chunk, fs, key(ref[0]))
		}
	}
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03AUTH NTLM\r\nTlRMTVNTUAAD\r\n"

// capa is a CAPA exchange (RFC 2449 5) offering STLS and NTLM.
var capa = []carrier.Piece{client("CAPA\r\n"), server("+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\nSASL NTLM\r\n.\r\n")}

// TestSTLS: once the server accepts STLS nothing after is read, not even
// the cleartext exchange replayed behind the handshake.
func TestSTLS(t *testing.T) {
	ses := session(t)
	greet, after := ses[:1], ses[1:]
	tls := join(greet, capa, []carrier.Piece{client("STLS\r\n"), server("+OK Begin TLS negotiation\r\n"), client(tlsHello), server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after)
	fs, done := drive(tls)
	if len(fs) != 0 || !done {
		t.Errorf("after STLS: %d findings, done %v; want none, done", len(fs), done)
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		if fs := carrier.Drive(pop3.Carrier, tls, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings after STLS", chunk, len(fs))
		}
	}
	refused := join(greet, capa, []carrier.Piece{client("STLS\r\n"), server("-ERR Command not permitted when TLS active\r\n")}, after)
	fs, done = drive(refused)
	if len(fs) != 1 || done || fs[0].UserName != "liam" || fs[0].Outcome != findings.Success {
		t.Errorf("STLS refused: %d findings, done %v", len(fs), done)
	}
}

// TestOutcomes: -ERR, cancel, retry, no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	failed := replace(t, ex, "+OK Logged in", "-ERR [AUTH] Authentication failed.")
	fs, _ := drive(join(failed, ex))
	if len(fs) != 2 || fs[0].Outcome != findings.Failure || fs[0].Reason != "POP3 -ERR" || fs[1].Outcome != findings.Success || fs[1].Reason != "POP3 +OK" {
		t.Errorf("failure then success: %v", fs)
	}
	for _, f := range fs {
		if f.UserName != "liam" || f.UserDomain != "POP3DOM" || f.NTLM.Workstation != "POP3HOST" {
			t.Errorf("finding %+v", f)
		}
	}

	// the client cancels after the CHALLENGE (RFC 5034 4): no attempt
	cancel := join(ex[:4], []carrier.Piece{client("*\r\n"), server("-ERR authentication cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:5]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "liam" {
		t.Errorf("no answer: %v", fs)
	}
	// a new AUTH while the last one waits: that one's outcome is unknown
	if fs, _ := drive(join(ex[:5], ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
		t.Errorf("unanswered then answered: %v", fs)
	}
}

// TestInitialResponse: AUTH NTLM with the NEGOTIATE on the command line
// (RFC 5034 4) gives the same finding; so does a session whose AUTH was
// not captured.
func TestInitialResponse(t *testing.T) {
	ex := authExchange(t)
	ref, _ := drive(ex)
	neg := strings.TrimSpace(string(ex[2].Data))
	ir := join([]carrier.Piece{client("AUTH NTLM " + neg + "\r\n")}, ex[3:])
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carrier.Piece{"initial response": ir, "mid-exchange": mid} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carrier.Drive(pop3.Carrier, ps, chunk)
			if len(fs) != 1 || key(fs[0]) != key(ref[0]) {
				t.Errorf("%s chunk %d: %v, want %s", name, chunk, fs, key(ref[0]))
			}
		}
	}
}

// TestMultiLine: the bodies of multi-line responses are passed over, even
// when they hold lines that look like an AUTH exchange or its result.
func TestMultiLine(t *testing.T) {
	ex := authExchange(t)
	var fake string
	for _, p := range ex {
		fake += string(p.Data)
	}
	fake += "+OK\r\n-ERR\r\n..stuffed\r\n"
	greet := session(t)[:1]
	ps := join(greet, []carrier.Piece{
		client("USER liam\r\n"), server("+OK\r\n"), client("PASS s3cret\r\n"), server("+OK maildrop has 2 messages\r\n"),
		client("STAT\r\n"), server("+OK 2 320\r\n"),
		client("LIST\r\n"), server("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"),
		client("LIST 1\r\n"), server("+OK 1 120\r\n"),
		client("UIDL\r\n"), server("+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n"),
		client("RETR 1\r\n"), server("+OK 120 octets\r\nSubject: x\r\n\r\n" + fake), server(fake + ".\r\n"),
		client("RETR 9\r\n"), server("-ERR no such message\r\n"),
		client("TOP 2 0\r\n"), server("+OK\r\n" + fake + ".\r\n"),
		// pipelined (RFC 2449 6.6); read as status lines, the message
		// would answer CAPA and offer GSSAPI
		client("RETR 1\r\nRETR 2\r\nCAPA\r\n"),
		server("+OK\r\nSubject: a\r\n\r\nhi\r\n.\r\n+OK\r\n+OK\r\nSASL GSSAPI\r\n.\r\n+OK\r\nSASL NTLM\r\n.\r\n"),
		// a body whose end is lost ends when the client speaks
		client("RETR 2\r\n"), server("+OK\r\n" + fake),
	}, ex)
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := carrier.Drive(pop3.Carrier, ps, chunk)
		if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "liam" || slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("chunk %d: %v", chunk, fs)
		}
	}
}

// TestCleartextMechanisms: USER/PASS, APOP, AUTH PLAIN and LOGIN are
// passed over.
func TestCleartextMechanisms(t *testing.T) {
	ses := session(t)
	ps := join(ses[:1], []carrier.Piece{
		client("USER liam\r\n"), server("+OK\r\n"), client("PASS s3cret\r\n"), server("-ERR [AUTH] no\r\n"),
		client("APOP liam c4c9334bac560ecc979e58001b3e22fb\r\n"), server("-ERR no\r\n"),
		client("AUTH PLAIN AGxpYW0AczNjcmV0\r\n"), server("-ERR no\r\n"),
		client("AUTH LOGIN\r\n"), server("+ VXNlcm5hbWU6\r\n"), client("bGlhbQ==\r\n"), server("+ UGFzc3dvcmQ6\r\n"), client("czNjcmV0\r\n"), server("+OK yes\r\n"),
	}, ses[7:])
	for _, chunk := range []int{1, 1 << 20} {
		if fs := carrier.Drive(pop3.Carrier, ps, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings", chunk, len(fs))
		}
	}
}

// gssTokens are the GSS-wrapped Kerberos AP-REQ and AP-REP (RFC 1964 1.1)
// of the real LDAP SASL GSSAPI bind.
func gssTokens(t testing.TB) (apReq, apRep []byte) {
	t.Helper()
	oid := []byte("\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")
	for _, s := range pcaptest.Segments(t, "real-implementations/ldap_sasl_gssapi_kerberos.pcap") {
		if s.UDP || (s.DstPort != 389 && s.SrcPort != 389) {
			continue
		}
		i := bytes.Index(s.Payload, oid)
		if i < 4 {
			continue
		}
		var tok []byte
		for _, hdr := range []int{2, 3, 4} {
			b := s.Payload[i-hdr:]
			n := -1
			switch {
			case b[0] != 0x60:
			case hdr == 2 && b[1] < 0x80:
				n = int(b[1])
			case hdr == 3 && b[1] == 0x81:
				n = int(b[2])
			case hdr == 4 && b[1] == 0x82:
				n = int(b[2])<<8 | int(b[3])
			}
			if n >= 0 && hdr+n <= len(b) {
				tok = b[:hdr+n]
			}
		}
		switch {
		case tok == nil:
		case s.DstPort == 389 && apReq == nil:
			apReq = tok
		case s.SrcPort == 389 && apRep == nil:
			apRep = tok
		}
	}
	if apReq == nil || apRep == nil {
		t.Fatal("no GSS tokens in the LDAP GSSAPI capture")
	}
	return apReq, apRep
}

// TestGSSAPI: Kerberos over AUTH GSSAPI (RFC 4752), with and without an
// initial response; a server offering GSSAPI makes NTLM a fallback.
func TestGSSAPI(t *testing.T) {
	req, rep := gssTokens(t)
	b64 := base64.StdEncoding.EncodeToString
	greet := session(t)[:1]
	layer := []carrier.Piece{server("+ " + b64(rep) + "\r\n"), client("\r\n"), server("+ BQQG/wAMAAAAAAAAAAAAAA==\r\n"), client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := join(greet, []carrier.Piece{client("AUTH GSSAPI\r\n"), server("+ \r\n"), client(b64(req) + "\r\n")}, layer, []carrier.Piece{server("+OK done\r\n")})
	ir := join(greet, []carrier.Piece{client("AUTH GSSAPI " + b64(req) + "\r\n")}, layer, []carrier.Piece{server("-ERR [AUTH] no\r\n")})
	for name, c := range map[string]struct {
		ps      []carrier.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "POP3 +OK"}, "gssapi-ir": {ir, findings.Failure, "POP3 -ERR"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carrier.Drive(pop3.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if f.Mechanism != "kerberos" || f.Kerberos.Request != "AP" || f.Kerberos.Realm != "LAB.TEST" || f.Kerberos.SName != "ldap/dc1.lab.test" ||
				f.Kerberos.TicketEtype != 18 || f.Outcome != c.outcome || f.Reason != c.reason || f.Protocol != "pop3" || len(f.Flags) != 0 {
				t.Errorf("%s: %s", name, f.AppendJSON(nil))
			}
		}
	}

	ex := authExchange(t)
	for name, offer := range map[string][]carrier.Piece{
		"capa":      {client("CAPA\r\n"), server("+OK\r\nUSER\r\nSASL NTLM GSSAPI\r\n.\r\n")},
		"auth list": {client("AUTH\r\n"), server("+OK\r\nNTLM\r\ngss-spnego\r\n.\r\n")},
	} {
		fs, _ := drive(join(greet, offer, ex))
		if len(fs) != 1 || !slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("NTLM with Kerberos offered by %s: %v", name, fs)
		}
	}
	for name, offer := range map[string][]carrier.Piece{
		"capa":           capa,
		"refused list":   {client("AUTH\r\n"), server("-ERR GSSAPI not here\r\n")},
		"not capa lines": {client("CAPA\r\n"), server("+OK\r\nIMPLEMENTATION GSSAPI\r\n.\r\n")},
	} {
		fs, _ := drive(join(greet, offer, ex))
		if len(fs) != 1 || slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("NTLM alone offered by %s: %v", name, fs)
		}
	}
}

// TestGaps: pieces lost in transit. Losing the final reply leaves the
// attempt's outcome unknown; losing anything else loses no attempt.
func TestGaps(t *testing.T) {
	ps := session(t)
	for name, c := range map[string]struct {
		lost    []string // prefixes of the pieces lost
		outcome findings.Outcome
	}{
		"final +OK": {[]string{"+OK Logged"}, findings.Unknown},
		"greeting":  {[]string{"+OK POP3"}, findings.Success},
		"first +":   {[]string{"+ \r"}, findings.Success},
		"NEGOTIATE": {[]string{"TlRMTVNTUAAB"}, findings.Success},
		"challenge": {[]string{"+ TlRM"}, findings.Success},
	} {
		lost := map[int]bool{}
		for _, prefix := range c.lost {
			i := slices.IndexFunc(ps, func(p carrier.Piece) bool { return bytes.HasPrefix(p.Data, []byte(prefix)) })
			if i < 0 {
				t.Fatalf("%s: no piece starts with %q", name, prefix)
			}
			lost[i] = true
		}
		fs, _ := feed(ps, lost)
		if len(fs) != 1 || fs[0].Outcome != c.outcome || fs[0].UserName != "liam" {
			t.Errorf("%s lost: %v", name, fs)
		}
	}
}

// TestBulkPathAllocates: commands, responses and messages without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	h := pop3.Carrier.New(carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:110"), false, "", nil))
	ts := time.Unix(1700000000, 0)
	steps := []carrier.Piece{
		client("STAT\r\nLIST\r\n"), server("+OK 1 2400\r\n+OK\r\n1 2400\r\n.\r\n"),
		client("RETR 1\r\n"), server("+OK\r\n" + strings.Repeat("a line of the message\r\n", 100) + ".\r\n"),
		client("CAPA\r\n"), server("+OK\r\nTOP\r\nSASL NTLM\r\n.\r\n"),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range steps {
			if n := h.Feed(p.ToServer, p.Data, ts); n != len(p.Data) {
				t.Fatalf("%d of %d bytes used", n, len(p.Data))
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per session", allocs)
	}
}

// TestDetect: the +OK greeting or a POP3 opening command is POP3; the
// other protocols' first bytes are not.
func TestDetect(t *testing.T) {
	tests := []struct {
		toServer bool
		in       string
		want     carrier.Verdict
	}{
		{false, "+OK POP3 server ready\r\n", carrier.Yes},
		{false, "+OK\r\n", carrier.Yes},
		{false, "+OK", carrier.Yes},
		{false, "+O", carrier.Maybe},
		{false, "", carrier.Maybe},
		{false, "+OKAY\r\n", carrier.No},
		{false, "* OK IMAP4rev1 server ready\r\n", carrier.No},
		{false, "+ \r\n", carrier.No},
		{false, "220 mail.example.com ESMTP\r\n", carrier.No},
		{false, "HTTP/1.1 200 OK\r\n", carrier.No},
		{true, "AUTH NTLM\r\n", carrier.Yes},
		{true, "auth\r\n", carrier.Yes},
		{true, "USER liam\r\n", carrier.Yes},
		{true, "APOP liam c4c9334bac560ecc979e58001b3e22fb\r\n", carrier.Yes},
		{true, "CAPA\r\n", carrier.Yes},
		{true, "STLS\r\n", carrier.Yes},
		{true, "CA", carrier.Maybe},
		{true, "AUTHENTICATE\r\n", carrier.No},
		{true, "a001 AUTH NTLM\r\n", carrier.No},
		{true, "EHLO x\r\n", carrier.No},
		{true, "GET / HTTP/1.1\r\n", carrier.No},
		{true, "\x16\x03\x01\x02\x00", carrier.No},
	}
	for _, tt := range tests {
		if got := pop3.Carrier.Detect(tt.toServer, []byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%v, %q) = %v, want %v", tt.toServer, tt.in, got, tt.want)
		}
	}
}

// FuzzHandler drives the POP3 carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	var c, s []byte
	for _, p := range pieces(f, synthetic, 110) {
		if p.ToServer {
			c = append(c, p.Data...)
		} else {
			s = append(s, p.Data...)
		}
	}
	f.Add(c, s, uint16(64))
	f.Add(c, s, uint16(3))
	const neg = "TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1BPUDNET01QT1AzSE9TVA=="
	f.Add([]byte("CAPA\r\nAUTH\r\nRETR 1\r\nLIST\r\nAUTH NTLM "+neg+"\r\n*\r\nSTLS\r\n"),
		[]byte("+OK\r\nSASL GSSAPI\r\n.\r\n+OK\r\nNTLM\r\n.\r\n+OK\r\nx\r\n.\r\n-ERR\r\n+ "+neg+"\r\n-ERR\r\n+OK\r\n"), uint16(5))
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) {
		for _, fd := range carrier.Drive(pop3.Carrier, carrier.Alternate(c, s, int(n%4096)+1), int(n%61)+1) {
			if fd.Outcome == "" || fd.Protocol != "pop3" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
		// and with pieces lost in transit
		ps := carrier.Alternate(c, s, int(n%509)+1)
		lost := map[int]bool{}
		for i := int(n % 5); i < len(ps); i += int(n%7) + 2 {
			lost[i] = true
		}
		fs, _ := feed(ps, lost)
		for _, fd := range fs {
			if fd.Outcome == "" || fd.Protocol != "pop3" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
