package tds

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// The only TDS captures in pcaps/: Arkime's synthetic TDSDOM\mona session
// (LOGIN7 with an NTLM NEGOTIATE, then SSPI packets both ways; no PRELOGIN,
// no login response) and a TDS 4/5 login in arkime_synthetic. PRELOGIN and
// login-response parsing are pinned with the hex examples of [MS-TDS]
// section 4 (4.1 Pre-Login Request, 4.2 Login Request, 4.4 Login Response,
// 4.11 SSPI Message), Microsoft's own published message bytes.
const (
	synthetic = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
	arkime    = "public/arkime/tests/pcap/arkime_synthetic.pcap"
)

var (
	specPreLogin = unhex("1201002f0000010000001a00060100200001020021000103002200040400260001ff0900000000000100b80d000001")
	specLogin7   = unhex("1001009000000100880000000200097200100000000000070001000000000000e003000000000000090400005e0008006e0002007200000072000700800000008000000080000400880000008800000000508be2b78f8800000088000000880000000000000073006b006f00730074006f0076003100730061004f00530051004c002d00330032004f00440042004300")
	specLoginAck = unhex("0401016100000100e31b0001066d0061007300740065007200066d0061007300740065007200ab580045160000020025004300680061006e00670065006400200064006100740061006200610073006500200063006f006e007400650078007400200074006f00200027006d006100730074006500720027002e00000000000000e3080007050904d0003400e31700020a750073005f0065006e0067006c0069007300680000e3130004043400300039003600043400300039003600ab5c0047160000010027004300680061006e0067006500640020006c0061006e00670075006100670065002000730065007400740069006e006700200074006f002000750073005f0065006e0067006c006900730068002e00000000000000ad36000172090002164d006900630072006f0073006f00660074002000530051004c0020005300650072007600650072000000000000000000fd000000000000000000000000")
	specSSPI     = unhex("1101005e000001004e544c4d5353500003000000000000005800000000000000580000000000000058000000000000005800000000000058000000000000005800000015c288e20600711700000f3081c17d595fe93e1a7c980501725c4f")
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// frame returns the TCP payload of one frame.
func frame(tb testing.TB, rel string, n int) []byte {
	tb.Helper()
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.Frame == n {
			return s.Payload
		}
	}
	tb.Fatalf("%s: no payload in frame %d", rel, n)
	return nil
}

// message checks a single-packet message's header and returns its payload.
func message(tb testing.TB, pkt []byte, typ PacketType) []byte {
	tb.Helper()
	h, err := ParseHeader(pkt)
	if err != nil || h.Type != typ || h.Status&StatusEOM == 0 || int(h.Length) != len(pkt) {
		tb.Fatalf("header %+v, %v (packet %d bytes), want a whole %d message", h, err, len(pkt), typ)
	}
	return pkt[HeaderLen:]
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want Header
		tds  bool // LooksLikeTDS
	}{
		// tshark: TDS7 login, status 0x01, length 155, channel 0, packet 1, window 0.
		{"synthetic LOGIN7", frame(t, synthetic, 210), Header{Type: TypeLogin7, Status: 1, Length: 155, PacketID: 1}, true},
		{"synthetic server SSPI", frame(t, synthetic, 212), Header{Type: TypeSSPI, Status: 1, Length: 80, PacketID: 1}, false},
		{"synthetic client SSPI", frame(t, synthetic, 214), Header{Type: TypeSSPI, Status: 1, Length: 194, PacketID: 1}, false},
		{"arkime TDS4/5 login", frame(t, arkime, 297), Header{Type: TypePreTDS7Login, Status: 0, Length: 512, PacketID: 1}, false},
		{"MS-TDS 4.1 PRELOGIN", specPreLogin, Header{Type: TypePreLogin, Status: 1, Length: 47, PacketID: 1}, true},
		{"MS-TDS 4.2 LOGIN7", specLogin7, Header{Type: TypeLogin7, Status: 1, Length: 144, PacketID: 1}, true},
		{"MS-TDS 4.4 login response", specLoginAck, Header{Type: TypeTabularResult, Status: 1, Length: 353, PacketID: 1}, false},
		{"MS-TDS 4.11 SSPI", specSSPI, Header{Type: TypeSSPI, Status: 1, Length: 94, PacketID: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(tt.pkt)
			if err != nil || h != tt.want {
				t.Errorf("ParseHeader = %+v, %v; want %+v", h, err, tt.want)
			}
			if got := LooksLikeTDS(tt.pkt); got != tt.tds {
				t.Errorf("LooksLikeTDS = %v, want %v", got, tt.tds)
			}
		})
	}
	if LooksLikeTDS([]byte("GET / HTTP/1.1\r\n")) || LooksLikeTDS(specLogin7[:7]) {
		t.Error("LooksLikeTDS accepts non-TDS")
	}
	if _, err := ParseHeader([]byte{0x12, 1, 0, 7, 0, 0, 1, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("length 7: %v", err)
	}
}

