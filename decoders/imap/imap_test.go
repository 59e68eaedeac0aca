package imap

import (
	"bytes"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/textproto"
)

const (
	imapReal  = "real-implementations/imap_auth_ntlm.pcap"
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

func TestRealSessions(t *testing.T) {
	tests := []struct {
		name           string
		capture        string
		client, server uint16
		commands       []string // tag verb
		authTag        string
		tagged         []string // tag status of tagged responses (TRUTH.md: A001..A005 OK)
		challenge      string
		authHas        []string
	}{
		{
			name: "curl to ntlm test server", capture: imapReal, client: 59134, server: 143,
			commands:  []string{"A001 CAPABILITY", "A002 AUTHENTICATE", "A003 SELECT", "A004 EXAMINE", "A005 LOGOUT"},
			authTag:   "A002",
			tagged:    []string{"A001 OK", "A002 OK", "A003 OK", "A004 OK", "A005 OK"},
			challenge: "\xc6\x1a\xbf\x87\x52\x9c\x38\x95",
			authHas:   []string{"LAB", "alice", "WORKSTATION"},
		},
		{
			name: "arkime synthetic", capture: synthetic, client: 50012, server: 143,
			commands:  []string{"a001 AUTHENTICATE", "a002 LOGOUT"},
			authTag:   "a001",
			tagged:    []string{"a001 OK", "a002 OK"},
			challenge: "\x01\x23\x45\x67\x89\xab\xcd\xef",
			authHas:   []string{"I\x00M\x00A\x00P\x00D\x00O\x00M\x00", "k\x00a\x00t\x00e\x00"}, // IMAPDOM\kate
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Client: a bare line after AUTHENTICATE is a SASL response.
			var commands []string
			var responses [][]byte
			inAuth := false
			for _, l := range lines(t, tt.capture, tt.client) {
				if inAuth {
					if IsCancel(l) {
						t.Fatal("unexpected cancel")
					}
					msg, err := textproto.AppendBase64(nil, l)
					if err != nil {
						t.Fatalf("SASL response %q: %v", l, err)
					}
					responses = append(responses, msg)
					inAuth = msg[8] != 3
					continue
				}
				c := ParseCommand(l)
				commands = append(commands, string(c.Tag)+" "+string(c.Verb))
				if c.Mechanism != nil {
					if string(c.Tag) != tt.authTag || string(c.Mechanism) != "NTLM" || c.InitialResponse != nil {
						t.Errorf("AUTHENTICATE %+v", c)
					}
					inAuth = true
				}
				if c.StartTLS {
					t.Error("unexpected STARTTLS")
				}
			}
			if !equal(commands, tt.commands) {
				t.Errorf("commands %q, want %q", commands, tt.commands)
			}
			if len(responses) != 2 || responses[0][8] != 1 || responses[1][8] != 3 {
				t.Fatalf("SASL responses %q", responses)
			}
			for _, s := range tt.authHas {
				if !bytes.Contains(responses[1], []byte(s)) {
					t.Errorf("AUTHENTICATE lacks %q", s)
				}
			}

			// Server: "+ " then "+ <CHALLENGE>", then tagged results.
			var tagged []string
			var challenges [][]byte
			conts := 0
			for _, l := range lines(t, tt.capture, tt.server) {
				r := ParseResponse(l)
				switch {
				case r.Continuation():
					conts++
					if len(r.Text) > 0 {
						msg, err := textproto.AppendBase64(nil, r.Text)
						if err != nil {
							t.Fatal(err)
						}
						challenges = append(challenges, msg)
					}
				case r.Untagged():
				default:
					tagged = append(tagged, string(r.Tag)+" "+string(r.Status))
				}
			}
			if !equal(tagged, tt.tagged) {
				t.Errorf("tagged %q, want %q", tagged, tt.tagged)
			}
			if conts != 2 || len(challenges) != 1 || challenges[0][8] != 2 || string(challenges[0][24:32]) != tt.challenge {
				t.Errorf("%d continuations, challenges %q", conts, challenges)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		line              string
		tag, status, text string
	}{
		{"+ ", "+", "", ""},
		{"+", "+", "", ""},
		{"+ TlRMTVNTUAACAAAA", "+", "", "TlRMTVNTUAACAAAA"},
		{"* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] ntlm-test-server ready", "*", "OK", "[CAPABILITY IMAP4rev1 AUTH=NTLM] ntlm-test-server ready"},
		{"* CAPABILITY IMAP4rev1 AUTH=NTLM", "*", "", "CAPABILITY IMAP4rev1 AUTH=NTLM"},
		{"A002 NO [AUTHENTICATIONFAILED] Authentication failed.", "A002", "NO", "[AUTHENTICATIONFAILED] Authentication failed."},
		{"a1 bad", "a1", "bad", ""},
		{"* PREAUTH ready", "*", "PREAUTH", "ready"},
		{"+OK", "+OK", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		r := ParseResponse([]byte(tt.line))
		if string(r.Tag) != tt.tag || string(r.Status) != tt.status || string(r.Text) != tt.text {
			t.Errorf("ParseResponse(%q) = %q %q %q", tt.line, r.Tag, r.Status, r.Text)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line                string
		tag, verb, mech, ir string
		startTLS            bool
	}{
		{line: "A001 AUTHENTICATE NTLM", tag: "A001", verb: "AUTHENTICATE", mech: "NTLM"},
		{line: "a authenticate gssapi YIIBhgYJKoZIhvcSAQICAQBuggF1", tag: "a", verb: "authenticate", mech: "gssapi", ir: "YIIBhgYJKoZIhvcSAQICAQBuggF1"},
		{line: "x STARTTLS", tag: "x", verb: "STARTTLS", startTLS: true},
		{line: "A3 LOGIN alice secret", tag: "A3", verb: "LOGIN"},
		{line: "TlRMTVNTUAABAAAA", tag: "TlRMTVNTUAABAAAA"},
	}
	for _, tt := range tests {
		c := ParseCommand([]byte(tt.line))
		if string(c.Tag) != tt.tag || string(c.Verb) != tt.verb || string(c.Mechanism) != tt.mech || string(c.InitialResponse) != tt.ir || c.StartTLS != tt.startTLS {
			t.Errorf("ParseCommand(%q) = %+v", tt.line, c)
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
	for _, port := range []uint16{143, 59134} {
		for _, l := range lines(f, imapReal, port) {
			f.Add(l)
		}
	}
	for _, port := range []uint16{143, 50012} {
		for _, l := range lines(f, synthetic, port) {
			f.Add(l)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		c := ParseCommand(line)
		for _, b := range [][]byte{c.Tag, c.Verb, c.Mechanism, c.InitialResponse} {
			if !within(line, b) || bytes.IndexByte(b, ' ') >= 0 {
				t.Fatalf("field %q not a word of %q", b, line)
			}
		}
		if !textproto.EqualFold(c.Verb, "AUTHENTICATE") && (c.Mechanism != nil || c.InitialResponse != nil) {
			t.Fatalf("%q: mechanism outside AUTHENTICATE", line)
		}
		if c.StartTLS != textproto.EqualFold(c.Verb, "STARTTLS") {
			t.Fatalf("%q: StartTLS %v", line, c.StartTLS)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		r := ParseResponse(line)
		if !within(line, r.Tag) || !within(line, r.Status) || !within(line, r.Text) {
			t.Fatalf("ParseResponse(%q) = %+v: fields outside the line", line, r)
		}
		if len(r.Status) > 0 && r.Continuation() {
			t.Fatalf("%q: continuation with status", line)
		}
		if len(r.Text) > 0 && !bytes.HasSuffix(line, r.Text) {
			t.Fatalf("%q: text %q not the line's end", line, r.Text)
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	line := lines(b, imapReal, 59134)[1] // "A002 AUTHENTICATE NTLM"
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCommand(line)
	}
}

func BenchmarkParseResponse(b *testing.B) {
	ls := lines(b, imapReal, 143)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range ls {
			_ = ParseResponse(l)
		}
	}
}
