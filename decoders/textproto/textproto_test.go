package textproto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

const (
	smtpReal  = "real-implementations/smtp_auth_ntlm.pcap"
	imapReal  = "real-implementations/imap_auth_ntlm.pcap"
	synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
)

// stream concatenates, in capture order, the payloads sent from srcPort:
// one direction of one connection in these single-connection captures.
func stream(tb testing.TB, rel string, srcPort uint16) []byte {
	tb.Helper()
	var out []byte
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.SrcPort == srcPort && !s.UDP {
			out = append(out, s.Payload...)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: nothing sent from port %d", rel, srcPort)
	}
	return out
}

// lines splits b with Line, failing on any error or trailing partial line.
func lines(tb testing.TB, b []byte) []string {
	tb.Helper()
	var out []string
	for len(b) > 0 {
		line, n, ok, err := Line(b)
		if err != nil || !ok {
			tb.Fatalf("Line(%q) = ok %v, err %v", b, ok, err)
		}
		out = append(out, string(line))
		b = b[n:]
	}
	return out
}

func TestLineRealStreams(t *testing.T) {
	tests := []struct {
		name    string
		capture string
		port    uint16
		want    []string // the first lines of that direction
		count   int
	}{
		{"smtp server", smtpReal, 25, []string{
			"220 mail.lab.test ESMTP ntlm-test-server",
			"250-mail.lab.test",
			"250-AUTH NTLM",
			"250 8BITMIME",
			"334 ",
		}, 12},
		{"smtp client", smtpReal, 54812, []string{
			"EHLO mail.txt",
			"AUTH NTLM",
			"TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=",
		}, 12},
		{"imap server", imapReal, 143, []string{
			"* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] ntlm-test-server ready",
			"* CAPABILITY IMAP4rev1 AUTH=NTLM",
			"A001 OK CAPABILITY completed",
			"+ ",
		}, 14},
		{"pop3 server", synthetic, 110, []string{
			"+OK POP3 server ready",
			"+ ",
		}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(t, stream(t, tt.capture, tt.port))
			if len(got) != tt.count {
				t.Errorf("%d lines, want %d: %q", len(got), tt.count, got)
			}
			for i, w := range tt.want {
				if i >= len(got) || got[i] != w {
					t.Fatalf("line %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestLineEdges(t *testing.T) {
	long := bytes.Repeat([]byte("A"), MaxLine)
	tests := []struct {
		name     string
		in       []byte
		line     string
		n        int
		ok       bool
		tooLong  bool
		skipLine bool
	}{
		{name: "crlf", in: []byte("+ \r\nrest"), line: "+ ", n: 4, ok: true},
		{name: "bare lf", in: []byte("A001 OK\nx"), line: "A001 OK", n: 8, ok: true},
		{name: "empty line", in: []byte("\r\n"), line: "", n: 2, ok: true},
		{name: "partial", in: []byte("334 TlRM"), ok: false},
		{name: "cr only", in: []byte("334\r"), ok: false},
		{name: "empty", in: nil, ok: false},
		{name: "max line", in: append(append([]byte{}, long...), '\r', '\n'), n: MaxLine + 2, ok: true, skipLine: true},
		{name: "max line waiting for lf", in: append(append([]byte{}, long...), '\r'), ok: false},
		{name: "too long bare lf", in: append(append([]byte{}, long...), 'A', '\n'), tooLong: true},
		{name: "too long no terminator", in: append(append([]byte{}, long...), 'A', 'A'), tooLong: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, n, ok, err := Line(tt.in)
			if tt.tooLong {
				if !errors.Is(err, ErrLineTooLong) {
					t.Fatalf("err = %v, want ErrLineTooLong", err)
				}
				return
			}
			if err != nil || ok != tt.ok || n != tt.n {
				t.Fatalf("Line = n %d ok %v err %v, want n %d ok %v", n, ok, err, tt.n, tt.ok)
			}
			if !tt.skipLine && string(line) != tt.line {
				t.Errorf("line = %q, want %q", line, tt.line)
			}
		})
	}
}

// saslTokens returns the base64 lines of one direction that carry NTLMSSP.
func saslTokens(tb testing.TB, rel string, port uint16) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, l := range lines(tb, stream(tb, rel, port)) {
		// Server lines carry the token after "334 " or "+ ".
		l = strings.TrimPrefix(strings.TrimPrefix(l, "334 "), "+ ")
		if HasNTLMSSPPrefix([]byte(l)) {
			out = append(out, []byte(l))
		}
	}
	return out
}

func TestAppendBase64RealNTLM(t *testing.T) {
	tests := []struct {
		name      string
		capture   string
		client    uint16
		server    uint16
		challenge string   // ServerChallenge of the CHALLENGE, hex
		authHas   []string // byte strings found in the AUTHENTICATE
	}{
		// curl sends OEM strings: "LAB", "alice", "WORKSTATION" (TRUTH.md).
		{"smtp real", smtpReal, 54812, 25, "084629e8e2b33169", []string{"LAB", "alice", "WORKSTATION"}},
		{"imap real", imapReal, 59134, 143, "c61abf87529c3895", []string{"LAB", "alice", "WORKSTATION"}},
		// Arkime's synthetic session: UTF-16 SMTPDOM\jack from SMTPHOST.
		{"smtp synthetic", synthetic, 50011, 25, "0123456789abcdef", []string{"S\x00M\x00T\x00P\x00D\x00O\x00M\x00", "j\x00a\x00c\x00k\x00", "S\x00M\x00T\x00P\x00H\x00O\x00S\x00T\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := saslTokens(t, tt.capture, tt.client)
			server := saslTokens(t, tt.capture, tt.server)
			if len(client) != 2 || len(server) != 1 {
				t.Fatalf("%d client and %d server NTLM tokens, want 2 and 1", len(client), len(server))
			}
			buf := make([]byte, 0, 1024)
			for i, tok := range [][]byte{client[0], server[0], client[1]} {
				msg, err := AppendBase64(buf[:0], tok)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg) < 12 || string(msg[:8]) != "NTLMSSP\x00" || msg[8] != byte(i+1) {
					t.Fatalf("token %d decodes to %q, want NTLMSSP type %d", i, msg, i+1)
				}
				// Unpadded base64 decodes to the same bytes.
				raw, err := AppendBase64(nil, bytes.TrimRight(tok, "="))
				if err != nil || !bytes.Equal(raw, msg) {
					t.Errorf("unpadded token %d: %v", i, err)
				}
				switch i + 1 {
				case 2:
					if got := base16(msg[24:32]); got != tt.challenge {
						t.Errorf("ServerChallenge %s, want %s", got, tt.challenge)
					}
				case 3:
					for _, s := range tt.authHas {
						if !bytes.Contains(msg, []byte(s)) {
							t.Errorf("AUTHENTICATE lacks %q", s)
						}
					}
				}
			}
		})
	}
}

func base16(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestAppendBase64Edges(t *testing.T) {
	prefix := []byte("kept")
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{in: "=", want: ""},
		{in: " = ", want: ""},
		{in: "", want: ""},
		{in: "TlRMTVNTUAA=", want: "NTLMSSP\x00"},
		{in: "TlRMTVNTUAA", want: "NTLMSSP\x00"},
		{in: "*", err: true},
		{in: "TlRM!VNT", err: true},
		{in: "T", err: true},
	}
	for _, tt := range tests {
		got, err := AppendBase64(prefix[:4:4], []byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrBase64) || string(got) != "kept" {
				t.Errorf("AppendBase64(%q) = %q, %v; want dst unchanged and ErrBase64", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != "kept"+tt.want {
			t.Errorf("AppendBase64(%q) = %q, %v; want %q", tt.in, got, err, "kept"+tt.want)
		}
	}
}

func TestWordsAndFold(t *testing.T) {
	w, rest := Word([]byte("  AUTH  NTLM TlRM="))
	if string(w) != "AUTH" || string(rest) != "NTLM TlRM=" {
		t.Errorf("Word = %q, %q", w, rest)
	}
	if w, rest = Word([]byte("QUIT")); string(w) != "QUIT" || rest != nil {
		t.Errorf("Word(QUIT) = %q, %q", w, rest)
	}
	if !EqualFold([]byte("aUtHeNtIcAtE"), "AUTHENTICATE") || EqualFold([]byte("AUTH"), "AUTHENTICATE") || EqualFold([]byte("AUTi"), "AUTH") {
		t.Error("EqualFold")
	}
	if !IsCancel([]byte("*")) || IsCancel([]byte("* OK")) {
		t.Error("IsCancel")
	}
}

func FuzzLine(f *testing.F) {
	for _, port := range []uint16{25, 54812} {
		f.Add(stream(f, smtpReal, port))
	}
	f.Add(stream(f, imapReal, 143))
	f.Add([]byte("a\rb\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		line, n, ok, err := Line(b)
		if err != nil || !ok {
			if line != nil || n != 0 || ok {
				t.Fatalf("no line but line=%q n=%d ok=%v", line, n, ok)
			}
			return
		}
		if n < 1 || n > len(b) || b[n-1] != '\n' || n-len(line) > 2 || !bytes.HasPrefix(b, line) {
			t.Fatalf("line %q n %d inconsistent with input", line, n)
		}
		if bytes.IndexByte(line, '\n') >= 0 || len(line) > MaxLine {
			t.Fatalf("bad line %q", line)
		}
		w, rest := Word(line)
		if len(w)+len(rest) > len(line) || bytes.IndexByte(w, ' ') >= 0 {
			t.Fatalf("Word(%q) = %q, %q", line, w, rest)
		}
	})
}

func FuzzAppendBase64(f *testing.F) {
	for _, port := range []uint16{25, 54812} {
		for _, tok := range saslTokens(f, smtpReal, port) {
			f.Add(tok)
		}
	}
	f.Add([]byte("="))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := AppendBase64(nil, b)
		if err != nil {
			if got != nil {
				t.Fatal("dst changed on error")
			}
			return
		}
		if len(got) > base64.RawStdEncoding.DecodedLen(len(b)) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(b))
		}
	})
}

func BenchmarkLine(b *testing.B) {
	s := stream(b, smtpReal, 54812)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		for rest := s; len(rest) > 0; {
			_, n, ok, _ := Line(rest)
			if !ok {
				break
			}
			rest = rest[n:]
		}
	}
}

func BenchmarkAppendBase64(b *testing.B) {
	tok := saslTokens(b, smtpReal, 54812)[1] // the AUTHENTICATE
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		buf, _ = AppendBase64(buf[:0], tok)
	}
}
