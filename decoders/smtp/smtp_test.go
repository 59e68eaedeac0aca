package smtp

import (
	"bytes"
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/textproto"
)

const (
	smtpReal  = "real-implementations/smtp_auth_ntlm.pcap"
	synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// lines returns the lines sent from srcPort, in capture order.
func lines(tb testing.TB, rel string, srcPort uint16) [][]byte {
	tb.Helper()
	var s []byte
	for _, seg := range pcaptest.Segments(tb, rel) {
		if seg.SrcPort == srcPort && !seg.UDP {
			s = append(s, seg.Payload...)
		}
	}
	var out [][]byte
	for len(s) > 0 {
		line, n, ok, err := textproto.Line(s)
		if err != nil || !ok {
			tb.Fatalf("%s port %d: Line ok %v err %v", rel, srcPort, ok, err)
		}
		out = append(out, line)
		s = s[n:]
	}
	return out
}

// clientView walks the client lines as a server would: a line after AUTH
// (without initial response) or after a 334 is a SASL response, lines after
// DATA up to "." are the message.
type clientView struct {
	verbs     []string
	mechs     []string
	responses [][]byte // decoded SASL responses
	startTLS  bool
}

func readClient(tb testing.TB, ls [][]byte) clientView {
	tb.Helper()
	var v clientView
	inAuth, inData := false, false
	for _, l := range ls {
		switch {
		case inData:
			inData = !bytes.Equal(l, []byte("."))
		case inAuth:
			msg, err := textproto.AppendBase64(nil, l)
			if err != nil {
				tb.Fatalf("SASL response %q: %v", l, err)
			}
			v.responses = append(v.responses, msg)
			// NTLM ends with the client's third message.
			inAuth = len(msg) > 8 && msg[8] != 3
		default:
			c := ParseCommand(l)
			v.verbs = append(v.verbs, string(c.Verb))
			if c.Mechanism != nil {
				v.mechs = append(v.mechs, string(c.Mechanism))
				inAuth = c.InitialResponse == nil
			}
			v.startTLS = v.startTLS || c.StartTLS
			inData = textproto.EqualFold(c.Verb, "DATA")
		}
	}
	return v
}

func TestRealSessions(t *testing.T) {
	tests := []struct {
		name           string
		capture        string
		client, server uint16
		verbs          []string
		codes          []int
		challenge      string
		authHas        []string
	}{
		{
			name: "curl to ntlm test server", capture: smtpReal, client: 54812, server: 25,
			verbs:     []string{"EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"},
			codes:     []int{220, 250, 250, 250, 334, 334, 235, 250, 250, 354, 250, 221},
			challenge: "\x08\x46\x29\xe8\xe2\xb3\x31\x69",
			authHas:   []string{"LAB", "alice", "WORKSTATION"}, // TRUTH.md: LAB\alice from WORKSTATION
		},
		{
			name: "arkime synthetic", capture: synthetic, client: 50011, server: 25,
			verbs:     []string{"EHLO", "AUTH", "QUIT"},
			codes:     []int{220, 250, 250, 250, 334, 334, 235, 221},
			challenge: "\x01\x23\x45\x67\x89\xab\xcd\xef",
			authHas:   []string{"S\x00M\x00T\x00P\x00D\x00O\x00M\x00", "j\x00a\x00c\x00k\x00"}, // SMTPDOM\jack
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := readClient(t, lines(t, tt.capture, tt.client))
			if !equal(v.verbs, tt.verbs) {
				t.Errorf("verbs %q, want %q", v.verbs, tt.verbs)
			}
			if !equal(v.mechs, []string{"NTLM"}) || v.startTLS {
				t.Errorf("mechanisms %q startTLS %v, want [NTLM] false", v.mechs, v.startTLS)
			}
			if len(v.responses) != 2 || v.responses[0][8] != 1 || v.responses[1][8] != 3 {
				t.Fatalf("SASL responses %q, want NEGOTIATE and AUTHENTICATE", v.responses)
			}
			for _, s := range tt.authHas {
				if !bytes.Contains(v.responses[1], []byte(s)) {
					t.Errorf("AUTHENTICATE lacks %q", s)
				}
			}

			var codes []int
			var challenges [][]byte
			for _, l := range lines(t, tt.capture, tt.server) {
				r, err := ParseReply(l)
				if err != nil {
					t.Fatalf("ParseReply(%q): %v", l, err)
				}
				codes = append(codes, r.Code)
				if r.Continuation != (l[3] == '-') {
					t.Errorf("%q: Continuation %v", l, r.Continuation)
				}
				if r.Code == CodeAuthChallenge && len(r.Text) > 0 {
					msg, err := textproto.AppendBase64(nil, r.Text)
					if err != nil {
						t.Fatal(err)
					}
					challenges = append(challenges, msg)
				}
			}
			if !equalInts(codes, tt.codes) {
				t.Errorf("reply codes %v, want %v", codes, tt.codes)
			}
			// The first 334 is empty ("334 "), the second carries the CHALLENGE.
			if len(challenges) != 1 || challenges[0][8] != 2 || string(challenges[0][24:32]) != tt.challenge {
				t.Errorf("challenges %q, want one with ServerChallenge %x", challenges, tt.challenge)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line           string
		verb, mech, ir string
		startTLS       bool
	}{
		{line: "AUTH NTLM", verb: "AUTH", mech: "NTLM"},
		{line: "auth ntlm TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=", verb: "auth", mech: "ntlm", ir: "TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="},
		{line: "AUTH GSSAPI =", verb: "AUTH", mech: "GSSAPI", ir: "="},
		{line: "AUTH", verb: "AUTH"},
		{line: "STARTTLS", verb: "STARTTLS", startTLS: true},
		{line: "StartTLS ", verb: "StartTLS", startTLS: true},
		{line: "MAIL FROM:<alice@lab.test>", verb: "MAIL"},
		{line: "", verb: ""},
	}
	for _, tt := range tests {
		c := ParseCommand([]byte(tt.line))
		if string(c.Verb) != tt.verb || string(c.Mechanism) != tt.mech || string(c.InitialResponse) != tt.ir || c.StartTLS != tt.startTLS {
			t.Errorf("ParseCommand(%q) = %q %q %q %v", tt.line, c.Verb, c.Mechanism, c.InitialResponse, c.StartTLS)
		}
	}
	if !IsCancel([]byte("*")) {
		t.Error("IsCancel(*) = false")
	}
}

func TestParseReplyEdges(t *testing.T) {
	tests := []struct {
		line string
		want Reply
		err  bool
	}{
		{line: "334", want: Reply{Code: 334}},
		{line: "334 ", want: Reply{Code: 334, Text: []byte{}}},
		{line: "535 5.7.8 Authentication credentials invalid", want: Reply{Code: 535, Text: []byte("5.7.8 Authentication credentials invalid")}},
		{line: "250-AUTH NTLM LOGIN", want: Reply{Code: 250, Continuation: true, Text: []byte("AUTH NTLM LOGIN")}},
		{line: "2500 x", err: true},
		{line: "25", err: true},
		{line: "abc def", err: true},
		{line: "650 x", err: true},
		{line: "TlRMTVNTUAAB", err: true},
	}
	for _, tt := range tests {
		r, err := ParseReply([]byte(tt.line))
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseReply(%q) err = %v, want ErrMalformed", tt.line, err)
			}
			continue
		}
		if err != nil || r.Code != tt.want.Code || r.Continuation != tt.want.Continuation || !bytes.Equal(r.Text, tt.want.Text) {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", tt.line, r, err, tt.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// within reports whether sub is empty or lies inside line's bytes.
func within(line, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(line); i++ {
		if &line[i] == &sub[0] {
			return true
		}
	}
	return false
}

func seedLines(f *testing.F) {
	for _, rel := range []string{smtpReal, synthetic} {
		for _, port := range []uint16{25, 54812, 50011} {
			if rel == smtpReal && port == 50011 || rel == synthetic && port == 54812 {
				continue
			}
			for _, l := range lines(f, rel, port) {
				f.Add(l)
			}
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		c := ParseCommand(line)
		for _, b := range [][]byte{c.Verb, c.Mechanism, c.InitialResponse} {
			if !within(line, b) || bytes.IndexByte(b, ' ') >= 0 {
				t.Fatalf("field %q not a word of %q", b, line)
			}
		}
		isAuth := textproto.EqualFold(c.Verb, "AUTH")
		if !isAuth && (c.Mechanism != nil || c.InitialResponse != nil) {
			t.Fatalf("%q: mechanism outside AUTH", line)
		}
		if c.StartTLS != textproto.EqualFold(c.Verb, "STARTTLS") {
			t.Fatalf("%q: StartTLS %v", line, c.StartTLS)
		}
	})
}

func FuzzParseReply(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseReply(line)
		if err != nil {
			return
		}
		if r.Code < 100 || r.Code > 599 || !within(line, r.Text) || !bytes.HasSuffix(line, r.Text) {
			t.Fatalf("ParseReply(%q) = %+v", line, r)
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	line := lines(b, smtpReal, 54812)[1] // "AUTH NTLM"
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCommand(line)
	}
}

func BenchmarkParseReply(b *testing.B) {
	var challenge []byte
	for _, l := range lines(b, smtpReal, 25) {
		if bytes.HasPrefix(l, []byte("334 TlRM")) {
			challenge = l
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseReply(challenge)
	}
}
