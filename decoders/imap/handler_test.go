package imap_test

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/textproto/mailtest"
	"ntlmsensor/findings"
)

const (
	realCapture = "real-implementations/imap_auth_ntlm.pcap"
	synthetic   = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// TestRealCapture: curl's AUTHENTICATE NTLM to the test server gives
// exactly the finding of expect.json.
func TestRealCapture(t *testing.T) {
	finds := carriertest.Analyse(t, realCapture, imap.Carrier)
	carriertest.MatchExpected(t, finds, carriertest.Expected(t, "imap_auth_ntlm.pcap"))
	if len(finds) != 1 {
		return
	}
	f := finds[0]
	m := carriertest.Doc(t, f)
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
		if got := carriertest.Lookup(m, k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if fl := carriertest.FlagIDs(f); !slices.Equal(fl, []string{"ntlm_direct", "ntlm_no_mic"}) {
		t.Errorf("flags %v", fl)
	}
}

// TestSyntheticCapture: Arkime's IMAPDOM\kate session (over IPv6),
// compared with the tshark oracle rows and with Arkime's own output.
func TestSyntheticCapture(t *testing.T) {
	finds := carriertest.Analyse(t, synthetic, imap.Carrier)
	if len(finds) != 1 {
		t.Fatalf("%d findings, want 1\n%s", len(finds), carriertest.Dump(finds))
	}
	f := finds[0]

	rows := carriertest.OracleRows(t, synthetic, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "143", "ntlmssp.messagetype": "0x00000003"})
	if len(rows) != 1 {
		t.Fatalf("%d oracle AUTHENTICATE rows", len(rows))
	}
	r := rows[0]
	carriertest.AgreesWithOracle(t, f, r)
	src := netip.MustParseAddrPort("[" + r["ipv6.src"] + "]:" + r["tcp.srcport"])
	dst := netip.MustParseAddrPort("[" + r["ipv6.dst"] + "]:" + r["tcp.dstport"])
	if f.Client != src || f.Server != dst {
		t.Errorf("endpoints %v -> %v, want %v -> %v", f.Client, f.Server, src, dst)
	}

	carriertest.AgreesWithArkime(t, f, carriertest.ArkimeSession(t, synthetic, "imap"))

	// pinned: the oracle shows "a001 OK AUTHENTICATE completed" in frame 174
	if f.Outcome != findings.Success || f.Reason != "IMAP OK" || !f.Time.Equal(time.Unix(1700000006, 594e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	if f.Protocol != "imap" || f.Mechanism != "ntlm" || f.SPNEGO != findings.False || f.NTLM.LMResponse != findings.True ||
		f.NTLM.ClientVersion != "10.0.19041" || f.NTLM.ServerVersion != "10.0.19041" || f.NTLM.Flags != 0x02000205 {
		t.Errorf("finding %+v", f)
	}
	if fl := carriertest.FlagIDs(f); !slices.Equal(fl, []string{"ntlm_v1", "ntlm_lm", "ntlm_direct"}) {
		t.Errorf("flags %v", fl)
	}
}

// session is the real capture's conversation, one piece per segment.
func session(t testing.TB) []carriertest.Piece { return carriertest.Pieces(t, realCapture, 143) }

// authExchange is the real capture's AUTHENTICATE NTLM exchange, from the
// command to its tagged OK: A002 AUTHENTICATE NTLM, "+ ", NEGOTIATE,
// "+ " CHALLENGE, AUTHENTICATE, A002 OK.
func authExchange(t testing.TB) []carriertest.Piece {
	_, rest := carriertest.Cut(t, session(t), "A002 AUTHENTICATE NTLM")
	ex, _ := carriertest.Cut(t, rest, "A003 SELECT")
	if len(ex) != 6 {
		t.Fatalf("AUTHENTICATE exchange in %d pieces", len(ex))
	}
	return ex
}

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carriertest.Piece) ([]*findings.Finding, bool) {
	return carriertest.Feed(imap.Carrier, ps, nil)
}

// TestHandlerChunking: however the bytes are cut, the findings are those
// of the pipeline.
func TestHandlerChunking(t *testing.T) {
	for _, rel := range []string{realCapture, synthetic} {
		carriertest.SameAsPipeline(t, imap.Carrier, rel, 143, 1)
	}
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03A002 AUTHENTICATE NTLM\r\nTlRMTVNTUAAD\r\n"

// TestStartTLS: once the server accepts STARTTLS (or COMPRESS) nothing
// after is read, not even the cleartext exchange replayed behind it.
func TestStartTLS(t *testing.T) {
	before, after := carriertest.Cut(t, session(t), "A002 AUTHENTICATE NTLM")
	before = carriertest.Replace(t, before, "* CAPABILITY IMAP4rev1 AUTH=NTLM", "* CAPABILITY IMAP4rev1 STARTTLS COMPRESS=DEFLATE AUTH=NTLM")
	for name, ps := range map[string][]carriertest.Piece{
		"starttls":       carriertest.Join(before, []carriertest.Piece{carriertest.Client("S1 STARTTLS\r\n"), carriertest.Server("S1 OK Begin TLS negotiation now\r\n"), carriertest.Client(tlsHello), carriertest.Server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after),
		"untagged first": carriertest.Join(before, []carriertest.Piece{carriertest.Client("S1 STARTTLS\r\n"), carriertest.Server("* OK still here\r\nS1 OK go\r\n"), carriertest.Client(tlsHello)}, after),
		"compress":       carriertest.Join(before, []carriertest.Piece{carriertest.Client("Z1 COMPRESS DEFLATE\r\n"), carriertest.Server("Z1 OK DEFLATE active\r\n"), carriertest.Client("\x78\x9c\x4b\x4c\x4a\x06\x00")}, after),
	} {
		fs, done := drive(ps)
		if len(fs) != 0 || !done {
			t.Errorf("%s: %d findings, done %v; want none, done", name, len(fs), done)
		}
		for _, chunk := range []int{1, 7, 1 << 20} {
			if fs := carriertest.Drive(imap.Carrier, ps, chunk); len(fs) != 0 {
				t.Errorf("%s chunk %d: %d findings", name, chunk, len(fs))
			}
		}
	}

	// refused: the session goes on in clear and its AUTHENTICATE is read
	for _, status := range []string{"NO", "BAD"} {
		refused := carriertest.Join(before, []carriertest.Piece{carriertest.Client("S1 STARTTLS\r\n"), carriertest.Server("S1 " + status + " not now\r\n")}, after)
		fs, done := drive(refused)
		if len(fs) != 1 || done || fs[0].UserName != "alice" || fs[0].Outcome != findings.Success {
			t.Errorf("STARTTLS %s: %d findings, done %v", status, len(fs), done)
		}
	}
}

// TestOutcomes: NO and BAD, cancel, retry, no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	no := carriertest.Replace(t, ex, "A002 OK AUTHENTICATE completed", "A002 NO [AUTHENTICATIONFAILED] Authentication failed.")
	bad := carriertest.Replace(t, ex, "A002 OK AUTHENTICATE completed", "A002 BAD invalid")
	fs, _ := drive(carriertest.Join(no, bad, ex))
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
	cancel := carriertest.Join(ex[:4], []carriertest.Piece{carriertest.Client("*\r\n"), carriertest.Server("A002 BAD AUTHENTICATE cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// untagged data and other tags do not complete the AUTHENTICATE
	other := carriertest.Join(ex[:5], []carriertest.Piece{carriertest.Server("* OK [ALERT] hello\r\nA001 OK CAPABILITY completed\r\n")}, ex[5:])
	if fs, _ := drive(other); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("with other responses: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:5]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "alice" {
		t.Errorf("no answer: %v", fs)
	}
	// its tagged response lost, the client goes on: that attempt's outcome is unknown
	if fs, _ := drive(carriertest.Join(ex[:5], []carriertest.Piece{carriertest.Client("A003 SELECT INBOX\r\n"), carriertest.Server("A003 OK done\r\n")}, ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
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
	ir := carriertest.Join([]carriertest.Piece{carriertest.Client("A002 AUTHENTICATE NTLM " + neg + "\r\n")}, ex[3:])
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carriertest.Piece{"initial response": ir, "mid-exchange": mid} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carriertest.Drive(imap.Carrier, ps, chunk)
			if len(fs) != 1 || carriertest.Key(fs[0]) != carriertest.Key(ref[0]) {
				t.Errorf("%s chunk %d: %v, want %s", name, chunk, fs, carriertest.Key(ref[0]))
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
	before, after := carriertest.Cut(t, session(t), "A002 AUTHENTICATE NTLM")
	ps := carriertest.Join(before, []carriertest.Piece{
		// synchronizing literal: the server's go-ahead comes first
		carriertest.Client("A010 APPEND INBOX (\\Seen) {" + n + "}\r\n"), carriertest.Server("+ Ready for literal data\r\n"),
		carriertest.Client(fake), carriertest.Client(" {" + n + "+}\r\n" + fake + ")\r\n"), carriertest.Server("A010 OK APPEND completed\r\n"),
		// a password in a literal, and a literal8
		carriertest.Client("A011 LOGIN alice {6}\r\n"), carriertest.Server("+ go\r\n"), carriertest.Client("s3cret\r\n"), carriertest.Server("A011 NO [AUTHENTICATIONFAILED] no\r\n"),
		carriertest.Client("A012 APPEND INBOX ~{" + n + "}\r\n"), carriertest.Server("+ go\r\n"), carriertest.Client(fake + "\r\n"), carriertest.Server("A012 OK\r\n"),
		// a message the server sends
		carriertest.Client("A013 FETCH 1 BODY[]\r\n"), carriertest.Server("* 1 FETCH (BODY[] {" + n + "}\r\n"), carriertest.Server(fake + " UID 7)\r\n"), carriertest.Server("A013 OK FETCH done\r\n"),
	}, after)
	for _, chunk := range []int{1, 7, 1 << 20} {
		fs := carriertest.Drive(imap.Carrier, ps, chunk)
		if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "alice" || !fs[0].Time.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("chunk %d: %v", chunk, fs)
		}
	}
}

// TestCleartextMechanisms: LOGIN and AUTHENTICATE PLAIN are passed over.
func TestCleartextMechanisms(t *testing.T) {
	before, after := carriertest.Cut(t, session(t), "A002 AUTHENTICATE NTLM")
	_, rest := carriertest.Cut(t, after, "A003 SELECT")
	ps := carriertest.Join(before, []carriertest.Piece{
		carriertest.Client("A002 LOGIN alice s3cret\r\n"), carriertest.Server("A002 NO [AUTHENTICATIONFAILED] no\r\n"),
		carriertest.Client("A003 AUTHENTICATE PLAIN AGFsaWNlAHMzY3JldA==\r\n"), carriertest.Server("A003 NO no\r\n"),
		carriertest.Client("A004 AUTHENTICATE PLAIN\r\n"), carriertest.Server("+ \r\n"), carriertest.Client("AGFsaWNlAHMzY3JldA==\r\n"), carriertest.Server("A004 OK yes\r\n"),
	}, rest)
	for _, chunk := range []int{1, 1 << 20} {
		if fs := carriertest.Drive(imap.Carrier, ps, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings", chunk, len(fs))
		}
	}
}

// TestGSSAPI: Kerberos over AUTHENTICATE GSSAPI (RFC 4752), with and
// without SASL-IR; a server offering GSSAPI makes NTLM a fallback.
func TestGSSAPI(t *testing.T) {
	req, rep := mailtest.GSSTokens(t)
	b64 := base64.StdEncoding.EncodeToString
	greet, _ := carriertest.Cut(t, session(t), "A002 AUTHENTICATE NTLM")
	layer := []carriertest.Piece{carriertest.Server("+ " + b64(rep) + "\r\n"), carriertest.Client("\r\n"), carriertest.Server("+ BQQG/wAMAAAAAAAAAAAAAA==\r\n"), carriertest.Client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("G1 AUTHENTICATE GSSAPI\r\n"), carriertest.Server("+ \r\n"), carriertest.Client(b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("G1 OK done\r\n")})
	ir := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("G1 AUTHENTICATE GSSAPI " + b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("G1 NO [AUTHENTICATIONFAILED] no\r\n")})
	for name, c := range map[string]struct {
		ps      []carriertest.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "IMAP OK"}, "gssapi-ir": {ir, findings.Failure, "IMAP NO"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carriertest.Drive(imap.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if !mailtest.IsGSSAPI(f, "imap", c.outcome, c.reason) {
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
		fs, _ := drive(carriertest.Replace(t, session(t), old, capa))
		if len(fs) != 1 || !slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
			t.Errorf("NTLM with Kerberos offered in the %s: %v", name, fs)
		}
	}
	if fs, _ := drive(session(t)); len(fs) != 1 || slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
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
		fs, _ := carriertest.Feed(imap.Carrier, ps, carriertest.Lost(t, ps, c.lost...))
		if len(fs) != 1 || fs[0].Outcome != c.outcome || fs[0].UserName != "alice" {
			t.Errorf("%s lost: %v", name, fs)
		}
	}
}

// TestBulkPathAllocates: commands, responses and literals without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	msg := strings.Repeat("a line of the message\r\n", 100)
	steps := []carriertest.Piece{
		carriertest.Client("a1 SELECT INBOX\r\n"), carriertest.Server("* 1 EXISTS\r\n* FLAGS ()\r\na1 OK [READ-WRITE] done\r\n"),
		carriertest.Client("a2 FETCH 1 BODY[]\r\n"), carriertest.Server("* 1 FETCH (BODY[] {" + strconv.Itoa(len(msg)) + "}\r\n" + msg + ")\r\na2 OK done\r\n"),
	}
	if allocs := carriertest.Allocs(t, imap.Carrier, steps); allocs != 0 {
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
