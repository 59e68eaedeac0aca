package http

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// heads returns the parsed request and response heads found at the start of
// the payloads of a capture, in capture order.
type seen struct {
	frame int
	req   *Request
	resp  *Response
	n     int
	seg   []byte
}

func parseCapture(t *testing.T, rel string) []seen {
	t.Helper()
	var out []seen
	for _, s := range pcaptest.Segments(t, rel) {
		p := s.Payload
		switch {
		case LooksLikeRequest(p):
			req, n, err := ParseRequest(p)
			if err != nil {
				t.Fatalf("%s frame %d: ParseRequest: %v", rel, s.Frame, err)
			}
			out = append(out, seen{frame: s.Frame, req: &req, n: n, seg: p})
		case LooksLikeResponse(p):
			resp, n, err := ParseResponse(p)
			if err != nil {
				t.Fatalf("%s frame %d: ParseResponse: %v", rel, s.Frame, err)
			}
			out = append(out, seen{frame: s.Frame, resp: &resp, n: n, seg: p})
		}
	}
	return out
}

// ntlmType decodes an auth token and returns the NTLMSSP message type, or 0
// when the token is not NTLMSSP (MS-NLMP 2.2.1: Signature "NTLMSSP\0", MessageType).
func ntlmType(t *testing.T, tok []byte) (uint32, []byte) {
	t.Helper()
	raw, err := DecodeToken(nil, tok)
	if err != nil {
		t.Fatalf("DecodeToken(%q): %v", tok, err)
	}
	if len(raw) < 12 || string(raw[:8]) != "NTLMSSP\x00" {
		return 0, raw
	}
	return binary.LittleEndian.Uint32(raw[8:12]), raw
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// hasName reports whether an NTLM message carries name in OEM or Unicode form.
func hasName(msg []byte, name string) bool {
	return bytes.Contains(msg, []byte(name)) || bytes.Contains(msg, utf16le(name))
}

type wantMsg struct {
	request  bool
	host     string // request
	code     int    // response
	cl       int64
	scheme   Scheme
	ntlmType uint32 // 0: not NTLMSSP (or no token)
	token    bool   // a token is present
}

// Facts from pcaps/real-implementations/TRUTH.md and
// `tshark -d tcp.port==8081,http -Y http -T fields -e http.host -e http.response.code
// -e http.authorization -e http.www_authenticate -e http.content_length`.
func TestRealCurlExchanges(t *testing.T) {
	ntlmRound := func(host string, final int, finalCL int64, finalBare bool) []wantMsg {
		last := wantMsg{code: final, cl: finalCL}
		if finalBare {
			last.scheme = SchemeNTLM
		}
		return []wantMsg{
			{request: true, host: host, cl: -1, scheme: SchemeNTLM, ntlmType: 1, token: true},
			{code: 401, cl: 0, scheme: SchemeNTLM, ntlmType: 2, token: true},
			{request: true, host: host, cl: -1, scheme: SchemeNTLM, ntlmType: 3, token: true},
			last,
		}
	}
	tests := []struct {
		pcap string
		want []wantMsg
	}{
		{"real-implementations/http_ntlmv2_hostname.pcap", ntlmRound("web.lab.test", 200, 21, false)},
		{"real-implementations/http_ntlmv1.pcap", ntlmRound("web.lab.test:8081", 200, 21, false)},
		{"real-implementations/http_ntlmv2_by_ip.pcap", ntlmRound("127.0.0.30", 200, 21, false)},
		// wrong password: the final 401 is a bare "WWW-Authenticate: NTLM" offer.
		{"real-implementations/http_ntlm_wrong_password.pcap", ntlmRound("web.lab.test", 401, 16, true)},
		{"real-implementations/http_negotiate_kerberos.pcap", []wantMsg{
			{request: true, host: "web.lab.test", cl: -1, scheme: SchemeNegotiate, token: true},
			{code: 200, cl: 21, scheme: SchemeNegotiate, token: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			got := parseCapture(t, tc.pcap)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d HTTP heads, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				var a Auth
				if w.request {
					if g.req == nil {
						t.Fatalf("frame %d: want request", g.frame)
					}
					if string(g.req.Host) != w.host || string(g.req.Method) != "GET" || string(g.req.Target) != "/" {
						t.Errorf("frame %d: %s %s Host %q", g.frame, g.req.Method, g.req.Target, g.req.Host)
					}
					if g.req.ContentLength != w.cl || g.req.Chunked || g.req.Close || g.req.HTTP10 {
						t.Errorf("frame %d: framing %+v", g.frame, g.req)
					}
					if n, ch := RequestBodyLength(g.req); n != 0 || ch {
						t.Errorf("frame %d: request body %d %v", g.frame, n, ch)
					}
					a = g.req.Authorization
				} else {
					if g.resp == nil {
						t.Fatalf("frame %d: want response", g.frame)
					}
					if g.resp.StatusCode != w.code || g.resp.ContentLength != w.cl {
						t.Errorf("frame %d: status %d CL %d, want %d %d", g.frame, g.resp.StatusCode, g.resp.ContentLength, w.code, w.cl)
					}
					if n, ch := ResponseBodyLength([]byte("GET"), g.resp); n != w.cl || ch {
						t.Errorf("frame %d: body length %d %v", g.frame, n, ch)
					}
					// The body, when in the same segment, is exactly Content-Length bytes.
					if body := g.seg[g.n:]; len(body) > 0 && int64(len(body)) != w.cl {
						t.Errorf("frame %d: %d body bytes after head, CL %d", g.frame, len(body), w.cl)
					}
					switch {
					case w.scheme == SchemeNone && g.resp.NumWWW != 0:
						t.Errorf("frame %d: unexpected challenge %+v", g.frame, g.resp.WWWAuthenticate[0])
					case w.scheme != SchemeNone && g.resp.NumWWW != 1:
						t.Errorf("frame %d: NumWWW %d, want 1", g.frame, g.resp.NumWWW)
					}
					a = g.resp.WWWAuthenticate[0]
				}
				if a.Scheme != w.scheme || (len(a.Token) > 0) != w.token {
					t.Fatalf("frame %d: auth %v token %q, want %v token=%v", g.frame, a.Scheme, a.Token, w.scheme, w.token)
				}
				if !w.token {
					continue
				}
				typ, raw := ntlmType(t, a.Token)
				if typ != w.ntlmType {
					t.Errorf("frame %d: NTLM type %d, want %d", g.frame, typ, w.ntlmType)
				}
				if typ == 3 && !(hasName(raw, "alice") && hasName(raw, "LAB") && hasName(raw, "WORKSTATION")) {
					t.Errorf("frame %d: AUTHENTICATE lacks alice/LAB/WORKSTATION", g.frame)
				}
				if a.Scheme == SchemeNegotiate {
					// RFC 4559: client sends a GSS-API InitialContextToken with the
					// SPNEGO OID 1.3.6.1.5.5.2; the server's mutual-auth token is a
					// NegTokenResp [1].
					if w.request && (raw[0] != 0x60 || !bytes.Contains(raw[:20], []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02})) {
						t.Errorf("frame %d: not a SPNEGO init token: % x", g.frame, raw[:16])
					}
					if !w.request && raw[0] != 0xa1 {
						t.Errorf("frame %d: not a NegTokenResp: % x", g.frame, raw[:4])
					}
				}
			}
		})
	}
}

