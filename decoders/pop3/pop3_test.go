package pop3

import (
	"bytes"
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/textproto"
)

// The only POP3 capture: Arkime's synthetic POP3DOM\liam session.
const synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"

const clientPort, serverPort = 50013, 110

// lines returns the lines sent from srcPort, in capture order.
func lines(tb testing.TB, srcPort uint16) [][]byte {
	tb.Helper()
	var s []byte
	for _, seg := range pcaptest.Segments(tb, synthetic) {
		if seg.SrcPort == srcPort && !seg.UDP {
			s = append(s, seg.Payload...)
		}
	}
	var out [][]byte
	for len(s) > 0 {
		line, n, ok, err := textproto.Line(s)
		if err != nil || !ok {
			tb.Fatalf("port %d: Line ok %v err %v", srcPort, ok, err)
		}
		out = append(out, line)
		s = s[n:]
	}
	return out
}

func TestSyntheticSession(t *testing.T) {
	// Client: AUTH NTLM, NEGOTIATE, AUTHENTICATE (liam@POP3DOM from POP3HOST), QUIT.
	var verbs []string
	var responses [][]byte
	inAuth := false
	for _, l := range lines(t, clientPort) {
		if inAuth {
			msg, err := textproto.AppendBase64(nil, l)
			if err != nil {
				t.Fatalf("SASL response %q: %v", l, err)
			}
			responses = append(responses, msg)
			inAuth = msg[8] != 3
			continue
		}
		c := ParseCommand(l)
		verbs = append(verbs, string(c.Verb))
		if c.Mechanism != nil {
			if string(c.Mechanism) != "NTLM" || c.InitialResponse != nil || c.StartTLS {
				t.Errorf("AUTH %+v", c)
			}
			inAuth = true
		}
	}
	if len(verbs) != 2 || verbs[0] != "AUTH" || verbs[1] != "QUIT" {
		t.Errorf("verbs %q, want AUTH QUIT", verbs)
	}
	if len(responses) != 2 || responses[0][8] != 1 || responses[1][8] != 3 {
		t.Fatalf("SASL responses %q", responses)
	}
	for _, s := range []string{"P\x00O\x00P\x003\x00D\x00O\x00M\x00", "l\x00i\x00a\x00m\x00", "P\x00O\x00P\x003\x00H\x00O\x00S\x00T\x00"} {
		if !bytes.Contains(responses[1], []byte(s)) {
			t.Errorf("AUTHENTICATE lacks %q", s)
		}
	}

	// Server: +OK greeting, "+ ", "+ <CHALLENGE>", +OK Logged in, +OK Bye.
	want := []Response{
		{OK: true, Text: []byte("POP3 server ready")},
		{Continuation: true},
		{Continuation: true},
		{OK: true, Text: []byte("Logged in")},
		{OK: true, Text: []byte("Bye")},
	}
	ls := lines(t, serverPort)
	if len(ls) != len(want) {
		t.Fatalf("%d server lines, want %d", len(ls), len(want))
	}
	for i, l := range ls {
		r, err := ParseResponse(l)
		if err != nil {
			t.Fatalf("ParseResponse(%q): %v", l, err)
		}
		if r.OK != want[i].OK || r.Continuation != want[i].Continuation {
			t.Errorf("line %d %q = %+v", i, l, r)
		}
		if i == 2 {
			msg, err := textproto.AppendBase64(nil, r.Text)
			if err != nil || msg[8] != 2 || string(msg[24:32]) != "\x01\x23\x45\x67\x89\xab\xcd\xef" {
				t.Errorf("challenge %q: %v", msg, err)
			}
		} else if !bytes.Equal(r.Text, want[i].Text) {
			t.Errorf("line %d text %q, want %q", i, r.Text, want[i].Text)
		}
	}
}

func TestParseResponseEdges(t *testing.T) {
	tests := []struct {
		line string
		want Response
		err  bool
	}{
		{line: "+OK", want: Response{OK: true}},
		{line: "+ok done", want: Response{OK: true, Text: []byte("done")}},
		{line: "-ERR [AUTH] Authentication failed.", want: Response{Text: []byte("[AUTH] Authentication failed.")}},
		{line: "-ERR", want: Response{}},
		{line: "+", want: Response{Continuation: true}},
		{line: "+ ", want: Response{Continuation: true}},
		{line: "+OKAY", err: true},
		{line: "-ERROR x", err: true},
		{line: ".", err: true},
		{line: "", err: true},
	}
	for _, tt := range tests {
		r, err := ParseResponse([]byte(tt.line))
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseResponse(%q) err = %v, want ErrMalformed", tt.line, err)
			}
			continue
		}
		if err != nil || r.OK != tt.want.OK || r.Continuation != tt.want.Continuation || !bytes.Equal(r.Text, tt.want.Text) {
			t.Errorf("ParseResponse(%q) = %+v, %v; want %+v", tt.line, r, err, tt.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line           string
		verb, mech, ir string
		startTLS       bool
	}{
		{line: "AUTH NTLM", verb: "AUTH", mech: "NTLM"},
		{line: "AUTH NTLM TlRMTVNTUAABAAAA", verb: "AUTH", mech: "NTLM", ir: "TlRMTVNTUAABAAAA"},
		{line: "AUTH", verb: "AUTH"},
		{line: "stls", verb: "stls", startTLS: true},
		{line: "USER liam", verb: "USER"},
		{line: "PASS secret", verb: "PASS"},
	}
	for _, tt := range tests {
		c := ParseCommand([]byte(tt.line))
		if string(c.Verb) != tt.verb || string(c.Mechanism) != tt.mech || string(c.InitialResponse) != tt.ir || c.StartTLS != tt.startTLS {
			t.Errorf("ParseCommand(%q) = %+v", tt.line, c)
		}
	}
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
	for _, port := range []uint16{clientPort, serverPort} {
		for _, l := range lines(f, port) {
			f.Add(l)
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
		if !textproto.EqualFold(c.Verb, "AUTH") && (c.Mechanism != nil || c.InitialResponse != nil) {
			t.Fatalf("%q: arguments returned outside AUTH", line)
		}
		if c.StartTLS != textproto.EqualFold(c.Verb, "STLS") {
			t.Fatalf("%q: StartTLS %v", line, c.StartTLS)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseResponse(line)
		if err != nil {
			return
		}
		if r.OK && r.Continuation || !within(line, r.Text) || !bytes.HasSuffix(line, r.Text) {
			t.Fatalf("ParseResponse(%q) = %+v", line, r)
		}
		if len(line) == 0 || (line[0] == '-') == (r.OK || r.Continuation) {
			t.Fatalf("ParseResponse(%q) = %+v: status does not match the indicator", line, r)
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	line := lines(b, clientPort)[0] // "AUTH NTLM"
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCommand(line)
	}
}

func BenchmarkParseResponse(b *testing.B) {
	line := lines(b, serverPort)[2] // "+ <CHALLENGE>"
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseResponse(line)
	}
}
