package imap_test

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
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

const (
	realCapture = "real-implementations/imap_auth_ntlm.pcap"
	synthetic   = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// analyse runs the real pipeline over a capture with the IMAP carrier alone.
func analyse(t testing.TB, rel string) []*findings.Finding {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join("..", "..", "pcaps", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []*findings.Finding
	cfg := sensor.DefaultConfig()
	cfg.Carriers = []*carrier.Carrier{imap.Carrier}
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

// TestRealCapture: curl's AUTHENTICATE NTLM to the test server gives
// exactly the finding of expect.json.
func TestRealCapture(t *testing.T) {
	finds := analyse(t, realCapture)
	matchExpected(t, finds, expected(t, "imap_auth_ntlm.pcap"))
	if len(finds) != 1 {
		return
	}
	f := finds[0]
	m := doc(t, f)
	want := map[string]any{
		"@timestamp":          "2026-11-25T13:55:28.976763Z", // frame 17, A002 OK
		"event.kind":          "event",
		"event.severity":      3.0, // ntlm_no_mic: high
		"event.outcome":       "success",
		"event.reason":        "IMAP OK",
		"source.ip":           "127.0.0.5",
		"source.port":         59134.0,
		"destination.ip":      "127.0.0.30",
		"destination.port":    143.0,
		"network.transport":   "tcp",
		"network.protocol":    "imap",
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

// TestSyntheticCapture: Arkime's IMAPDOM\kate session (over IPv6),
// compared with the tshark oracle rows and with Arkime's own output.
func TestSyntheticCapture(t *testing.T) {
	finds := analyse(t, synthetic)
	if len(finds) != 1 {
		for _, f := range finds {
			t.Logf("%s", f.AppendJSON(nil))
		}
		t.Fatalf("%d findings, want 1", len(finds))
	}
	f := finds[0]

	rows := tsvRows(t, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "143", "ntlmssp.messagetype": "0x00000003"})
	if len(rows) != 1 {
		t.Fatalf("%d oracle AUTHENTICATE rows", len(rows))
	}
	r := rows[0]
	if f.UserName != r["ntlmssp.auth.username"] || f.UserDomain != r["ntlmssp.auth.domain"] ||
		f.NTLM.Workstation != r["ntlmssp.auth.hostname"] || f.NTLM.Version != r["ntlm_version"] {
		t.Errorf("finding %s\\%s from %s %s; tshark %v", f.UserDomain, f.UserName, f.NTLM.Workstation, f.NTLM.Version, r)
	}
	src := netip.MustParseAddrPort("[" + r["ipv6.src"] + "]:" + r["tcp.srcport"])
	dst := netip.MustParseAddrPort("[" + r["ipv6.dst"] + "]:" + r["tcp.dstport"])
	if f.Client != src || f.Server != dst {
		t.Errorf("endpoints %v -> %v, want %v -> %v", f.Client, f.Server, src, dst)
	}

	a := arkimeSession(t, "imap")
	if first(a["user"]) != f.UserName || first(lookup(a, "ntlm.domain")) != f.UserDomain ||
		first(lookup(a, "ntlm.host")) != f.NTLM.Workstation || first(lookup(a, "ntlm.version")) != f.NTLM.ClientVersion ||
		lookup(a, "network.community_id") != f.CommunityID {
		t.Errorf("finding %+v; Arkime %v %v", f, a["user"], a["ntlm"])
	}

	// pinned: the oracle shows "a001 OK AUTHENTICATE completed" in frame 174
	if f.Outcome != findings.Success || f.Reason != "IMAP OK" || !f.Time.Equal(time.Unix(1700000006, 594e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	if f.Protocol != "imap" || f.Mechanism != "ntlm" || f.SPNEGO != findings.False || f.NTLM.LMResponse != findings.True ||
		f.NTLM.ClientVersion != "10.0.19041" || f.NTLM.ServerVersion != "10.0.19041" || f.NTLM.Flags != 0x02000205 {
		t.Errorf("finding %+v", f)
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

// session is the real capture's conversation, one piece per segment.
func session(t testing.TB) []carrier.Piece { return pieces(t, realCapture, 143) }

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

// authExchange is the real capture's AUTHENTICATE NTLM exchange, from the
// command to its tagged OK: A002 AUTHENTICATE NTLM, "+ ", NEGOTIATE,
// "+ " CHALLENGE, AUTHENTICATE, A002 OK.
func authExchange(t testing.TB) []carrier.Piece {
	_, rest := cut(t, session(t), "A002 AUTHENTICATE NTLM")
	ex, _ := cut(t, rest, "A003 SELECT")
	if len(ex) != 6 {
		t.Fatalf("AUTHENTICATE exchange in %d pieces", len(ex))
	}
	return ex
}

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carrier.Piece) ([]*findings.Finding, bool) { return feed(ps, nil) }

// feed is drive where the pieces whose index is in lost are lost in
// transit: the handler is told of a gap instead.
func feed(ps []carrier.Piece, lost map[int]bool) ([]*findings.Finding, bool) {
	var out []*findings.Finding
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:143"), false, "", func(f *findings.Finding) { out = append(out, f) })
	h := imap.Carrier.New(conn)
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
	for _, rel := range []string{realCapture, synthetic} {
		ref := analyse(t, rel)
		if len(ref) != 1 {
			t.Fatalf("%s: %d findings", rel, len(ref))
		}
		ps := pieces(t, rel, 143)
		for _, chunk := range []int{1, 7, 1 << 20} {
			fs := carrier.Drive(imap.Carrier, ps, chunk)
			if len(fs) != len(ref) {
				t.Fatalf("%s chunk %d: %d findings, want %d", rel, chunk, len(fs), len(ref))
			}
			for i := range fs {
				if key(fs[i]) != key(ref[i]) {
					t.Errorf("%s chunk %d:\n%s\nwant\n%s", rel, chunk, key(fs[i]), key(ref[i]))
				}
			}
		}
	}
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03A002 AUTHENTICATE NTLM\r\nTlRMTVNTUAAD\r\n"

// TestStartTLS: once the server accepts STARTTLS (or COMPRESS) nothing
// after is read, not even the cleartext exchange replayed behind it.
func TestStartTLS(t *testing.T) {
	before, after := cut(t, session(t), "A002 AUTHENTICATE NTLM")
	before = replace(t, before, "* CAPABILITY IMAP4rev1 AUTH=NTLM", "* CAPABILITY IMAP4rev1 STARTTLS COMPRESS=DEFLATE AUTH=NTLM")
	for name, ps := range map[string][]carrier.Piece{
		"starttls":       join(before, []carrier.Piece{client("S1 STARTTLS\r\n"), server("S1 OK Begin TLS negotiation now\r\n"), client(tlsHello), server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after),
		"untagged first": join(before, []carrier.Piece{client("S1 STARTTLS\r\n"), server("* OK still here\r\nS1 OK go\r\n"), client(tlsHello)}, after),
		"compress":       join(before, []carrier.Piece{client("Z1 COMPRESS DEFLATE\r\n"), server("Z1 OK DEFLATE active\r\n"), client("\x78\x9c\x4b\x4c\x4a\x06\x00")}, after),
	} {
		fs, done := drive(ps)
		if len(fs) != 0 || !done {
			t.Errorf("%s: %d findings, done %v; want none, done", name, len(fs), done)
		}
		for _, chunk := range []int{1, 7, 1 << 20} {
			if fs := carrier.Drive(imap.Carrier, ps, chunk); len(fs) != 0 {
				t.Errorf("%s chunk %d: %d findings", name, chunk, len(fs))
			}
		}
	}

	// refused: the session goes on in clear and its AUTHENTICATE is read
	for _, status := range []string{"NO", "BAD"} {
		refused := join(before, []carrier.Piece{client("S1 STARTTLS\r\n"), server("S1 " + status + " not now\r\n")}, after)
		fs, done := drive(refused)
		if len(fs) != 1 || done || fs[0].UserName != "alice" || fs[0].Outcome != findings.Success {
			t.Errorf("STARTTLS %s: %d findings, done %v", status, len(fs), done)
		}
	}
}

// TestOutcomes: NO and BAD, cancel, retry, no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	no := replace(t, ex, "A002 OK AUTHENTICATE completed", "A002 NO [AUTHENTICATIONFAILED] Authentication failed.")
	bad := replace(t, ex, "A002 OK AUTHENTICATE completed", "A002 BAD invalid")
	fs, _ := drive(join(no, bad, ex))
	if len(fs) != 3 || fs[0].Outcome != findings.Failure || fs[0].Reason != "IMAP NO" || fs[1].Outcome != findings.Failure || fs[1].Reason != "IMAP BAD" ||
		fs[2].Outcome != findings.Success || fs[2].Reason != "IMAP OK" {
		t.Errorf("NO, BAD, OK: %v", fs)
	}
	for _, f := range fs {
		if f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Workstation != "WORKSTATION" {
			t.Errorf("finding %+v", f)
		}
	}

	// the client cancels after the CHALLENGE (RFC 9051 6.2.2): no attempt
	cancel := join(ex[:4], []carrier.Piece{client("*\r\n"), server("A002 BAD AUTHENTICATE cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// untagged data and other tags do not complete the AUTHENTICATE
	other := join(ex[:5], []carrier.Piece{server("* OK [ALERT] hello\r\nA001 OK CAPABILITY completed\r\n")}, ex[5:])
	if fs, _ := drive(other); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("with other responses: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:5]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "alice" {
		t.Errorf("no answer: %v", fs)
	}
	// its tagged response lost, the client goes on: that attempt's outcome is unknown
	if fs, _ := drive(join(ex[:5], []carrier.Piece{client("A003 SELECT INBOX\r\n"), server("A003 OK done\r\n")}, ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
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

// TestInitialResponse: AUTHENTICATE NTLM with the NEGOTIATE on the command
// line (SASL-IR, RFC 4959) gives the same finding; so does a session whose
// AUTHENTICATE was not captured.
func TestInitialResponse(t *testing.T) {
	ex := authExchange(t)
	ref, _ := drive(ex)
	neg, _ := tokens(t)
	ir := join([]carrier.Piece{client("A002 AUTHENTICATE NTLM " + neg + "\r\n")}, ex[3:])
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carrier.Piece{"initial response": ir, "mid-exchange": mid} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carrier.Drive(imap.Carrier, ps, chunk)
			if len(fs) != 1 || key(fs[0]) != key(ref[0]) {
				t.Errorf("%s chunk %d: %v, want %s", name, chunk, fs, key(ref[0]))
			}
		}
	}
}

// TestLiterals: literals in either direction are passed over, even when
// they hold lines that look like an AUTHENTICATE exchange or its result.
func TestLiterals(t *testing.T) {
	neg, authn := tokens(t)
	fake := "A002 AUTHENTICATE NTLM\r\n+ \r\n" + neg + "\r\n" + authn + "\r\nA002 OK done\r\n* OK {5}\r\n"
	n := strconv.Itoa(len(fake))
	before, after := cut(t, session(t), "A002 AUTHENTICATE NTLM")
	ps := join(before, []carrier.Piece{
		// synchronizing literal: the server's go-ahead comes first
		client("A010 APPEND INBOX (\\Seen) {" + n + "}\r\n"), server("+ Ready for literal data\r\n"),
		client(fake), client(" {" + n + "+}\r\n" + fake + ")\r\n"), server("A010 OK APPEND completed\r\n"),
		// a password in a literal, and a literal8
		client("A011 LOGIN alice {6}\r\n"), server("+ go\r\n"), client("s3cret\r\n"), server("A011 NO [AUTHENTICATIONFAILED] no\r\n"),
		client("A012 APPEND INBOX ~{" + n + "}\r\n"), server("+ go\r\n"), client(fake + "\r\n"), server("A012 OK\r\n"),
		// a message the server sends
		client("A013 FETCH 1 BODY[]\r\n"), server("* 1 FETCH (BODY[] {" + n + "}\r\n"), server(fake + " UID 7)\r\n"), server("A013 OK FETCH done\r\n"),
	}, after)
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := carrier.Drive(imap.Carrier, ps, chunk)
		if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "alice" || !fs[0].Time.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("chunk %d: %v", chunk, fs)
		}
	}
}

// TestCleartextMechanisms: LOGIN and AUTHENTICATE PLAIN are passed over.
func TestCleartextMechanisms(t *testing.T) {
	before, after := cut(t, session(t), "A002 AUTHENTICATE NTLM")
	_, rest := cut(t, after, "A003 SELECT")
	ps := join(before, []carrier.Piece{
		client("A002 LOGIN alice s3cret\r\n"), server("A002 NO [AUTHENTICATIONFAILED] no\r\n"),
		client("A003 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"), server("A003 NO no\r\n"),
		client("A004 AUTHENTICATE PLAIN\r\n"), server("+ \r\n"), client("AGFsaWNlAHMzY3JldA==\r\n"), server("A004 OK yes\r\n"),
	}, rest)
	for _, chunk := range []int{1, 1 << 20} {
		if fs := carrier.Drive(imap.Carrier, ps, chunk); len(fs) != 0 {
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

// TestGSSAPI: Kerberos over AUTHENTICATE GSSAPI (RFC 4752), with and
// without SASL-IR; a server offering GSSAPI makes NTLM a fallback.
func TestGSSAPI(t *testing.T) {
	req, rep := gssTokens(t)
	b64 := base64.StdEncoding.EncodeToString
	greet, _ := cut(t, session(t), "A002 AUTHENTICATE NTLM")
	layer := []carrier.Piece{server("+ " + b64(rep) + "\r\n"), client("\r\n"), server("+ BQQG/wAMAAAAAAAAAAAAAA==\r\n"), client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := join(greet, []carrier.Piece{client("G1 AUTHENTICATE GSSAPI\r\n"), server("+ \r\n"), client(b64(req) + "\r\n")}, layer, []carrier.Piece{server("G1 OK done\r\n")})
	ir := join(greet, []carrier.Piece{client("G1 AUTHENTICATE GSSAPI " + b64(req) + "\r\n")}, layer, []carrier.Piece{server("G1 NO [AUTHENTICATIONFAILED] no\r\n")})
	for name, c := range map[string]struct {
		ps      []carrier.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "IMAP OK"}, "gssapi-ir": {ir, findings.Failure, "IMAP NO"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carrier.Drive(imap.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if f.Mechanism != "kerberos" || f.Kerberos.Request != "AP" || f.Kerberos.Realm != "LAB.TEST" || f.Kerberos.SName != "ldap/dc1.lab.test" ||
				f.Kerberos.TicketEtype != 18 || f.Outcome != c.outcome || f.Reason != c.reason || f.Protocol != "imap" || len(f.Flags) != 0 {
				t.Errorf("%s: %s", name, f.AppendJSON(nil))
			}
		}
	}

	for name, capa := range map[string]string{
		"greeting":   "* OK [CAPABILITY IMAP4rev1 AUTH=GSSAPI AUTH=NTLM] ntlm-test-server ready",
		"capability": "* CAPABILITY IMAP4rev1 AUTH=NTLM auth=gss-spnego",
	} {
		old := "* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] ntlm-test-server ready"
		if name == "capability" {
			old = "* CAPABILITY IMAP4rev1 AUTH=NTLM"
		}
		fs, _ := drive(replace(t, session(t), old, capa))
		if len(fs) != 1 || !slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("NTLM with Kerberos offered in the %s: %v", name, fs)
		}
	}
	if fs, _ := drive(session(t)); len(fs) != 1 || slices.Contains(flagIDs(fs[0]), "ntlm_fallback") {
		t.Errorf("NTLM alone offered: %v", fs)
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
		"tagged OK":  {[]string{"A002 OK"}, findings.Unknown},
		"CAPABILITY": {[]string{"* CAPABILITY"}, findings.Success},
		"first +":    {[]string{"+ \r"}, findings.Success},
		"NEGOTIATE":  {[]string{"TlRMTVNTUAAB"}, findings.Success},
		"challenge":  {[]string{"+ TlRM"}, findings.Success},
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

// TestBulkPathAllocates: commands, responses and literals without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	h := imap.Carrier.New(carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:143"), false, "", nil))
	ts := time.Unix(1700000000, 0)
	msg := strings.Repeat("a line of the message\r\n", 100)
	steps := []carrier.Piece{
		client("a1 SELECT INBOX\r\n"), server("* 1 EXISTS\r\n* FLAGS ()\r\na1 OK [READ-WRITE] done\r\n"),
		client("a2 FETCH 1 BODY[]\r\n"), server("* 1 FETCH (BODY[] {" + strconv.Itoa(len(msg)) + "}\r\n" + msg + ")\r\na2 OK done\r\n"),
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

// TestDetect: the greeting or a tagged IMAP command is IMAP; the other
// protocols' first bytes are not.
func TestDetect(t *testing.T) {
	tests := []struct {
		toServer bool
		in       string
		want     carrier.Verdict
	}{
		{false, "* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] ntlm-test-server ready\r\n", carrier.Yes},
		{false, "* OK IMAP4rev1 server ready\r\n", carrier.Yes},
		{false, "* PREAUTH ready\r\n", carrier.Yes},
		{false, "* BYE too many connections\r\n", carrier.Yes},
		{false, "* OK", carrier.Yes},
		{false, "* O", carrier.Maybe},
		{false, "*", carrier.Maybe},
		{false, "* OKAY\r\n", carrier.No},
		{false, "* 1 EXISTS\r\n", carrier.No},
		{false, "+OK POP3 server ready\r\n", carrier.No},
		{false, "220 mail.example.com ESMTP\r\n", carrier.No},
		{false, "HTTP/1.1 401 Unauthorized\r\n", carrier.No},
		{true, "A001 CAPABILITY\r\n", carrier.Yes},
		{true, "a001 AUTHENTICATE NTLM\r\n", carrier.Yes},
		{true, "a authenticate gssapi YIIB\r\n", carrier.Yes},
		{true, "1 login alice {6}\r\n", carrier.Yes},
		{true, "x.1 ID NIL\r\n", carrier.Yes},
		{true, "A001 CAPA", carrier.Maybe},
		{true, "A001", carrier.Maybe},
		{true, "A001 CAPABILITYX\r\n", carrier.No},
		{true, "AUTH NTLM\r\n", carrier.No},
		{true, "AUTH LOGIN\r\n", carrier.No},
		{true, "USER login\r\n", carrier.No},
		{true, "CAPA\r\n", carrier.No},
		{true, "EHLO login\r\n", carrier.No},
		{true, "GET / HTTP/1.1\r\n", carrier.No},
		{true, "+A CAPABILITY\r\n", carrier.No},
		{true, "\x30\x84\x00\x00\x00\x10\x02\x01", carrier.No},
	}
	for _, tt := range tests {
		if got := imap.Carrier.Detect(tt.toServer, []byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%v, %q) = %v, want %v", tt.toServer, tt.in, got, tt.want)
		}
	}
}

// FuzzHandler drives the IMAP carrier with arbitrary bytes in both
// directions, cut at arbitrary points: no panic, and every finding is
// complete enough to write.
func FuzzHandler(f *testing.F) {
	for _, rel := range []string{realCapture, synthetic} {
		var c, s []byte
		for _, p := range pieces(f, rel, 143) {
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
	f.Add([]byte("a APPEND x {3}\r\nabc ~{2+}\r\nxy\r\nb AUTHENTICATE NTLM "+neg+"\r\n*\r\nc STARTTLS\r\nd COMPRESS DEFLATE\r\n"),
		[]byte("* OK [CAPABILITY AUTH=GSSAPI]\r\n* 1 FETCH {4}\r\nabcd)\r\n+ "+neg+"\r\nb NO x\r\nc OK\r\nd OK\r\n"), uint16(5))
	f.Fuzz(func(t *testing.T, c, s []byte, n uint16) {
		for _, fd := range carrier.Drive(imap.Carrier, carrier.Alternate(c, s, int(n%4096)+1), int(n%61)+1) {
			if fd.Outcome == "" || fd.Protocol != "imap" {
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
			if fd.Outcome == "" || fd.Protocol != "imap" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