// CredSLayer http-ntlm.pcap: Firefox against IIS 6 / SharePoint, six
// keep-alive connections, 7 NTLM logons of administrator/example from
// WANG_WENCHAO (http-ntlm.pcap.tshark.tsv). The 401 heads were lost in the
// capture; the remaining responses are pinned from tshark's
// http.response.code / http.content_length.
func TestCredSLayerHTTPNTLM(t *testing.T) {
	got := parseCapture(t, "public/CredSLayer/tests/samples/http-ntlm.pcap")
	var types [4]int
	var responses [][2]int64
	for _, g := range got {
		if g.req != nil {
			if string(g.req.Host) != "192.168.0.55" || string(g.req.Method) != "GET" || g.req.Close {
				t.Errorf("frame %d: %s Host %q close=%v", g.frame, g.req.Method, g.req.Host, g.req.Close)
			}
			a := g.req.Authorization
			if a.Scheme == SchemeNone {
				continue
			}
			if a.Scheme != SchemeNTLM {
				t.Fatalf("frame %d: scheme %v", g.frame, a.Scheme)
			}
			typ, raw := ntlmType(t, a.Token)
			if typ < 1 || typ > 3 {
				t.Fatalf("frame %d: NTLM type %d", g.frame, typ)
			}
			types[typ]++
			if typ == 3 && !(hasName(raw, "administrator") && hasName(raw, "example") && hasName(raw, "WANG_WENCHAO")) {
				t.Errorf("frame %d: AUTHENTICATE lacks administrator/example/WANG_WENCHAO", g.frame)
			}
			continue
		}
		responses = append(responses, [2]int64{int64(g.resp.StatusCode), g.resp.ContentLength})
	}
	if types != [4]int{0, 7, 0, 7} {
		t.Errorf("NTLM negotiate/challenge/authenticate counts %v, want 7 NEGOTIATE and 7 AUTHENTICATE", types[1:])
	}
	want := [][2]int64{{302, 155}, {200, 43}, {200, 68}, {200, 1025}, {200, 529}, {200, 68}, {200, 68},
		{200, 1004}, {200, 80}, {200, 209}, {200, 63}, {200, 146}, {200, 148}, {200, 146}, {200, 58}, {200, 1082}}
	if len(responses) != len(want) {
		t.Fatalf("responses %v, want %v", responses, want)
	}
	for i := range want {
		if responses[i] != want[i] {
			t.Errorf("response %d: %v, want %v", i, responses[i], want[i])
		}
	}
}

