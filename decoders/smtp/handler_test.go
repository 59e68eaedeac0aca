package smtp_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/ntlmscan"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/decoders/smtp"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

const (
	realCapture = "real-implementations/smtp_auth_ntlm.pcap"
	synthetic   = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// analyse runs the real pipeline over a capture with the given carriers
// (the SMTP carrier alone when none are given).
func analyse(t testing.TB, rel string, carriers ...*carrier.Carrier) []*findings.Finding {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join("..", "..", "pcaps", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if len(carriers) == 0 {
		carriers = []*carrier.Carrier{smtp.Carrier}
	}
	var out []*findings.Finding
	cfg := sensor.DefaultConfig()
	cfg.Carriers = carriers
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

type expectation struct {
	F   map[string]any `json:"f"`
	Req []string       `json:"req"`
	No  []string       `json:"no"`
}

// expected reads a capture's entry of pcaps/real-implementations/expect.json.
func expected(t testing.TB, name string) []expectation {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "pcaps", "real-implementations", "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	var exps []expectation
	if err := json.Unmarshal(spec[name], &exps); err != nil {
		t.Fatal(err)
	}
	return exps
}

// matchExpected: each expectation is met by a finding of its own, and there
// is no other finding.
func matchExpected(t *testing.T, finds []*findings.Finding, exps []expectation) {
	t.Helper()
	if len(finds) != len(exps) {
		for _, f := range finds {
			t.Logf("%s", f.AppendJSON(nil))
		}
		t.Fatalf("%d findings, want %d", len(finds), len(exps))
	}
	used := make([]bool, len(finds))
	for _, e := range exps {
		found := false
		for i, f := range finds {
			if used[i] {
				continue
			}
			m, fl := doc(t, f), flagIDs(f)
			ok := true
			for k, v := range e.F {
				got := lookup(m, k)
				if gs, isStr := got.(string); isStr {
					ws, _ := v.(string)
					ok = ok && strings.EqualFold(gs, ws)
				} else {
					ok = ok && got == v
				}
			}
			for _, r := range e.Req {
				ok = ok && slices.Contains(fl, r)
			}
			for _, n := range e.No {
				ok = ok && !slices.Contains(fl, n)
			}
			if ok {
				used[i], found = true, true
				break
			}
		}
		if !found {
			for _, f := range finds {
				t.Logf("%s", f.AppendJSON(nil))
			}
			t.Errorf("no finding meets %+v", e)
		}
	}
}

// TestRealCapture: curl's AUTH NTLM to the test server gives exactly the
// finding of expect.json.
func TestRealCapture(t *testing.T) {
	finds := analyse(t, realCapture)
	matchExpected(t, finds, expected(t, "smtp_auth_ntlm.pcap"))
	if len(finds) != 1 {
		return
	}
	f := finds[0]
	m := doc(t, f)
	want := map[string]any{
		"@timestamp":          "2026-11-25T13:55:25.888662Z", // frame 17, the 235
		"event.kind":          "event",
		"event.severity":      3.0, // ntlm_no_mic: high
		"event.outcome":       "success",
		"event.reason":        "SMTP 235",
		"source.ip":           "127.0.0.5",
		"source.port":         54812.0,
		"destination.ip":      "127.0.0.30",
		"destination.port":    25.0,
		"network.transport":   "tcp",
		"network.protocol":    "smtp",
		"user.name":           "alice",
		"user.domain":         "LAB",
		"auth.mechanism":      "ntlm",
		"auth.spnego":         false,
		"ntlm.version":        "NTLMv2",
		"ntlm.workstation":    "WORKSTATION",
		"ntlm.mic":            false,
		"ntlm.lm_response":    false,
		"ntlm.sign":           false,
		"ntlm.seal":           false,
		"ntlm.flags":          "0x02890206",
		"ntlm.target_name":    nil, // TRUTH.md: no MsvAvTargetName
		"ntlm.client_version": nil,
	}
	for k, v := range want {
		if got := lookup(m, k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if fl := flagIDs(f); !slices.Equal(fl, []string{"ntlm_direct", "ntlm_no_mic"}) {
		t.Errorf("flags %v", fl)
	}
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

// TestSyntheticCapture: Arkime's SMTPDOM\jack session, compared with the
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

	rows := tsvRows(t, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "25", "ntlmssp.messagetype": "0x00000003"})
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

	a := arkimeSession(t, "smtp")
	if first(a["user"]) != f.UserName || first(lookup(a, "ntlm.domain")) != f.UserDomain ||
		first(lookup(a, "ntlm.host")) != f.NTLM.Workstation || first(lookup(a, "ntlm.version")) != f.NTLM.ClientVersion ||
		lookup(a, "network.community_id") != f.CommunityID {
		t.Errorf("finding %+v; Arkime %v %v", f, a["user"], a["ntlm"])
	}

	// pinned: the oracle shows 235 in frame 150
	if f.Outcome != findings.Success || f.Reason != "SMTP 235" || !f.Time.Equal(time.Unix(1700000005, 946e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	if f.Protocol != "smtp" || f.Mechanism != "ntlm" || f.SPNEGO != findings.False || f.NTLM.LMResponse != findings.True ||
		f.NTLM.ClientVersion != "10.0.19041" || f.NTLM.ServerVersion != "10.0.19041" || f.NTLM.Flags != 0x02000205 {
		t.Errorf("finding %+v", f)
	}
	if fl := flagIDs(f); !slices.Equal(fl, []string{"ntlm_v1", "ntlm_lm", "ntlm_direct"}) {
		t.Errorf("flags %v", fl)
	}
}

// TestCarriersTogether: in the registration order, SMTP, IMAP and POP3 each
// take their own stream and leave the others' (and HTTP's, SMB's) alone.
func TestCarriersTogether(t *testing.T) {
	all := []*carrier.Carrier{smb.Carrier, http.Carrier, smtp.Carrier, imap.Carrier, pop3.Carrier, ntlmscan.Carrier}
	got := map[string]string{}
	for _, f := range analyse(t, synthetic, all...) {
		switch f.Server.Port() {
		case 25, 143, 110:
			got[f.Protocol] += f.UserDomain + `\` + f.UserName + " "
		}
	}
	want := map[string]string{"smtp": `SMTPDOM\jack `, "imap": `IMAPDOM\kate `, "pop3": `POP3DOM\liam `}
	if !mapsEqual(got, want) {
		t.Errorf("findings by protocol %q, want %q", got, want)
	}
	for rel, proto := range map[string]string{realCapture: "smtp", "real-implementations/imap_auth_ntlm.pcap": "imap"} {
		fs := analyse(t, rel, all...)
		if len(fs) != 1 || fs[0].Protocol != proto {
			t.Errorf("%s: %d findings, want one of %s", rel, len(fs), proto)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
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

// session is the real capture's conversation, one piece per segment.
func session(t testing.TB) []carrier.Piece { return pieces(t, realCapture, 25) }

// cut returns the pieces before (and from) the first one that starts with prefix.
func cut(t testing.TB, ps []carrier.Piece, prefix string) (before, after []carrier.Piece) {
	t.Helper()
	for i, p := range ps {
		if bytes.HasPrefix(p.Data, []byte(prefix)) {
			return slices.Clone(ps[:i]), slices.Clone(ps[i:])
		}
	}
	t.Fatalf("no piece starts with %q", prefix)
	return nil, nil
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

// authExchange is the real capture's AUTH NTLM exchange, from the AUTH
// command to the 235.
func authExchange(t testing.TB) []carrier.Piece {
	_, rest := cut(t, session(t), "AUTH NTLM")
	ex, _ := cut(t, rest, "MAIL FROM")
	return ex
}

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carrier.Piece) ([]*findings.Finding, bool) { return feed(ps, nil) }

// feed is drive where the pieces whose index is in lost are lost in
// transit: the handler is told of a gap instead.
func feed(ps []carrier.Piece, lost map[int]bool) ([]*findings.Finding, bool) {
	var out []*findings.Finding
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:25"), false, "", func(f *findings.Finding) { out = append(out, f) })
	h := smtp.Carrier.New(conn)
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

// TestHandlerChunking: however the bytes are cut, the findings are those
// of the pipeline.
func TestHandlerChunking(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want int
	}{{realCapture, 1}, {synthetic, 1}} {
		ref := analyse(t, c.rel)
		if len(ref) != c.want {
			t.Fatalf("%s: %d findings", c.rel, len(ref))
		}
		ps := pieces(t, c.rel, 25)
		for _, chunk := range []int{1, 7, 1 << 20} {
			fs := carrier.Drive(smtp.Carrier, ps, chunk)
			if len(fs) != len(ref) {
				t.Fatalf("%s chunk %d: %d findings, want %d", c.rel, chunk, len(fs), len(ref))
			}
			for i := range fs {
				if key(fs[i]) != key(ref[i]) {
					t.Errorf("%s chunk %d:\n%s\nwant\n%s", c.rel, chunk, key(fs[i]), key(ref[i]))
				}
			}
		}
	}
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03AUTH NTLM\r\nTlRMTVNTUAAD\r\n"

// TestStartTLS: once the server accepts STARTTLS nothing after is read,
// not even the cleartext AUTH exchange replayed behind the handshake.
func TestStartTLS(t *testing.T) {
	before, after := cut(t, session(t), "AUTH NTLM")
	before = replace(t, before, "250-AUTH NTLM", "250-STARTTLS\r\n250-AUTH NTLM")
	tls := join(before, []carrier.Piece{client("STARTTLS\r\n"), server("220 2.0.0 Ready to start TLS\r\n"), client(tlsHello), server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after)
	fs, done := drive(tls)
	if len(fs) != 0 || !done {
		t.Errorf("after STARTTLS: %d findings, done %v; want none, done", len(fs), done)
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		if fs := carrier.Drive(smtp.Carrier, tls, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings after STARTTLS", chunk, len(fs))
		}
	}

	// refused: the session goes on in clear and its AUTH is read
	refused := join(before, []carrier.Piece{client("STARTTLS\r\n"), server("454 4.7.0 TLS not available due to temporary reason\r\n")}, after)
	fs, done = drive(refused)
	if len(fs) != 1 || done || fs[0].UserName != "alice" || fs[0].Outcome != findings.Success {
		t.Errorf("STARTTLS refused: %d findings, done %v", len(fs), done)
	}

	// pipelined after EHLO (RFC 2920): the 220 answers STARTTLS, not EHLO
	greet, _ := cut(t, before, "EHLO")
	piped := join(greet, []carrier.Piece{client("EHLO x\r\nSTARTTLS\r\n"), server("250-mx\r\n250 STARTTLS\r\n"), server("220 go ahead\r\n"), client(tlsHello)}, after)
	if fs, done := drive(piped); len(fs) != 0 || !done {
		t.Errorf("pipelined STARTTLS: %d findings, done %v", len(fs), done)
	}
}

// TestOutcomes: failure, retry, cancel, and no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	failed := replace(t, ex, "235 2.7.0 Authentication successful", "535 5.7.8 Authentication credentials invalid")
	fs, _ := drive(join(failed, ex))
	if len(fs) != 2 || fs[0].Outcome != findings.Failure || fs[0].Reason != "SMTP 535" || fs[1].Outcome != findings.Success || fs[1].Reason != "SMTP 235" {
		t.Errorf("failure then success: %v", fs)
	}
	for _, f := range fs {
		if f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Workstation != "WORKSTATION" {
			t.Errorf("finding %+v", f)
		}
	}

	temp := replace(t, ex, "235 2.7.0 Authentication successful", "454 4.7.0 Temporary authentication failure")
	if fs, _ := drive(temp); len(fs) != 1 || fs[0].Outcome != findings.Failure || fs[0].Reason != "SMTP 454" {
		t.Errorf("454: %v", fs)
	}

	// the client cancels after the CHALLENGE (RFC 4954 4): no attempt
	cancel := join(ex[:4], []carrier.Piece{client("*\r\n"), server("501 5.7.0 Authentication cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:len(ex)-1]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "alice" {
		t.Errorf("no answer: %v", fs)
	}
	// a new AUTH while the last one waits: that one's outcome is unknown
	if fs, _ := drive(join(ex[:len(ex)-1], ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
		t.Errorf("unanswered then answered: %v", fs)
	}
}

// tokens are the base64 NEGOTIATE and AUTHENTICATE of the real session.
func tokens(t testing.TB) (negotiate, authenticate string) {
	t.Helper()
	var toks []string
	for _, p := range session(t) {
		if p.ToServer && bytes.HasPrefix(p.Data, []byte("TlRM")) {
			toks = append(toks, string(bytes.TrimSpace(p.Data)))
		}
	}
	if len(toks) != 2 {
		t.Fatalf("%d client tokens", len(toks))
	}
	return toks[0], toks[1]
}

// TestInitialResponse: AUTH NTLM with the NEGOTIATE on the command line
// (RFC 4954 4) gives the same finding; so does a session whose AUTH
// command was not captured.
func TestInitialResponse(t *testing.T) {
	ex := authExchange(t)
	ref, _ := drive(ex)
	neg, _ := tokens(t)
	var ir []carrier.Piece
	for _, p := range ex {
		switch {
		case bytes.Equal(p.Data, []byte("AUTH NTLM\r\n")):
			ir = append(ir, client("AUTH NTLM "+neg+"\r\n"))
		case bytes.Equal(p.Data, []byte("334 \r\n")), string(p.Data) == neg+"\r\n":
		default:
			ir = append(ir, p)
		}
	}
	if len(ir) != len(ex)-2 {
		t.Fatalf("initial response session: %d pieces", len(ir))
	}
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carrier.Piece{"initial response": ir, "mid-exchange": mid} {
		fs, _ := drive(ps)
		if len(fs) != 1 || key(fs[0]) != key(ref[0]) {
			t.Errorf("%s: %v, want %s", name, fs, key(ref[0]))
		}
	}
}

// TestCleartextMechanisms: PLAIN and LOGIN are passed over; no finding.
func TestCleartextMechanisms(t *testing.T) {
	before, after := cut(t, session(t), "AUTH NTLM")
	_, mail := cut(t, after, "MAIL FROM")
	plain := join(before, []carrier.Piece{client("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"), server("235 2.7.0 ok\r\n")}, mail)
	login := join(before, []carrier.Piece{
		client("AUTH LOGIN\r\n"), server("334 VXNlcm5hbWU6\r\n"), client("YWxpY2U=\r\n"),
		server("334 UGFzc3dvcmQ6\r\n"), client("czNjcmV0\r\n"), server("535 5.7.8 no\r\n"),
	}, mail)
	for name, ps := range map[string][]carrier.Piece{"plain": plain, "login": login} {
		for _, chunk := range []int{1, 1 << 20} {
			if fs := carrier.Drive(smtp.Carrier, ps, chunk); len(fs) != 0 {
				t.Errorf("%s: %d findings", name, len(fs))
			}
		}
	}
	// an NTLM exchange after a refused LOGIN is read
	if fs, _ := drive(join(login[:len(login)-len(mail)], authExchange(t))); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("LOGIN then NTLM: %v", fs)
	}
}

// TestMessageContent: DATA content and BDAT chunks are passed over, even
// when they hold lines that look like an AUTH exchange.
func TestMessageContent(t *testing.T) {
	neg, authn := tokens(t)
	fake := "AUTH NTLM\r\n" + neg + "\r\n" + authn + "\r\n235 ok\r\n..leading dot\r\n"
	greet, rest := cut(t, session(t), "AUTH NTLM")
	ex, _ := cut(t, rest, "MAIL FROM")
	data := join(greet, []carrier.Piece{
		client("MAIL FROM:<a@lab.test>\r\n"), server("250 ok\r\n"), client("RCPT TO:<b@lab.test>\r\n"), server("250 ok\r\n"),
		client("DATA\r\n"), server("354 go\r\n"), client("Subject: x\r\n\r\n" + fake), client(fake + ".\r\n"), server("250 queued\r\n"),
	}, ex)
	bdatChunk := "Subject: y\r\n\r\n" + fake
	bdat := join(greet, []carrier.Piece{
		client("MAIL FROM:<a@lab.test>\r\n"), server("250 ok\r\n"), client("RCPT TO:<b@lab.test>\r\n"), server("250 ok\r\n"),
		client("BDAT " + strconv.Itoa(len(bdatChunk)) + "\r\n" + bdatChunk), server("250 chunk\r\n"),
		client("BDAT " + strconv.Itoa(len(fake)) + " LAST\r\n"), client(fake), server("250 queued\r\n"),
	}, ex)
	// a body whose end is not seen ends with the server's reply
	lost := join(greet, []carrier.Piece{client("DATA\r\n"), server("354 go\r\n"), client(fake), server("250 queued\r\n")}, ex)
	for name, ps := range map[string][]carrier.Piece{"data": data, "bdat": bdat, "unterminated": lost} {
		for _, chunk := range []int{1, 7, 1 << 20} {
			fs := carrier.Drive(smtp.Carrier, ps, chunk)
			if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "alice" {
				t.Errorf("%s chunk %d: %d findings", name, chunk, len(fs))
			}
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
			p := i - hdr
			b := s.Payload[p:]
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
	greet, _ := cut(t, session(t), "AUTH NTLM")
	greet = replace(t, greet, "250-AUTH NTLM", "250-AUTH GSSAPI NTLM")
	layer := []carrier.Piece{server("334 " + b64(rep) + "\r\n"), client("\r\n"), server("334 BQQG/wAMAAAAAAAAAAAAAA==\r\n"), client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := join(greet, []carrier.Piece{client("AUTH GSSAPI\r\n"), server("334 \r\n"), client(b64(req) + "\r\n")}, layer, []carrier.Piece{server("235 2.7.0 ok\r\n")})
	ir := join(greet, []carrier.Piece{client("AUTH GSSAPI " + b64(req) + "\r\n")}, layer, []carrier.Piece{server("535 5.7.8 no\r\n")})
	for name, c := range map[string]struct {
		ps      []carrier.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "SMTP 235"}, "gssapi-ir": {ir, findings.Failure, "SMTP 535"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carrier.Drive(smtp.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if f.Mechanism != "kerberos" || f.Kerberos.Request != "AP" || f.Kerberos.Realm != "LAB.TEST" || f.Kerberos.SName != "ldap/dc1.lab.test" ||
				f.Kerberos.TicketEtype != 18 || f.Outcome != c.outcome || f.Reason != c.reason || f.Protocol != "smtp" || len(f.Flags) != 0 {
				t.Errorf("%s: %s", name, f.AppendJSON(nil))
			}
		}
	}

	fs, _ := drive(join(greet, authExchange(t)))
	if len(fs) != 1 || !slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
		t.Errorf("NTLM with GSSAPI offered: %v", fs)
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
		"final reply":        {[]string{"235 "}, findings.Unknown},
		"EHLO reply":         {[]string{"250-mail"}, findings.Success},
		"first 334":          {[]string{"334 \r"}, findings.Success},
		"NEGOTIATE":          {[]string{"TlRMTVNTUAAB"}, findings.Success},
		"challenge":          {[]string{"334 TlRM"}, findings.Success},
		"message content":    {[]string{"Subject:"}, findings.Success},
		"message terminator": {[]string{".\r\n"}, findings.Success},
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
		if len(fs) != 1 || fs[0].Outcome != c.outcome || fs[0].UserName != "alice" {
			t.Errorf("%s lost: %v", name, fs)
		}
	}
}

// TestBulkPathAllocates: commands, replies and message content without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	h := smtp.Carrier.New(carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:25"), false, "", nil))
	ts := time.Unix(1700000000, 0)
	steps := []carrier.Piece{
		client("MAIL FROM:<a@lab.test>\r\nRCPT TO:<b@lab.test>\r\nDATA\r\n"), server("250 ok\r\n250 ok\r\n354 go\r\n"),
		client(strings.Repeat("a line of the message\r\n", 100) + ".\r\n"), server("250 queued\r\n"),
		client("BDAT 4 LAST\r\nabcd"), server("250 ok\r\n"),
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

// der is a DER element: tag, length, content.
func der(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	switch n := len(c); {
	case n < 0x80:
		return append([]byte{tag, byte(n)}, c...)
	case n < 0x100:
		return append([]byte{tag, 0x81, byte(n)}, c...)
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, c...)
	}
}

// TestGSSSPNEGO: AUTH GSS-SPNEGO carries the NTLM messages in SPNEGO
// (RFC 4178): auth.spnego is true, so NTLM is not "direct".
func TestGSSSPNEGO(t *testing.T) {
	neg, authn := tokens(t)
	raw := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ntlmOID := []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}
	spnegoOID := []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
	// NegTokenInit (RFC 4178 4.2.1) in its GSS framing; NegTokenResp (4.2.2)
	init := der(0x60, der(0x06, spnegoOID), der(0xa0, der(0x30, der(0xa0, der(0x30, der(0x06, ntlmOID))), der(0xa2, der(0x04, raw(neg))))))
	resp := der(0xa1, der(0x30, der(0xa2, der(0x04, raw(authn)))))
	accept := der(0xa1, der(0x30, der(0xa0, der(0x0a, []byte{0}))))
	var chal string
	for _, p := range authExchange(t) {
		if bytes.HasPrefix(p.Data, []byte("334 TlRM")) {
			chal = strings.TrimSpace(string(p.Data[4:]))
		}
	}
	challenge := der(0xa1, der(0x30, der(0xa0, der(0x0a, []byte{1})), der(0xa1, der(0x06, ntlmOID)), der(0xa2, der(0x04, raw(chal)))))
	b64 := base64.StdEncoding.EncodeToString
	greet, _ := cut(t, session(t), "AUTH NTLM")
	ps := join(greet, []carrier.Piece{
		client("AUTH GSS-SPNEGO " + b64(init) + "\r\n"), server("334 " + b64(challenge) + "\r\n"),
		client(b64(resp) + "\r\n"), server("334 " + b64(accept) + "\r\n"), client("\r\n"), server("235 2.7.0 ok\r\n"),
	})
	fs := carrier.Drive(smtp.Carrier, ps, 7)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	f := fs[0]
	if f.Mechanism != "ntlm" || f.SPNEGO != findings.True || !slices.Equal(f.Offered, []string{"ntlm"}) || f.UserName != "alice" ||
		f.Outcome != findings.Success || !slices.Equal(flagIDs(f), []string{"ntlm_no_mic"}) {
		t.Errorf("%s", f.AppendJSON(nil))
	}
}

// TestDetect: the greeting or EHLO/HELO is SMTP; the other protocols'
// first bytes are not.
func TestDetect(t *testing.T) {
	tests := []struct {
		toServer bool
		in       string
		want     carrier.Verdict
	}{
		{false, "220 mail.lab.test ESMTP ntlm-test-server\r\n", carrier.Yes},
		{false, "220-mx.example.com ESMTP\r\n220 ready\r\n", carrier.Yes},
		{false, "220 ", carrier.Yes},
		{false, "22", carrier.Maybe},
		{false, "", carrier.Maybe},
		{false, "220 ftp.example.com ESMTP Postfix\r\n", carrier.Yes},
		{false, "220 (vsFTPd 3.0.5)\r\n", carrier.No},
		{false, "220 ProFTPD Server (Debian) [::ffff:192.0.2.2]\r\n", carrier.No},
		{false, "220 Microsoft FTP Service\r\n", carrier.No},
		{false, "2200 x", carrier.No},
		{false, "250 ok\r\n", carrier.No},
		{false, "+OK POP3 server ready\r\n", carrier.No},
		{false, "* OK IMAP4rev1 server ready\r\n", carrier.No},
		{false, "HTTP/1.1 200 OK\r\n", carrier.No},
		{true, "EHLO mail.txt\r\n", carrier.Yes},
		{true, "helo x\r\n", carrier.Yes},
		{true, "EHL", carrier.Maybe},
		{true, "EHLOX\r\n", carrier.No},
		{true, "AUTH NTLM\r\n", carrier.No}, // POP3's as much as SMTP's
		{true, "USER liam\r\n", carrier.No},
		{true, "a001 AUTHENTICATE NTLM\r\n", carrier.No},
		{true, "GET / HTTP/1.1\r\n", carrier.No},
		{true, "\x00\x00\x00\x85\xffSMB", carrier.No},
	}
	for _, tt := range tests {
		if got := smtp.Carrier.Detect(tt.toServer, []byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%v, %q) = %v, want %v", tt.toServer, tt.in, got, tt.want)
		}
	}
}

// seedPieces are the client and server bytes of the captures' SMTP sessions.
func seedPieces(f *testing.F) {
	for _, rel := range []string{realCapture, synthetic} {
		var c, s []byte
		for _, p := range pieces(f, rel, 25) {
			if p.ToServer {
				c = append(c, p.Data...)
			} else {
				s = append(s, p.Data...)
			}
		}
		f.Add(c, s, uint16(64))
		f.Add(c, s, uint16(3))
	}
	const neg = "TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="
	f.Add([]byte("EHLO x\r\nDATA\r\nx\r\n.\r\nBDAT 5 LAST\r\nAUTH NTLM "+neg+"\r\n*\r\nSTARTTLS\r\n"), []byte("220 x\r\n250 ok\r\n354 go\r\n250 ok\r\n334 "+neg+"\r\n220 go\r\n"), uint16(5))
}

// FuzzHandler drives the SMTP carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	seedPieces(f)
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) {
		for _, fd := range carrier.Drive(smtp.Carrier, carrier.Alternate(c, s, int(n%4096)+1), int(n%61)+1) {
			if fd.Outcome == "" || fd.Protocol != "smtp" {
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
			if fd.Outcome == "" || fd.Protocol != "smtp" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
