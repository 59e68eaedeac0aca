package http

import (
	"bytes"
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

var seedCaptures = []string{
	"real-implementations/http_ntlmv2_hostname.pcap",
	"real-implementations/http_ntlmv1.pcap",
	"real-implementations/http_ntlmv2_by_ip.pcap",
	"real-implementations/http_ntlm_wrong_password.pcap",
	"real-implementations/http_negotiate_kerberos.pcap",
	"public/CredSLayer/tests/samples/http-ntlm.pcap",
	"public/arkime/tests/pcap/ntlm_synthetic.pcap",
}

func seedHeads(f *testing.F, response bool) {
	for _, rel := range seedCaptures {
		for _, s := range pcaptest.Segments(f, rel) {
			if (response && LooksLikeResponse(s.Payload)) || (!response && LooksLikeRequest(s.Payload)) {
				f.Add(s.Payload)
			}
		}
	}
}

// within reports whether sub aliases b (or is empty).
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	// A sub-slice of b shares the end of b's backing array.
	return bytes.Contains(b, sub) && &b[:cap(b)][cap(b)-1] == &sub[:cap(sub)][cap(sub)-1]
}

func knownErr(err error) bool {
	return errors.Is(err, ErrIncomplete) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed)
}

func checkAuth(t *testing.T, a Auth, b []byte) {
	if !within(a.Token, b) || a.Scheme > SchemeOther || (a.Scheme == SchemeNone && a.Token != nil) {
		t.Fatalf("bad auth %+v", a)
	}
	if _, err := DecodeToken(nil, a.Token); err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

func FuzzParseRequest(f *testing.F) {
	seedHeads(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		req, n, err := ParseRequest(b)
		if err != nil {
			if !knownErr(err) || n != 0 {
				t.Fatalf("n=%d err=%v", n, err)
			}
			return
		}
		if n <= 0 || n > len(b) || n > MaxHeaderBytes {
			t.Fatalf("n=%d len=%d", n, len(b))
		}
		if len(req.Method) == 0 || len(req.Target) == 0 || !within(req.Method, b[:n]) ||
			!within(req.Target, b[:n]) || !within(req.Host, b[:n]) || req.ContentLength < -1 {
			t.Fatalf("bad request %+v", req)
		}
		checkAuth(t, req.Authorization, b[:n])
		checkAuth(t, req.ProxyAuthorization, b[:n])
		// The head alone parses the same; one byte less is incomplete.
		if req2, n2, err := ParseRequest(b[:n]); err != nil || n2 != n || req2.ContentLength != req.ContentLength ||
			req2.Authorization.Scheme != req.Authorization.Scheme {
			t.Fatalf("reparse: %d %v", n2, err)
		}
		if _, _, err := ParseRequest(b[:n-1]); err != ErrIncomplete {
			t.Fatalf("prefix: %v", err)
		}
		if bl, ch := RequestBodyLength(&req); bl < -1 || (ch && bl != 0) {
			t.Fatalf("body %d %v", bl, ch)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seedHeads(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, n, err := ParseResponse(b)
		if err != nil {
			if !knownErr(err) || n != 0 {
				t.Fatalf("n=%d err=%v", n, err)
			}
			return
		}
		if n <= 0 || n > len(b) || resp.StatusCode < 100 || resp.StatusCode > 999 ||
			resp.NumWWW < 0 || resp.NumWWW > 4 || resp.NumProxy < 0 || resp.NumProxy > 4 || resp.ContentLength < -1 {
			t.Fatalf("n=%d resp=%+v", n, resp)
		}
		for _, a := range resp.WWWAuthenticate[:resp.NumWWW] {
			checkAuth(t, a, b[:n])
		}
		for _, a := range resp.ProxyAuthenticate[:resp.NumProxy] {
			checkAuth(t, a, b[:n])
		}
		if resp2, n2, err := ParseResponse(b[:n]); err != nil || n2 != n || !sameResponse(&resp, &resp2) {
			t.Fatalf("reparse: %d %v", n2, err)
		}
		if _, _, err := ParseResponse(b[:n-1]); err != ErrIncomplete {
			t.Fatalf("prefix: %v", err)
		}
		for _, m := range []string{"GET", "HEAD", "CONNECT"} {
			if bl, ch := ResponseBodyLength([]byte(m), &resp); bl < -1 || (ch && bl != 0) {
				t.Fatalf("body %d %v", bl, ch)
			}
		}
	})
}

// FuzzChunked checks that Skip never over-consumes and that feeding the same
// bytes in pieces gives the same result as feeding them at once.
func FuzzChunked(f *testing.F) {
	body := realBody(f, 3000)
	next := realHead(f, "HTTP/1.1 401")
	for _, enc := range [][]byte{
		chunkEncode(body, []int{0x1000}, "", "", "\r\n"),
		chunkEncode(body[:600], []int{1, 7, 300}, ";a=\"b\"", "X: 1", "\r\n"),
		chunkEncode(body[:100], []int{50}, "", "T: 1", "\n"),
	} {
		f.Add(append(enc, next...), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		var c Chunked
		n, done, err := c.Skip(b)
		if n < 0 || n > len(b) || (err != nil && !errors.Is(err, ErrMalformed)) || (err == nil && !done && n != len(b)) {
			t.Fatalf("n=%d done=%v err=%v", n, done, err)
		}
		st := int(step%16) + 1
		var c2 Chunked
		total, done2 := 0, false
		var err2 error
		for total < len(b) && !done2 && err2 == nil {
			end := min(total+st, len(b))
			var k int
			k, done2, err2 = c2.Skip(b[total:end])
			total += k
		}
		if done2 != done || (err2 == nil) != (err == nil) || total != n {
			t.Fatalf("whole: %d %v %v; in %d-byte pieces: %d %v %v", n, done, err, st, total, done2, err2)
		}
	})
}

func sameResponse(a, b *Response) bool {
	if a.StatusCode != b.StatusCode || a.NumWWW != b.NumWWW || a.NumProxy != b.NumProxy ||
		a.ContentLength != b.ContentLength || a.Chunked != b.Chunked || a.Close != b.Close || a.HTTP10 != b.HTTP10 {
		return false
	}
	for i := range a.WWWAuthenticate {
		if a.WWWAuthenticate[i].Scheme != b.WWWAuthenticate[i].Scheme || !bytes.Equal(a.WWWAuthenticate[i].Token, b.WWWAuthenticate[i].Token) ||
			a.ProxyAuthenticate[i].Scheme != b.ProxyAuthenticate[i].Scheme || !bytes.Equal(a.ProxyAuthenticate[i].Token, b.ProxyAuthenticate[i].Token) {
			return false
		}
	}
	return true
}