// zeek erspan.pcap: IE 8 against SharePoint 2010 / IIS 7.5, inside GRE/ERSPAN.
func TestERSPANSharePoint(t *testing.T) {
	got := parseCapture(t, "public/zeek/testing/btest/Traces/erspan.pcap")
	byFrame := map[int]seen{}
	for _, g := range got {
		byFrame[g.frame] = g
	}
	r := byFrame[100].req
	if r == nil || string(r.Host) != "192.168.69.2" || r.Authorization.Scheme != SchemeNTLM {
		t.Fatalf("frame 100: %+v", r)
	}
	if typ, _ := ntlmType(t, r.Authorization.Token); typ != 1 {
		t.Errorf("frame 100: NTLM type %d", typ)
	}
	resp := byFrame[101].resp
	if resp == nil || resp.StatusCode != 401 || resp.NumWWW != 1 || resp.ContentLength != 0 || resp.Close {
		t.Fatalf("frame 101: %+v", resp)
	}
	if typ, raw := ntlmType(t, resp.WWWAuthenticate[0].Token); typ != 2 || !hasName(raw, "TFDSP") {
		t.Errorf("frame 101: NTLM type %d", typ)
	}
	r = byFrame[102].req
	if typ, raw := ntlmType(t, r.Authorization.Token); typ != 3 || !hasName(raw, "administrator") {
		t.Errorf("frame 102: NTLM type %d", typ)
	}
	if resp := byFrame[104].resp; resp == nil || resp.StatusCode != 302 || resp.ContentLength != 162 {
		t.Errorf("frame 104: %+v", resp)
	}
}