func TestLogin7(t *testing.T) {
	tests := []struct {
		name        string
		pkt         []byte
		want        Login7
		sspiType    byte
		sspiHas     []string
		sspiLen     int
		intSecurity bool
	}{
		{
			// tshark: TDS 0x74000004, packet size 4096, client 0.0.7, PID 100,
			// flags 0xe0/0x03, every string empty, NTLMSSP_NEGOTIATE TDSDOM/TDSHOST.
			name: "synthetic NTLM login", pkt: frame(t, synthetic, 210),
			want: Login7{TDSVersion: 0x74000004, PacketSize: 4096, ClientProgVer: 0x07000000, ClientPID: 100,
				OptionFlags1: 0xe0, OptionFlags2: 0x03},
			sspiType: 1, sspiHas: []string{"TDSDOM", "TDSHOST"}, sspiLen: 53,
		},
		{
			// MS-TDS 4.2: SQL login "sa" from host "skostov1", app "OSQL-32", ODBC.
			name: "MS-TDS 4.2 SQL login", pkt: specLogin7,
			want: Login7{TDSVersion: 0x72090002, PacketSize: 4096, ClientProgVer: 0x07000000, ClientPID: 0x100,
				OptionFlags1: 0xe0, OptionFlags2: 0x03, HostName: "skostov1", UserName: "sa", AppName: "OSQL-32", Library: "ODBC"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLogin7(message(t, tt.pkt, TypeLogin7))
			if err != nil {
				t.Fatal(err)
			}
			sspi := l.SSPI
			l.SSPI = nil
			if !reflect.DeepEqual(l, tt.want) {
				t.Errorf("Login7 %+v\nwant   %+v", l, tt.want)
			}
			if tt.sspiType == 0 {
				if sspi != nil {
					t.Errorf("SSPI %q, want none", sspi)
				}
				return
			}
			if len(sspi) != tt.sspiLen || !bytes.HasPrefix(sspi, []byte("NTLMSSP\x00")) || sspi[8] != tt.sspiType || cap(sspi) != len(sspi) {
				t.Errorf("SSPI %q (%d bytes)", sspi, len(sspi))
			}
			for _, s := range tt.sspiHas {
				if !bytes.Contains(sspi, []byte(s)) {
					t.Errorf("SSPI lacks %q", s)
				}
			}
		})
	}
}

