package smtp_test

import (
	"bytes"
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/ntlmscan"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/decoders/smtp"
	"ntlmsensor/decoders/textproto/mailtest"
	"ntlmsensor/findings"
)

const (
	realCapture = "real-implementations/smtp_auth_ntlm.pcap"
	synthetic   = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// TestRealCapture: curl's AUTH NTLM to the test server gives exactly the
// finding of expect.json.
func TestRealCapture(t *testing.T) {
	finds := carriertest.Analyse(t, realCapture, smtp.Carrier)
	carriertest.MatchExpected(t, finds, carriertest.Expected(t, "smtp_auth_ntlm.pcap"))
	if len(finds) != 1 {
		return
	}
	f := finds[0]
	m := carriertest.Doc(t, f)
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
		if got := carriertest.Lookup(m, k); got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if fl := carriertest.FlagIDs(f); !slices.Equal(fl, []string{"ntlm_direct", "ntlm_no_mic"}) {
		t.Errorf("flags %v", fl)
	}
}

// TestSyntheticCapture: Arkime's SMTPDOM\jack session, compared with the
// tshark oracle rows and with Arkime's own output.
func TestSyntheticCapture(t *testing.T) {
	finds := carriertest.Analyse(t, synthetic, smtp.Carrier)
	if len(finds) != 1 {
		t.Fatalf("%d findings, want 1\n%s", len(finds), carriertest.Dump(finds))
	}
	f := finds[0]

	rows := carriertest.OracleRows(t, synthetic, map[string]string{"decoded_by": "b64-helper", "tcp.dstport": "25", "ntlmssp.messagetype": "0x00000003"})
	if len(rows) != 1 {
		t.Fatalf("%d oracle AUTHENTICATE rows", len(rows))
	}
	r := rows[0]
	carriertest.AgreesWithOracle(t, f, r)
	if f.Client.String() != r["ip.src"]+":"+r["tcp.srcport"] || f.Server.String() != r["ip.dst"]+":"+r["tcp.dstport"] {
		t.Errorf("endpoints %v -> %v", f.Client, f.Server)
	}

	carriertest.AgreesWithArkime(t, f, carriertest.ArkimeSession(t, synthetic, "smtp"))

	// pinned: the oracle shows 235 in frame 150
	if f.Outcome != findings.Success || f.Reason != "SMTP 235" || !f.Time.Equal(time.Unix(1700000005, 946e6)) {
		t.Errorf("outcome %s %q at %v", f.Outcome, f.Reason, f.Time)
	}
	if f.Protocol != "smtp" || f.Mechanism != "ntlm" || f.SPNEGO != findings.False || f.NTLM.LMResponse != findings.True ||
		f.NTLM.ClientVersion != "10.0.19041" || f.NTLM.ServerVersion != "10.0.19041" || f.NTLM.Flags != 0x02000205 {
		t.Errorf("finding %+v", f)
	}
	if fl := carriertest.FlagIDs(f); !slices.Equal(fl, []string{"ntlm_v1", "ntlm_lm", "ntlm_direct"}) {
		t.Errorf("flags %v", fl)
	}
}

// TestCarriersTogether: in the registration order, SMTP, IMAP and POP3 each
// take their own stream and leave the others' (and HTTP's, SMB's) alone.
func TestCarriersTogether(t *testing.T) {
	all := []*carrier.Carrier{smb.Carrier, http.Carrier, smtp.Carrier, imap.Carrier, pop3.Carrier, ntlmscan.Carrier}
	got := map[string]string{}
	for _, f := range carriertest.Analyse(t, synthetic, all...) {
		switch f.Server.Port() {
		case 25, 143, 110:
			got[string(f.Protocol)] += f.UserDomain + `\` + f.UserName + " "
		}
	}
	want := map[string]string{"smtp": `SMTPDOM\jack `, "imap": `IMAPDOM\kate `, "pop3": `POP3DOM\liam `}
	if !maps.Equal(got, want) {
		t.Errorf("findings by protocol %q, want %q", got, want)
	}
	for rel, proto := range map[string]string{realCapture: "smtp", "real-implementations/imap_auth_ntlm.pcap": "imap"} {
		fs := carriertest.Analyse(t, rel, all...)
		if len(fs) != 1 || string(fs[0].Protocol) != proto {
			t.Errorf("%s: %d findings, want one of %s", rel, len(fs), proto)
		}
	}
}

// session is the real capture's conversation, one piece per segment.
func session(t testing.TB) []carriertest.Piece { return carriertest.Pieces(t, realCapture, 25) }

// authExchange is the real capture's AUTH NTLM exchange, from the AUTH
// command to the 235.
func authExchange(t testing.TB) []carriertest.Piece {
	_, rest := carriertest.Cut(t, session(t), "AUTH NTLM")
	ex, _ := carriertest.Cut(t, rest, "MAIL FROM")
	return ex
}

// drive feeds pieces whole to a fresh handler, like the reassembler, and
// also reports whether the handler ended following the connection.
func drive(ps []carriertest.Piece) ([]*findings.Finding, bool) {
	return carriertest.Feed(smtp.Carrier, ps, nil)
}

// TestHandlerChunking: however the bytes are cut, the findings are those
// of the pipeline.
func TestHandlerChunking(t *testing.T) {
	for _, rel := range []string{realCapture, synthetic} {
		carriertest.SameAsPipeline(t, smtp.Carrier, rel, 25, 1)
	}
}

// tlsHello is the start of a TLS ClientHello record, then bytes of it.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03AUTH NTLM\r\nTlRMTVNTUAAD\r\n"

// TestStartTLS: once the server accepts STARTTLS nothing after is read,
// not even the cleartext AUTH exchange replayed behind the handshake.
func TestStartTLS(t *testing.T) {
	before, after := carriertest.Cut(t, session(t), "AUTH NTLM")
	before = carriertest.Replace(t, before, "250-AUTH NTLM", "250-STARTTLS\r\n250-AUTH NTLM")
	tls := carriertest.Join(before, []carriertest.Piece{carriertest.Client("STARTTLS\r\n"), carriertest.Server("220 2.0.0 Ready to start TLS\r\n"), carriertest.Client(tlsHello), carriertest.Server("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")}, after)
	fs, done := drive(tls)
	if len(fs) != 0 || !done {
		t.Errorf("after STARTTLS: %d findings, done %v; want none, done", len(fs), done)
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		if fs := carriertest.Drive(smtp.Carrier, tls, chunk); len(fs) != 0 {
			t.Errorf("chunk %d: %d findings after STARTTLS", chunk, len(fs))
		}
	}

	// refused: the session goes on in clear and its AUTH is read
	refused := carriertest.Join(before, []carriertest.Piece{carriertest.Client("STARTTLS\r\n"), carriertest.Server("454 4.7.0 TLS not available due to temporary reason\r\n")}, after)
	fs, done = drive(refused)
	if len(fs) != 1 || done || fs[0].UserName != "alice" || fs[0].Outcome != findings.Success {
		t.Errorf("STARTTLS refused: %d findings, done %v", len(fs), done)
	}

	// pipelined after EHLO (RFC 2920): the 220 answers STARTTLS, not EHLO
	greet, _ := carriertest.Cut(t, before, "EHLO")
	piped := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("EHLO x\r\nSTARTTLS\r\n"), carriertest.Server("250-mx\r\n250 STARTTLS\r\n"), carriertest.Server("220 go ahead\r\n"), carriertest.Client(tlsHello)}, after)
	if fs, done := drive(piped); len(fs) != 0 || !done {
		t.Errorf("pipelined STARTTLS: %d findings, done %v", len(fs), done)
	}
}

// TestOutcomes: failure, retry, cancel, and no answer at all.
func TestOutcomes(t *testing.T) {
	ex := authExchange(t)
	failed := carriertest.Replace(t, ex, "235 2.7.0 Authentication successful", "535 5.7.8 Authentication credentials invalid")
	fs, _ := drive(carriertest.Join(failed, ex))
	if len(fs) != 2 || fs[0].Outcome != findings.Failure || fs[0].Reason != "SMTP 535" || fs[1].Outcome != findings.Success || fs[1].Reason != "SMTP 235" {
		t.Errorf("failure then success: %v", fs)
	}
	for _, f := range fs {
		if f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Workstation != "WORKSTATION" {
			t.Errorf("finding %+v", f)
		}
	}

	temp := carriertest.Replace(t, ex, "235 2.7.0 Authentication successful", "454 4.7.0 Temporary authentication failure")
	if fs, _ := drive(temp); len(fs) != 1 || fs[0].Outcome != findings.Failure || fs[0].Reason != "SMTP 454" {
		t.Errorf("454: %v", fs)
	}

	// the client cancels after the CHALLENGE (RFC 4954 4): no attempt
	cancel := carriertest.Join(ex[:4], []carriertest.Piece{carriertest.Client("*\r\n"), carriertest.Server("501 5.7.0 Authentication cancelled\r\n")}, ex)
	if fs, _ := drive(cancel); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("cancel then success: %v", fs)
	}

	// the capture ends after the AUTHENTICATE
	if fs, _ := drive(ex[:len(ex)-1]); len(fs) != 1 || fs[0].Outcome != findings.Unknown || fs[0].Reason != "" || fs[0].UserName != "alice" {
		t.Errorf("no answer: %v", fs)
	}
	// a new AUTH while the last one waits: that one's outcome is unknown
	if fs, _ := drive(carriertest.Join(ex[:len(ex)-1], ex)); len(fs) != 2 || fs[0].Outcome != findings.Unknown || fs[1].Outcome != findings.Success {
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
	var ir []carriertest.Piece
	for _, p := range ex {
		switch {
		case bytes.Equal(p.Data, []byte("AUTH NTLM\r\n")):
			ir = append(ir, carriertest.Client("AUTH NTLM "+neg+"\r\n"))
		case bytes.Equal(p.Data, []byte("334 \r\n")), string(p.Data) == neg+"\r\n":
		default:
			ir = append(ir, p)
		}
	}
	if len(ir) != len(ex)-2 {
		t.Fatalf("initial response session: %d pieces", len(ir))
	}
	mid := ex[3:] // from the CHALLENGE: the capture began mid-exchange
	for name, ps := range map[string][]carriertest.Piece{"initial response": ir, "mid-exchange": mid} {
		fs, _ := drive(ps)
		if len(fs) != 1 || carriertest.Key(fs[0]) != carriertest.Key(ref[0]) {
			t.Errorf("%s: %v, want %s", name, fs, carriertest.Key(ref[0]))
		}
	}
}

// TestCleartextMechanisms: PLAIN and LOGIN are passed over; no finding.
func TestCleartextMechanisms(t *testing.T) {
	before, after := carriertest.Cut(t, session(t), "AUTH NTLM")
	_, mail := carriertest.Cut(t, after, "MAIL FROM")
	plain := carriertest.Join(before, []carriertest.Piece{carriertest.Client("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"), carriertest.Server("235 2.7.0 ok\r\n")}, mail)
	login := carriertest.Join(before, []carriertest.Piece{
		carriertest.Client("AUTH LOGIN\r\n"), carriertest.Server("334 VXNlcm5hbWU6\r\n"), carriertest.Client("YWxpY2U=\r\n"),
		carriertest.Server("334 UGFzc3dvcmQ6\r\n"), carriertest.Client("czNjcmV0\r\n"), carriertest.Server("535 5.7.8 no\r\n"),
	}, mail)
	for name, ps := range map[string][]carriertest.Piece{"plain": plain, "login": login} {
		for _, chunk := range []int{1, 1 << 20} {
			if fs := carriertest.Drive(smtp.Carrier, ps, chunk); len(fs) != 0 {
				t.Errorf("%s: %d findings", name, len(fs))
			}
		}
	}
	// an NTLM exchange after a refused LOGIN is read
	if fs, _ := drive(carriertest.Join(login[:len(login)-len(mail)], authExchange(t))); len(fs) != 1 || fs[0].Outcome != findings.Success {
		t.Errorf("LOGIN then NTLM: %v", fs)
	}
}

// TestMessageContent: DATA content and BDAT chunks are passed over, even
// when they hold lines that look like an AUTH exchange.
func TestMessageContent(t *testing.T) {
	neg, authn := tokens(t)
	fake := "AUTH NTLM\r\n" + neg + "\r\n" + authn + "\r\n235 ok\r\n..leading dot\r\n"
	greet, rest := carriertest.Cut(t, session(t), "AUTH NTLM")
	ex, _ := carriertest.Cut(t, rest, "MAIL FROM")
	data := carriertest.Join(greet, []carriertest.Piece{
		carriertest.Client("MAIL FROM:<a@lab.test>\r\n"), carriertest.Server("250 ok\r\n"), carriertest.Client("RCPT TO:<b@lab.test>\r\n"), carriertest.Server("250 ok\r\n"),
		carriertest.Client("DATA\r\n"), carriertest.Server("354 go\r\n"), carriertest.Client("Subject: x\r\n\r\n" + fake), carriertest.Client(fake + ".\r\n"), carriertest.Server("250 queued\r\n"),
	}, ex)
	bdatChunk := "Subject: y\r\n\r\n" + fake
	bdat := carriertest.Join(greet, []carriertest.Piece{
		carriertest.Client("MAIL FROM:<a@lab.test>\r\n"), carriertest.Server("250 ok\r\n"), carriertest.Client("RCPT TO:<b@lab.test>\r\n"), carriertest.Server("250 ok\r\n"),
		carriertest.Client("BDAT " + strconv.Itoa(len(bdatChunk)) + "\r\n" + bdatChunk), carriertest.Server("250 chunk\r\n"),
		carriertest.Client("BDAT " + strconv.Itoa(len(fake)) + " LAST\r\n"), carriertest.Client(fake), carriertest.Server("250 queued\r\n"),
	}, ex)
	// a body whose end is not seen ends with the server's reply
	lost := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("DATA\r\n"), carriertest.Server("354 go\r\n"), carriertest.Client(fake), carriertest.Server("250 queued\r\n")}, ex)
	for name, ps := range map[string][]carriertest.Piece{"data": data, "bdat": bdat, "unterminated": lost} {
		for _, chunk := range []int{1, 7, 1 << 20} {
			fs := carriertest.Drive(smtp.Carrier, ps, chunk)
			if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "alice" {
				t.Errorf("%s chunk %d: %d findings", name, chunk, len(fs))
			}
		}
	}
}

// TestGSSAPI: Kerberos over AUTH GSSAPI (RFC 4752), with and without an
// initial response; a server offering GSSAPI makes NTLM a fallback.
func TestGSSAPI(t *testing.T) {
	req, rep := mailtest.GSSTokens(t)
	b64 := base64.StdEncoding.EncodeToString
	greet, _ := carriertest.Cut(t, session(t), "AUTH NTLM")
	greet = carriertest.Replace(t, greet, "250-AUTH NTLM", "250-AUTH GSSAPI NTLM")
	layer := []carriertest.Piece{carriertest.Server("334 " + b64(rep) + "\r\n"), carriertest.Client("\r\n"), carriertest.Server("334 BQQG/wAMAAAAAAAAAAAAAA==\r\n"), carriertest.Client("BQQF/wAMAAAAAAAAAAAAAA==\r\n")}
	plain := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("AUTH GSSAPI\r\n"), carriertest.Server("334 \r\n"), carriertest.Client(b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("235 2.7.0 ok\r\n")})
	ir := carriertest.Join(greet, []carriertest.Piece{carriertest.Client("AUTH GSSAPI " + b64(req) + "\r\n")}, layer, []carriertest.Piece{carriertest.Server("535 5.7.8 no\r\n")})
	for name, c := range map[string]struct {
		ps      []carriertest.Piece
		outcome findings.Outcome
		reason  string
	}{"gssapi": {plain, findings.Success, "SMTP 235"}, "gssapi-ir": {ir, findings.Failure, "SMTP 535"}} {
		for _, chunk := range []int{1, 1 << 20} {
			fs := carriertest.Drive(smtp.Carrier, c.ps, chunk)
			if len(fs) != 1 {
				t.Fatalf("%s: %d findings", name, len(fs))
			}
			f := fs[0]
			if !mailtest.IsGSSAPI(f, "smtp", c.outcome, c.reason) {
				t.Errorf("%s: %s", name, f.AppendJSON(nil))
			}
		}
	}

	fs, _ := drive(carriertest.Join(greet, authExchange(t)))
	if len(fs) != 1 || !slices.Contains(carriertest.FlagIDs(fs[0]), "ntlm_fallback") {
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
		fs, _ := carriertest.Feed(smtp.Carrier, ps, carriertest.Lost(t, ps, c.lost...))
		if len(fs) != 1 || fs[0].Outcome != c.outcome || fs[0].UserName != "alice" {
			t.Errorf("%s lost: %v", name, fs)
		}
	}
}

// TestBulkPathAllocates: commands, replies and message content without
// authentication allocate nothing.
func TestBulkPathAllocates(t *testing.T) {
	steps := []carriertest.Piece{
		carriertest.Client("MAIL FROM:<a@lab.test>\r\nRCPT TO:<b@lab.test>\r\nDATA\r\n"), carriertest.Server("250 ok\r\n250 ok\r\n354 go\r\n"),
		carriertest.Client(strings.Repeat("a line of the message\r\n", 100) + ".\r\n"), carriertest.Server("250 queued\r\n"),
		carriertest.Client("BDAT 4 LAST\r\nabcd"), carriertest.Server("250 ok\r\n"),
	}
	if allocs := carriertest.Allocs(t, smtp.Carrier, steps); allocs != 0 {
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
	greet, _ := carriertest.Cut(t, session(t), "AUTH NTLM")
	ps := carriertest.Join(greet, []carriertest.Piece{
		carriertest.Client("AUTH GSS-SPNEGO " + b64(init) + "\r\n"), carriertest.Server("334 " + b64(challenge) + "\r\n"),
		carriertest.Client(b64(resp) + "\r\n"), carriertest.Server("334 " + b64(accept) + "\r\n"), carriertest.Client("\r\n"), carriertest.Server("235 2.7.0 ok\r\n"),
	})
	fs := carriertest.Drive(smtp.Carrier, ps, 7)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	f := fs[0]
	if f.Mechanism != "ntlm" || f.SPNEGO != findings.True || !slices.Equal(f.Offered, []string{"ntlm"}) || f.UserName != "alice" ||
		f.Outcome != findings.Success || !slices.Equal(carriertest.FlagIDs(f), []string{"ntlm_no_mic"}) {
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