// arkime ntlm_synthetic.pcap: NTLM and Negotiate-wrapped raw NTLMSSP.
func TestArkimeSynthetic(t *testing.T) {
	type w struct {
		frame    int
		scheme   Scheme
		ntlmType uint32
		host     string
		code     int
	}
	want := []w{
		{44, SchemeNTLM, 1, "srv.example.com", 0},
		{46, SchemeNTLM, 2, "", 401},
		{48, SchemeNTLM, 3, "srv.example.com", 0},
		{50, SchemeNone, 0, "", 200},
		{58, SchemeNegotiate, 1, "v6srv.example.com", 0},
		{60, SchemeNegotiate, 2, "", 401},
		{62, SchemeNegotiate, 3, "v6srv.example.com", 0},
		{64, SchemeNone, 0, "", 200},
	}
	got := parseCapture(t, "public/arkime/tests/pcap/ntlm_synthetic.pcap")
	if len(got) != len(want) {
		t.Fatalf("%d heads, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		var a Auth
		if g.frame != w.frame {
			t.Fatalf("head %d in frame %d, want %d", i, g.frame, w.frame)
		}
		if g.req != nil {
			a = g.req.Authorization
			if string(g.req.Host) != w.host {
				t.Errorf("frame %d: Host %q", g.frame, g.req.Host)
			}
		} else {
			a = g.resp.WWWAuthenticate[0]
			if g.resp.StatusCode != w.code || g.resp.Close {
				t.Errorf("frame %d: %+v", g.frame, g.resp)
			}
			if n, _ := ResponseBodyLength([]byte("GET"), g.resp); int(n) != len(g.seg)-g.n {
				t.Errorf("frame %d: body %d, have %d bytes", g.frame, n, len(g.seg)-g.n)
			}
		}
		if a.Scheme != w.scheme {
			t.Fatalf("frame %d: scheme %v, want %v", g.frame, a.Scheme, w.scheme)
		}
		if w.ntlmType != 0 {
			if typ, _ := ntlmType(t, a.Token); typ != w.ntlmType {
				t.Errorf("frame %d: NTLM type %d, want %d", g.frame, typ, w.ntlmType)
			}
		}
	}
}

// realHead returns the 401 response head of http_ntlmv2_hostname.pcap, the
// base for the edge cases below.
func realHead(t testing.TB, sig string) []byte {
	t.Helper()
	p := pcaptest.Find(t, "real-implementations/http_ntlmv2_hostname.pcap", []byte(sig))
	if len(p) == 0 {
		t.Fatalf("%q not found", sig)
	}
	return p[0]
}

func TestChallengeLists(t *testing.T) {
	tests := []struct {
		name  string
		hdrs  string
		want  []Scheme
		token []string
	}{
		{"two headers", "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n",
			[]Scheme{SchemeNegotiate, SchemeNTLM}, []string{"", ""}},
		{"comma list", "WWW-Authenticate: Negotiate, NTLM\r\n",
			[]Scheme{SchemeNegotiate, SchemeNTLM}, []string{"", ""}},
		{"lowercase name and scheme", "www-authenticate: ntlm TlRMTVNTUAACAAAA\r\n",
			[]Scheme{SchemeNTLM}, []string{"TlRMTVNTUAACAAAA"}},
		{"token then params", "WWW-Authenticate: Negotiate abc==, Basic realm=\"a, b\", charset=UTF-8, NTLM\r\n",
			[]Scheme{SchemeNegotiate, SchemeBasic, SchemeNTLM}, []string{"abc==", "", ""}},
		{"empty elements", "WWW-Authenticate: ,  , Kerberos ,\r\n",
			[]Scheme{SchemeKerberos}, []string{""}},
		{"digest params", "WWW-Authenticate: Digest realm=\"x\\\"y\", qop=\"auth\", nonce=abc\r\nWWW-Authenticate: Negotiate\r\n",
			[]Scheme{SchemeOther, SchemeNegotiate}, []string{"", ""}},
		{"five keeps NTLM", "WWW-Authenticate: Basic, Digest a=b, Bearer, Foo, NTLM\r\n",
			[]Scheme{SchemeNTLM, SchemeOther, SchemeOther, SchemeOther}, []string{"", "", "", ""}},
		{"garbage tail kept head", "WWW-Authenticate: NTLM, =bad\r\n",
			[]Scheme{SchemeNTLM}, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte("HTTP/1.1 401 Unauthorized\r\n" + tc.hdrs + "Content-Length: 0\r\n\r\n")
			resp, n, err := ParseResponse(b)
			if err != nil || n != len(b) {
				t.Fatalf("n=%d err=%v", n, err)
			}
			if resp.NumWWW != len(tc.want) {
				t.Fatalf("NumWWW %d: %+v", resp.NumWWW, resp.WWWAuthenticate)
			}
			for i, s := range tc.want {
				a := resp.WWWAuthenticate[i]
				if a.Scheme != s || string(a.Token) != tc.token[i] {
					t.Errorf("%d: %v %q, want %v %q", i, a.Scheme, a.Token, s, tc.token[i])
				}
			}
		})
	}
}