// TestLogin7Variants edits the real synthetic LOGIN7: a password, a
// non-ASCII host name, cbSSPILong, and lying offsets.
func TestLogin7Variants(t *testing.T) {
	base := message(t, frame(t, synthetic, 210), TypeLogin7)
	mod := func(f func([]byte)) []byte { c := append([]byte(nil), base...); f(c); return c }
	put := binary.LittleEndian.PutUint16

	// Password: cchPassword 2 pointing into the SSPI bytes; never decoded.
	l, err := ParseLogin7(mod(func(b []byte) { put(b[44:], 94); put(b[46:], 2) }))
	if err != nil || !l.PasswordSent {
		t.Errorf("password: %+v, %v", l, err)
	}
	// HostName "é" + U+1F600 (surrogate pair) + lone surrogate, written over the SSPI bytes.
	l, err = ParseLogin7(mod(func(b []byte) {
		copy(b[94:], []byte{0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x3d, 0xd8})
		put(b[36:], 94)
		put(b[38:], 4)
	}))
	if err != nil || l.HostName != "é\U0001F600\uFFFD" {
		t.Errorf("utf-16 host: %q, %v", l.HostName, err)
	}
	// A 300-character AppName (over the SSPI bytes and beyond) is cut to MaxNameChars.
	long := append(append([]byte(nil), base...), bytes.Repeat([]byte{'x', 0}, 300)...)
	binary.LittleEndian.PutUint32(long, uint32(len(long)))
	put(long[48:], uint16(len(base)))
	put(long[50:], 300)
	if l, err = ParseLogin7(long); err != nil || l.AppName != strings.Repeat("x", MaxNameChars) {
		t.Errorf("long app name: %d chars, %v", len(l.AppName), err)
	}
	// cbSSPI 0xFFFF defers to cbSSPILong.
	l, err = ParseLogin7(mod(func(b []byte) { put(b[80:], 0xFFFF); binary.LittleEndian.PutUint32(b[90:], 53) }))
	if err != nil || len(l.SSPI) != 53 {
		t.Errorf("cbSSPILong: %d bytes, %v", len(l.SSPI), err)
	}

	bad := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", base[:85], ErrTruncated},
		{"length beyond payload", mod(func(b []byte) { binary.LittleEndian.PutUint32(b, 1000) }), ErrTruncated},
		{"length below fixed part", mod(func(b []byte) { binary.LittleEndian.PutUint32(b, 20) }), ErrMalformed},
		{"sspi beyond message", mod(func(b []byte) { put(b[80:], 200) }), ErrMalformed},
		{"sspi long lies", mod(func(b []byte) { put(b[80:], 0xFFFF); binary.LittleEndian.PutUint32(b[90:], 0xFFFFFFF0) }), ErrMalformed},
		{"host name beyond message", mod(func(b []byte) { put(b[38:], 0xFFFF) }), ErrMalformed},
	}
	for _, tt := range bad {
		if _, err := ParseLogin7(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestPreLogin(t *testing.T) {
	// MS-TDS 4.1: VERSION 9.0.0 subbuild 0, ENCRYPTION 0x01, INSTOPT, THREADID, MARS.
	p, err := ParsePreLogin(message(t, specPreLogin, TypePreLogin))
	if err != nil || !p.HasEncryption || p.Encryption != EncryptOn || p.Version != [6]byte{9, 0, 0, 0, 0, 0} || EncryptionName(p.Encryption) != "on" {
		t.Errorf("PreLogin %+v, %v", p, err)
	}
	payload := message(t, specPreLogin, TypePreLogin)
	bad := []struct {
		name string
		b    []byte
		want error
	}{
		{"no terminator", payload[:25], ErrTruncated},
		{"cut option header", payload[:3], ErrTruncated},
		{"offset beyond message", append([]byte{0x01, 0x00, 0x40, 0x00, 0x01, 0xff}, 0), ErrTruncated},
		{"short version", append([]byte{0x00, 0x00, 0x06, 0x00, 0x01, 0xff}, 9), ErrMalformed},
		{"empty", nil, ErrTruncated},
		{"tls record", []byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01}, ErrTLS},
	}
	for _, tt := range bad {
		if _, err := ParsePreLogin(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
	if p, err := ParsePreLogin([]byte{0xff}); err != nil || p.HasEncryption {
		t.Errorf("terminator only: %+v, %v", p, err)
	}
}

// sspiResult wraps a token in an SSPI token [MS-TDS 2.2.7.22], as SQL
// Server sends its CHALLENGE in a tabular result (the synthetic capture
// sends it as a bare SSPI packet instead).
func sspiResult(token []byte) []byte {
	return append([]byte{0xED, byte(len(token)), byte(len(token) >> 8)}, token...)
}

// loginFailed is an ERROR token 18456 [MS-TDS 2.2.7.10] then DONE with
// DONE_ERROR, laid out as SQL Server sends a failed login.
func loginFailed() []byte {
	msg := "Login failed for user 'mona'."
	var text []byte
	for _, c := range []byte(msg) {
		text = append(text, c, 0)
	}
	body := binary.LittleEndian.AppendUint32(nil, NumberLoginFailed)
	body = append(body, 1, 14) // State, Class
	body = binary.LittleEndian.AppendUint16(body, uint16(len(msg)))
	body = append(body, text...)
	body = append(body, 0, 0) // ServerName, ProcName: empty B_VARCHAR
	body = binary.LittleEndian.AppendUint32(body, 1)
	out := []byte{0xAA, byte(len(body)), byte(len(body) >> 8)}
	out = append(out, body...)
	return append(out, 0xFD, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

func TestLoginResponse(t *testing.T) {
	challenge := message(t, frame(t, synthetic, 212), TypeSSPI) // the real NTLM CHALLENGE
	ack := message(t, specLoginAck, TypeTabularResult)
	tests := []struct {
		name          string
		b             []byte
		sspi          []byte
		ok, known     bool
		errNumber     int32
		wantSSPIFound bool
	}{
		{name: "MS-TDS 4.4 login ack", b: ack, ok: true, known: true},
		{name: "SSPI challenge token", b: sspiResult(challenge), sspi: challenge, wantSSPIFound: true},
		{name: "login failed 18456", b: loginFailed(), known: true, errNumber: NumberLoginFailed},
		{name: "result set stops the walk", b: append([]byte{0x81, 0x01, 0x00}, sspiResult(challenge)...)},
		{name: "truncated ack", b: ack[:200]},
		{name: "empty", b: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sspi, found := FindSSPIToken(tt.b)
			if found != tt.wantSSPIFound || !bytes.Equal(sspi, tt.sspi) {
				t.Errorf("FindSSPIToken = %d bytes, %v", len(sspi), found)
			}
			ok, known, n := LoginOutcome(tt.b)
			if ok != tt.ok || known != tt.known || n != tt.errNumber {
				t.Errorf("LoginOutcome = %v %v %d, want %v %v %d", ok, known, n, tt.ok, tt.known, tt.errNumber)
			}
		})
	}
	// The synthetic challenge is a CHALLENGE for TDSTGT with 0123456789abcdef.
	if string(challenge[:9]) != "NTLMSSP\x00\x02" || !bytes.Equal(challenge[24:32], unhex("0123456789abcdef")) {
		t.Errorf("synthetic challenge %x", challenge)
	}
	// The synthetic AUTHENTICATE (SSPI packet payload is the raw token): TDSDOM\mona.
	auth := message(t, frame(t, synthetic, 214), TypeSSPI)
	if string(auth[:9]) != "NTLMSSP\x00\x03" || !bytes.Contains(auth, []byte("m\x00o\x00n\x00a\x00")) {
		t.Errorf("synthetic authenticate %q", auth)
	}
}

func seeds(f *testing.F) {
	for _, p := range [][]byte{frame(f, synthetic, 210), frame(f, synthetic, 212), frame(f, synthetic, 214), specPreLogin, specLogin7, specLoginAck, specSSPI} {
		f.Add(p[HeaderLen:])
	}
	f.Add(loginFailed())
}

func FuzzParseHeader(f *testing.F) {
	for _, p := range [][]byte{frame(f, synthetic, 210), frame(f, arkime, 297), specPreLogin, specLogin7} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if LooksLikeTDS(b) && (err != nil || (h.Type != TypePreLogin && h.Type != TypeLogin7)) {
			t.Fatalf("LooksLikeTDS accepts %+v, %v", h, err)
		}
		if err == nil && h.Length < HeaderLen {
			t.Fatalf("header %+v", h)
		}
	})
}

func FuzzParsePreLogin(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePreLogin(b)
		if err != nil && (p.HasEncryption || p.Version != [6]byte{}) {
			t.Fatalf("partial result with error: %+v", p)
		}
	})
}

