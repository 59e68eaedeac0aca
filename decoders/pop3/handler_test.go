package pop3_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/decoders/textproto/mailtest"
	"ntlmsensor/findings"
)

// The only POP3 capture: Arkime's synthetic POP3DOM\liam session.
const synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"

// TestSyntheticCapture: Arkime's POP3DOM\liam session, compared with the
// tshark oracle rows and with Arkime's own output.
func TestSyntheticCapture(t *testing.T) {
	finds := carriertest.Analyse(t, synthetic, pop3.Carrier)
	if len(finds) != 1 {
		t.Fatalf("%d findings, want 1\n%s", len(finds), carriertest.Dump(finds))
	}
	f := finds[0]

	rows := carriertest.OracleRows(t, synthetic, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "110", "ntlmssp.messagetype": "0x00000003"})
	if len(rows) != 1 {
		t.Fatalf("%d oracle AUTHENTICATE rows", len(rows))
	}
	r := rows[0]
	carriertest.AgreesWithOracle(t, f, r)
	if f.Client.String() != r["ip.src"]+":"+r["tcp.srcport"] || f.Server.String() != r["ip.dst"]+":"+r["tcp.dstport"] {
		t.Errorf("endpoints %v -> %v", f.Client, f.Server)
	}

	carriertest.AgreesWithArkime(t, f, carriertest.ArkimeSession(t, synthetic, "pop3"))

	// pinned: "+OK Logged in" is frame 198
	if f.Outcome != findings.Success || f.Reason != "POP3 +OK" || !f.Time.Equal(time.Unix(1700000007, 242e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	m := carriertest.Doc(t, f)
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
		if got := carriertest.Lookup(m, k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if fl := carriertest.FlagIDs(f); !slices.Equal(fl, []string{"ntlm_v1", "ntlm_lm", "ntlm_direct"}) {
		t.Errorf("flags %v", fl)
	}
}

// session is the synthetic capture's POP3 conversation, one piece per
// segment: greeting, AUTH NTLM, "+ ", NEGOTIATE, "+ " CHALLENGE,
// AUTHENTICATE, +OK, QUIT, +OK.
func session(t testing.TB) []carriertest.Piece {
	ps := carriertest.Pieces(t, synthetic, 110)
	if len(ps) != 9 {
		t.Fatalf("POP3 session in %d pieces", len(ps))
	}
	return ps
}

// authExchange is the session's AUTH NTLM exchange, from the command to
// the +OK.
func authExchange(t testing.TB) []carriertest.Piece { return slices.Clone(session(t)[1:7]) }

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carriertest.Piece) ([]*findings.Finding, bool) {
	return carriertest.Feed(pop3.Carrier, ps, nil)
}

// TestHandlerChunking: however the bytes are cut, the finding is that of
// the pipeline.
func TestHandlerChunking(t *testing.T) {
	carriertest.SameAsPipeline(t, pop3.Carrier, synthetic, 110, 1)
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03AUTH NTLM\r\nTlRMTVNTUAAD\r\n"

// capa is a CAPA exchange (RFC 2449 5) offering STLS and NTLM.
var capa = []carriertest.Piece{carriertest.Client("CAPA\r\n"), carriertest.Server("+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\nSASL NTLM\r\n.\r\n")}

// TestSTLS: once the server accepts STLS nothing after is read, not even
// the cleartext exchange replayed behind the handshake.
func TestSTLS(t *testing.T) {
	ses := session(t)
	greet, after := ses[:1], ses[1:]
	tls := carriertest.Join(greet, capa, []carriertest.Piece{carriertest.Client("STLS\r\n"), carriertest.Server("+OK Begin TLS negotiation\r\n"), carriertest.Client(tlsHello), carriertest.Server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after)
	fs, done := drive(tls)
	if len(fs) != 0 || !done {
		t.Errorf("after STLS: %d findings, done %v; want none, done", len(fs), done)
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		if fs := carriertest.Drive(pop3.Carrier, tls, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings after STLS", chunk, len(fs))
		}
	}
	refused := carriertest.Join(greet, capa, []carriertest.Piece{carriertest.Client("STLS\r\n"), carriertest.Server("-ERR Command not permitted when TLS active\r\n")}, after)
	fs, done = drive(refused)
	if len(fs) != 1 || done || fs[0].UserName != "liam" || fs[0].Outcome != findings.Success {
		t.Errorf("STLS refused: %d findings, done %v", len(fs), done)
	}
}

// TestOutcomes: -ERR, cancel, retry, no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	failed := carriertest.Replace(t, ex, "+OK Logged in", "-ERR [AUTH] Authentication failed.")
	fs, _ := drive(carriertest.Join(failed, ex))
	if len(fs) != 2 || fs[0].Outcome != findings.Failure || fs[0].Reason != "POP3 -ERR" || fs[1].Outcome != findings.Success || fs[1].Reason != "POP3 +OK" {
		t.Errorf("failure then success: %v", fs)
	}
	for _, f := range fs {
		if f.UserName != "liam" || f.UserDomain != "POP3DOM" || f.NTLM.Workstation != "POP3HOST" {
			t.Errorf("finding %+v", f)
		}
	}

	// the client cancels after the CHALLENGE (RFC 5034 4): no attempt
	cancel := carriertest.Join(ex[:4], []carriertest.Piece{carriertest.Client("*\r\n"), carriertest.Server("-ERR authentication cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:5]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "liam" {
		t.Errorf("no answer: %v", fs)
	}
	// a new AUTH while the last one waits: that one's outcome is unknown
	if fs, _ := drive(carriertest.Join(ex[:5], ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
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
	ir := carriertest.Join([]carriertest.Piece{carriertest.Client("AUTH NTLM " + neg + "\r\n")}, ex[3:])
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carriertest.Piece{"initial response": ir, "mid-exchange": mid} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carriertest.Drive(pop3.Carrier, ps, chunk)
			if len(fs) != 1 || carriertest.Key(fs[0]) != carriertest.Key(ref[0]) {
				t.Errorf("%s chunk %d: %v, want %s", name, chunk, fs, carriertest.Key(ref[0]))
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
	ps := carriertest.Join(greet, []carriertest.Piece{
		carriertest.Client("USER liam\r\n"), carriertest.Server("+OK\r\n"), carriertest.Client("PASS s3cret\r\n"), carriertest.Server("+OK maildrop has 2 messages\r\n"),
		carriertest.Client("STAT\r\n"), carriertest.Server("+OK 2 320\r\n"),
		carriertest.Client("LIST\r\n"), carriertest.Server("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"),
		carriertest.Client("LIST 1\r\n"), carriertest.Server("+OK 1 120\r\n"),
		carriertest.Client("UIDL\r\n"), carriertest.Server("+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n"),
		carriertest.Client("RETR 1\r\n"), carriertest.Server("+OK 120 octets\r\nSubject: x\r\n\r\n" + fake), carriertest.Server(fake + ".\r\n"),
		carriertest.Client("RETR 9\r\n"), carriertest.Server("-ERR no such message\r\n"),
		carriertest.Client("TOP 2 0\r\n"), carriertest.Server("+OK\r\n" + fake + ".\r\n"),
		// pipelined (RFC 2449 6.6); read as status lines, the message
		// would answer CAPA and offer GSSAPI
		carriertest.Client("RETR 1\r\nRETR 2\r\nCAPA\r\n"),
		carriertest.Server("+OK\r\nSubject: a\r\n\r\nhi\r\n.\r\n+OK\r\n+OK\r\nSASL GSSAPI\r\n.\r\n+OK\r\nSASL NTLM\r\n.\r\n"),
		// a body whose end is lost ends when the client speaks
		carriertest.Client("RETR 2\r\n"), carriertest.Server("+OK\r\n" + fake),
	}, ex)
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := carriertest.Drive(pop3.Carrier, ps, chunk)
		if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "liam" || slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("chunk %d: %v", chunk, fs)
		}
	}
}

// TestCleartextMechanisms: USER/PASS, APOP, AUTH PLAIN and LOGIN are
// passed over.
func TestCleartextMechanisms(t *testing.T) {
	ses := session(t)
	ps := carriertest.Join(ses[:1], []carriertest.Piece{
		carriertest.Client("USER liam\r\n"), carriertest.Server("+OK\r\n"), carriertest.Client("PASS s3cret\r\n"), carriertest.Server("-ERR [AUTH] no\r\n"),
		carriertest.Client("APOP liam c4c9334bac560ecc979e58001b3e22fb\r\n"), carriertest.Server("-ERR no\r\n"),
		carriertest.Client("AUTH PLAIN AGxpYW0AczNjcmV0\r\n"), carriertest.Server("-ERR no\r\n"),
		carriertest.Client("AUTH LOGIN\r\n"), carriertest.Server("+ VXNlcm5hbWU6\r\n"), carriertest.Client("bGlhbQ==\r\n"), carriertest.Server("+ UGFzc3dvcmQ6\r\n"), carriertest.Client("czNjcmV0\r\n"), carriertest.Server("+OK yes\r\n"),
	}, ses[7:])
	for _, chunk := range []int{1, 1 << 20} {
		if fs := carriertest.Drive(pop3.Carrier, ps, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings", chunk, len(fs))
		}
	}
}

// TestGSSAPI: Kerberos over AUTH GSSAPI (RFC 4752), with and without an
// initial response; a server offering GSSAPI makes NTLM a fallback.
func TestGSSAPI(t *testing.T) {
	req, rep := mailtest.GSSTokens(t)
	b64 := base64.StdEncoding.EncodeToString
	greet := session(t)[:1]
	layer := []carriertest.Piece{carriertest.Server("+ " + b64(rep) + "\r\n"), carriertest.Client("\r\n"), carriertest.Server("+ BQQG/wAMAAAAAAAAAAAAAA==\r\n"), carriertest.Client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("AUTH GSSAPI\r\n"), carriertest.Server("+ \r\n"), carriertest.Client(b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("+OK done\r\n")})
	ir := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("AUTH GSSAPI " + b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("-ERR [AUTH] no\r\n")})
	for name, c := range map[string]struct {
		ps      []carriertest.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "POP3 +OK"}, "gssapi-ir": {ir, findings.Failure, "POP3 -ERR"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carriertest.Drive(pop3.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if !mailtest.IsGSSAPI(f, "pop3", c.outcome, c.reason) {
				t.Errorf("%s: %s", name, f.AppendJSON(nil))
			}
		}
	}

	ex := authExchange(t)
	for name, offer := range map[string][]carriertest.Piece{
		"capa":      {carriertest.Client("CAPA\r\n"), carriertest.Server("+OK\r\nUSER\r\nSASL NTLM GSSAPI\r\n.\r\n")},
		"auth list": {carriertest.Client("AUTH\r\n"), carriertest.Server("+OK\r\nNTLM\r\ngss-spnego\r\n.\r\n")},
	} {
		fs, _ := drive(carriertest.Join(greet, offer, ex))
		if len(fs) != 1 || !slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("NTLM with Kerberos offered by %s: %v", name, fs)
		}
	}
	for name, offer := range map[string][]carriertest.Piece{
		"capa":           capa,
		"refused list":   {carriertest.Client("AUTH\r\n"), carriertest.Server("-ERR GSSAPI not here\r\n")},
		"not capa lines": {carriertest.Client("CAPA\r\n"), carriertest.Server("+OK\r\nIMPLEMENTATION GSSAPI\r\n.\r\n")},
	} {
		fs, _ := drive(carriertest.Join(greet, offer, ex))
		if len(fs) != 1 || slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
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
		fs, _ := carriertest.Feed(pop3.Carrier, ps, carriertest.Lost(t, ps, c.lost...))
		if len(fs) != 1 || fs[0].Outcome != c.outcome || fs[0].UserName != "liam" {
			t.Errorf("%s lost: %v", name, fs)
		}
	}
}

// TestBulkPathAllocates: commands, responses and messages without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	steps := []carriertest.Piece{
		carriertest.Client("STAT\r\nLIST\r\n"), carriertest.Server("+OK 1 2400\r\n+OK\r\n1 2400\r\n.\r\n"),
		carriertest.Client("RETR 1\r\n"), carriertest.Server("+OK\r\n" + strings.Repeat("a line of the message\r\n", 100) + ".\r\n"),
		carriertest.Client("CAPA\r\n"), carriertest.Server("+OK\r\nTOP\r\nSASL NTLM\r\n.\r\n"),
	}
	if allocs := carriertest.Allocs(t, pop3.Carrier, steps); allocs != 0 {
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