func TestHeadVariants(t *testing.T) {
	real401 := string(realHead(t, "HTTP/1.1 401"))
	realReq := string(realHead(t, "GET / HTTP/1.1\r\nHost: web.lab.test\r\nAuthorization: NTLM TlRMTVNTUAAD"))
	lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

	t.Run("LF-only response", func(t *testing.T) {
		b := []byte(lf(real401))
		resp, n, err := ParseResponse(b)
		if err != nil || n != len(b) || resp.StatusCode != 401 || resp.NumWWW != 1 {
			t.Fatalf("%+v n=%d err=%v", resp, n, err)
		}
		if typ, _ := ntlmType(t, resp.WWWAuthenticate[0].Token); typ != 2 {
			t.Errorf("type %d", typ)
		}
	})
	t.Run("LF-only request with leading CRLF", func(t *testing.T) {
		b := []byte("\r\n" + lf(realReq) + "next")
		req, n, err := ParseRequest(b)
		if err != nil || n != len(b)-4 || string(req.Host) != "web.lab.test" {
			t.Fatalf("%+v n=%d err=%v", req, n, err)
		}
		if typ, _ := ntlmType(t, req.Authorization.Token); typ != 3 {
			t.Errorf("type %d", typ)
		}
	})
	t.Run("every truncation is incomplete", func(t *testing.T) {
		for i := 0; i < len(realReq); i++ {
			if _, _, err := ParseRequest([]byte(realReq[:i])); err != ErrIncomplete {
				t.Fatalf("request prefix %d: %v", i, err)
			}
		}
		for i := 0; i < len(real401); i++ {
			if _, _, err := ParseResponse([]byte(real401[:i])); err != ErrIncomplete {
				t.Fatalf("response prefix %d: %v", i, err)
			}
		}
	})
	t.Run("too large", func(t *testing.T) {
		b := []byte("GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\n")
		if _, _, err := ParseRequest(b); err != ErrTooLarge {
			t.Fatalf("err %v", err)
		}
	})

	malformed := []struct {
		name string
		req  bool
		b    string
	}{
		{"obs-fold", true, "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"},
		{"space before colon", true, "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
		{"no colon", true, "GET / HTTP/1.1\r\nHost\r\n\r\n"},
		{"bare CR", true, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"},
		{"HTTP/2 preface", true, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"binary incomplete", true, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
		{"method too long incomplete", true, strings.Repeat("A", 40)},
		{"conflicting Content-Length", true, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
		{"Content-Length list mismatch", false, "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"},
		{"Content-Length sign", false, "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"},
		{"Content-Length overflow", false, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"},
		{"status not numeric", false, "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"status no space", false, "HTTP/1.1 200OK\r\n\r\n"},
		{"not HTTP incomplete", false, "SSH-2.0-Open"},
	}
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.req {
				_, _, err = ParseRequest([]byte(tc.b))
			} else {
				_, _, err = ParseResponse([]byte(tc.b))
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		head    string
		n       int64
		chunked bool
		close   bool
		tunnel  bool
	}{
		{"content-length repeated", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 21\r\ncontent-length: 21, 21\r\n\r\n", 21, false, false, false},
		{"chunked wins over CL", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 21\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", 0, true, false, false},
		{"TE not chunked: until close", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", -1, false, false, false},
		{"no length: until close", "GET", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\n", -1, false, true, false},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n", 0, false, false, false},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", 0, false, false, false},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 0, false, false, false},
		{"100 continue, status without reason", "POST", "HTTP/1.1 100\r\n\r\n", 0, false, false, false},
		{"101 upgrade", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0, false, false, true},
		{"CONNECT 200", "CONNECT", "HTTP/1.1 200 Connection established\r\n\r\n", 0, false, false, true},
		{"CONNECT 407", "CONNECT", "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n", 0, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, err := ParseResponse([]byte(tc.head))
			if err != nil {
				t.Fatal(err)
			}
			n, ch := ResponseBodyLength([]byte(tc.method), &resp)
			if n != tc.n || ch != tc.chunked || resp.Close != tc.close || BecomesTunnel([]byte(tc.method), &resp) != tc.tunnel {
				t.Fatalf("n=%d chunked=%v close=%v resp=%+v", n, ch, resp.Close, resp)
			}
		})
	}

	reqs := []struct {
		head    string
		n       int64
		chunked bool
	}{
		{"POST /rpc HTTP/1.1\r\nContent-Length: 12\r\n\r\n", 12, false},
		{"POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, true},
		{"POST /rpc HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", -1, false},
		{"GET / HTTP/1.0\r\n\r\n", 0, false},
	}
	for _, tc := range reqs {
		req, _, err := ParseRequest([]byte(tc.head))
		if err != nil {
			t.Fatal(err)
		}
		if n, ch := RequestBodyLength(&req); n != tc.n || ch != tc.chunked {
			t.Errorf("%q: %d %v", tc.head, n, ch)
		}
	}

	req, _, err := ParseRequest([]byte("CONNECT proxy:443 HTTP/1.0\r\nProxy-Authorization: Negotiate YII=\r\nUpgrade: h2c\r\nConnection: close\r\n\r\n"))
	if err != nil || !req.HTTP10 || !req.Upgrade || !req.Close || req.ProxyAuthorization.Scheme != SchemeNegotiate ||
		string(req.ProxyAuthorization.Token) != "YII=" || string(req.Target) != "proxy:443" {
		t.Fatalf("%+v %v", req, err)
	}
}

func TestDetection(t *testing.T) {
	yes := []string{"GET / HTTP/1.1", "RPC_IN_DATA /rpc/rpcproxy.dll", "PROPFIND /x", "POST "}
	no := []string{"GET", "get / HTTP/1.1", "GETX /", " GET /", "\x16\x03\x01", "SSH-2.0", "NTLMSSP\x00"}
	for _, s := range yes {
		if !LooksLikeRequest([]byte(s)) {
			t.Errorf("LooksLikeRequest(%q) = false", s)
		}
	}
	for _, s := range no {
		if LooksLikeRequest([]byte(s)) {
			t.Errorf("LooksLikeRequest(%q) = true", s)
		}
	}
	if !LooksLikeResponse(realHead(t, "HTTP/1.1 401")) || LooksLikeResponse([]byte("HTTP/2")) || LooksLikeResponse([]byte("GET / HTTP/1.1")) {
		t.Error("LooksLikeResponse")
	}
}

func TestDecodeToken(t *testing.T) {
	dst := make([]byte, 0, 4)
	for _, tc := range []struct{ in, out string }{
		{"TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=", "NTLMSSP\x00\x01\x00\x00\x00\x06\x82\x08\x00"},
		{"TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA", "NTLMSSP\x00\x01\x00\x00\x00\x06\x82\x08\x00"}, // unpadded
		{"", ""},
	} {
		out, err := DecodeToken(dst, []byte(tc.in))
		if err != nil || !bytes.HasPrefix(out, []byte(tc.out)) {
			t.Errorf("DecodeToken(%q) = %q, %v", tc.in, out, err)
		}
	}
	if _, err := DecodeToken(nil, []byte("TlRM!")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad base64: %v", err)
	}
	// dst is reused when big enough.
	buf := make([]byte, 0, 64)
	out, _ := DecodeToken(buf, []byte("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="))
	if &out[0] != &buf[:1][0] {
		t.Error("dst not reused")
	}
}