func FuzzParseLogin7(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLogin7(b)
		if err != nil {
			return
		}
		// Fields may overlap, but each name is capped and, as UTF-8 of
		// UCS-2 text, takes at most 3 bytes per 2 input bytes.
		for _, s := range []string{l.HostName, l.UserName, l.AppName, l.ServerName, l.Library, l.Database} {
			if len(s) > 3*MaxNameChars || 2*len(s) > 3*len(b) {
				t.Fatalf("%d-byte name from %d input bytes", len(s), len(b))
			}
		}
		if len(l.SSPI) > len(b) {
			t.Fatalf("%d SSPI bytes from %d input bytes", len(l.SSPI), len(b))
		}
	})
}

func FuzzTokens(f *testing.F) {
	seeds(f)
	f.Add(sspiResult(frame(f, synthetic, 212)[HeaderLen:]))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sspi, ok := FindSSPIToken(b); ok && len(sspi) > len(b)-3 {
			t.Fatalf("SSPI token %d bytes from %d", len(sspi), len(b))
		}
		ok, known, n := LoginOutcome(b)
		if (ok && !known) || (ok && n != 0) {
			t.Fatalf("LoginOutcome = %v %v %d", ok, known, n)
		}
	})
}

func BenchmarkParseLogin7(b *testing.B) {
	p := message(b, frame(b, synthetic, 210), TypeLogin7)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseLogin7(p)
	}
}

func BenchmarkParseLogin7Names(b *testing.B) {
	p := message(b, specLogin7, TypeLogin7)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseLogin7(p)
	}
}

func BenchmarkParsePreLogin(b *testing.B) {
	p := message(b, specPreLogin, TypePreLogin)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParsePreLogin(p)
	}
}

func BenchmarkLoginOutcome(b *testing.B) {
	p := message(b, specLoginAck, TypeTabularResult)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = LoginOutcome(p)
		_, _ = FindSSPIToken(p)
	}
}

func BenchmarkHeader(b *testing.B) {
	p := frame(b, synthetic, 210)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseHeader(p)
		_ = LooksLikeTDS(p)
	}
}
