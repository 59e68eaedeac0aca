// Package http parses HTTP/1.x message heads (RFC 9112) far enough for an
// authentication sensor: request line, status line, Host, the
// Authorization / WWW-Authenticate family (RFC 9110 11.6, RFC 4559
// Negotiate, MS-NTHT NTLM) and the body framing headers.
//
// Parsers are pure: they return sub-slices of the input and do not copy or
// allocate. DecodeToken writes into a buffer the caller reuses.
package http

import (
	"bytes"
	"errors"

	"ntlmsensor/decoders/internal/decodeerr"
)

// MaxHeaderBytes bounds a message head: more bytes than this without the
// empty line that ends the head is ErrTooLarge.
const MaxHeaderBytes = 64 << 10

var (
	// ErrIncomplete means the head is not complete yet: call again with more bytes.
	ErrIncomplete = errors.New("http: incomplete header")
	// ErrTooLarge means no end of head within MaxHeaderBytes.
	ErrTooLarge = errors.New("http: header too large")
	// ErrMalformed means the bytes are not a valid HTTP/1.x head (or body framing).
	ErrMalformed = errors.New("http: malformed message")
)

// Failing parses return these, made once: they do not allocate, and
// errors.Is finds the sentinel they wrap.
var (
	errRequestLine   = &decodeerr.Error{Kind: ErrMalformed, What: "request line"}
	errStatusLine    = &decodeerr.Error{Kind: ErrMalformed, What: "status line"}
	errFieldLine     = &decodeerr.Error{Kind: ErrMalformed, What: "header field line"}
	errObsFold       = &decodeerr.Error{Kind: ErrMalformed, What: "obsolete line folding"}
	errContentLength = &decodeerr.Error{Kind: ErrMalformed, What: "invalid Content-Length"}
	errBareCR        = &decodeerr.Error{Kind: ErrMalformed, What: "bare CR in head"}
)

// Request is a parsed request head. Byte slices alias the input.
type Request struct {
	Method, Target, Host []byte
	Authorization        Auth
	ProxyAuthorization   Auth
	// ContentLength is -1 when absent or when Transfer-Encoding overrides it
	// (RFC 9112 6.3).
	ContentLength int64
	Chunked       bool // the final transfer coding is chunked
	Close         bool // Connection: close
	HTTP10        bool
	Upgrade       bool // an Upgrade header asks to switch protocols

	unframed bool // Transfer-Encoding without final chunked (RFC 9112 6.3 item 4)
}

// Response is a parsed response head. Challenges alias the input.
type Response struct {
	StatusCode int
	// Up to 4 challenges of WWW-Authenticate, in order, whether sent as
	// separate headers or as a comma list. When more arrive,
	// NTLM/Negotiate/Kerberos challenges displace other schemes.
	WWWAuthenticate   [4]Auth
	NumWWW            int
	ProxyAuthenticate [4]Auth
	NumProxy          int
	// ContentLength is -1 when absent or when Transfer-Encoding overrides it.
	ContentLength int64
	Chunked       bool
	Close         bool
	HTTP10        bool
}

// headReader walks the lines of a head. It searches at most MaxHeaderBytes.
type headReader struct {
	b    []byte // input limited to MaxHeaderBytes
	full int    // length of the whole input
	off  int
}

func newHeadReader(b []byte) headReader {
	r := headReader{b: b, full: len(b)}
	if len(r.b) > MaxHeaderBytes {
		r.b = r.b[:MaxHeaderBytes]
	}
	return r
}

// line returns the next line without its CRLF or LF (RFC 9112 2.2 allows a
// bare LF terminator). A CR anywhere else in the line is an error.
func (r *headReader) line() ([]byte, error) {
	j := bytes.IndexByte(r.b[r.off:], '\n')
	if j < 0 {
		if r.full >= MaxHeaderBytes {
			return nil, ErrTooLarge
		}
		return nil, ErrIncomplete
	}
	line := r.b[r.off : r.off+j]
	r.off += j + 1
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, errBareCR
	}
	return line, nil
}

// rest is the unread part of the input, for validating a partial start line.
func (r *headReader) rest() []byte { return r.b[r.off:] }

// skipEmptyLines ignores empty lines before a start line (RFC 9112 2.2).
func (r *headReader) skipEmptyLines() {
	for r.off < len(r.b) && (r.b[r.off] == '\r' || r.b[r.off] == '\n') {
		r.off++
	}
}

// ParseRequest parses a request head at the start of b; n is the head length
// including the final empty line.
func ParseRequest(b []byte) (req Request, n int, err error) {
	r := newHeadReader(b)
	r.skipEmptyLines()
	line, err := r.line()
	if err != nil {
		if err == ErrIncomplete && !requestLinePrefixOK(r.rest()) {
			err = errRequestLine
		}
		return Request{}, 0, err
	}
	// RFC 9112 3: request-line = method SP request-target SP HTTP-version
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 || !isToken(line[:sp1]) {
		return Request{}, 0, errRequestLine
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 || !validTarget(rest[:sp2]) {
		return Request{}, 0, errRequestLine
	}
	http10, ok := parseVersion(rest[sp2+1:])
	if !ok {
		return Request{}, 0, errRequestLine
	}
	req = Request{Method: line[:sp1], Target: rest[:sp2], HTTP10: http10, ContentLength: -1}
	var f framing
	for {
		line, err := r.line()
		if err != nil {
			return Request{}, 0, err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := splitField(line)
		if err != nil {
			return Request{}, 0, err
		}
		switch len(name) {
		case 4:
			if req.Host == nil && bytes.EqualFold(name, hdrHost) {
				req.Host = value
			}
		case 7:
			if bytes.EqualFold(name, hdrUpgrade) && len(value) > 0 {
				req.Upgrade = true
			}
		case 13:
			if req.Authorization.Scheme == SchemeNone && bytes.EqualFold(name, hdrAuthorization) {
				req.Authorization = parseCredentials(value)
			}
		case 19:
			if req.ProxyAuthorization.Scheme == SchemeNone && bytes.EqualFold(name, hdrProxyAuthorization) {
				req.ProxyAuthorization = parseCredentials(value)
			}
		default:
			if err := f.field(name, value); err != nil {
				return Request{}, 0, err
			}
		}
	}
	req.ContentLength, req.Chunked, req.Close = f.result()
	req.unframed = f.haveTE && !f.chunked
	return req, r.off, nil
}

// ParseResponse parses a response head at the start of b; n is the head
// length including the final empty line.
func ParseResponse(b []byte) (resp Response, n int, err error) {
	r := newHeadReader(b)
	line, err := r.line()
	if err != nil {
		if err == ErrIncomplete && !statusLinePrefixOK(r.rest()) {
			err = errStatusLine
		}
		return Response{}, 0, err
	}
	// RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
	// (the SP before an empty reason is often missing; accept that).
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return Response{}, 0, errStatusLine
	}
	http10, ok := parseVersion(line[:8])
	if !ok {
		return Response{}, 0, errStatusLine
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return Response{}, 0, errStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return Response{}, 0, errStatusLine
	}
	resp = Response{StatusCode: code, HTTP10: http10, ContentLength: -1}
	var f framing
	for {
		line, err := r.line()
		if err != nil {
			return Response{}, 0, err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := splitField(line)
		if err != nil {
			return Response{}, 0, err
		}
		switch len(name) {
		case 16:
			if bytes.EqualFold(name, hdrWWWAuthenticate) {
				addChallenges(&resp.WWWAuthenticate, &resp.NumWWW, value)
				continue
			}
		case 18:
			if bytes.EqualFold(name, hdrProxyAuthenticate) {
				addChallenges(&resp.ProxyAuthenticate, &resp.NumProxy, value)
				continue
			}
		}
		if err := f.field(name, value); err != nil {
			return Response{}, 0, err
		}
	}
	resp.ContentLength, resp.Chunked, resp.Close = f.result()
	return resp, r.off, nil
}

var (
	hdrHost               = []byte("Host")
	hdrUpgrade            = []byte("Upgrade")
	hdrConnection         = []byte("Connection")
	hdrAuthorization      = []byte("Authorization")
	hdrContentLength      = []byte("Content-Length")
	hdrWWWAuthenticate    = []byte("WWW-Authenticate")
	hdrTransferEncoding   = []byte("Transfer-Encoding")
	hdrProxyAuthenticate  = []byte("Proxy-Authenticate")
	hdrProxyAuthorization = []byte("Proxy-Authorization")
	tokChunked            = []byte("chunked")
	tokClose              = []byte("close")
)

// framing collects the headers that decide the body length (RFC 9112 6).
type framing struct {
	contentLength int64
	haveCL        bool
	haveTE        bool
	chunked       bool
	close         bool
}

func (f *framing) field(name, value []byte) error {
	switch len(name) {
	case 10:
		if bytes.EqualFold(name, hdrConnection) {
			forEachElement(value, func(e []byte) {
				if bytes.EqualFold(e, tokClose) {
					f.close = true
				}
			})
		}
	case 14:
		if bytes.EqualFold(name, hdrContentLength) {
			return f.addContentLength(value)
		}
	case 17:
		if bytes.EqualFold(name, hdrTransferEncoding) {
			// RFC 9112 6.1: chunked counts only as the final coding; a
			// later header continues the same list.
			f.haveTE = true
			forEachElement(value, func(e []byte) {
				if i := bytes.IndexByte(e, ';'); i >= 0 {
					e = trimOWS(e[:i])
				}
				f.chunked = bytes.EqualFold(e, tokChunked)
			})
		}
	}
	return nil
}

// addContentLength accepts repeated or listed values only when all are equal
// (RFC 9112 6.3 item 5).
func (f *framing) addContentLength(value []byte) error {
	bad := false
	empty := true
	forEachElement(value, func(e []byte) {
		empty = false
		n, ok := parseDecimal(e)
		if !ok || (f.haveCL && n != f.contentLength) {
			bad = true
			return
		}
		f.contentLength, f.haveCL = n, true
	})
	if bad || empty {
		return errContentLength
	}
	return nil
}

func (f *framing) result() (contentLength int64, chunked, close bool) {
	contentLength = -1
	if f.haveCL && !f.haveTE {
		contentLength = f.contentLength
	}
	return contentLength, f.haveTE && f.chunked, f.close
}

// forEachElement calls fn for each non-empty element of a comma-separated
// list (RFC 9110 5.6.1), trimmed of OWS. fn must not retain the slice beyond
// the parsed message's lifetime.
func forEachElement(v []byte, fn func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		var e []byte
		if i < 0 {
			e, v = v, nil
		} else {
			e, v = v[:i], v[i+1:]
		}
		if e = trimOWS(e); len(e) > 0 {
			fn(e)
		}
	}
}

// parseDecimal parses 1*DIGIT into a non-negative int64 without overflow.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// splitField splits an RFC 9112 5 field-line: field-name ":" OWS field-value OWS.
func splitField(line []byte) (name, value []byte, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, errObsFold
	}
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !isToken(line[:i]) { // no whitespace allowed before the colon
		return nil, nil, errFieldLine
	}
	return line[:i], trimOWS(line[i+1:]), nil
}

// parseVersion accepts "HTTP/1.x"; HTTP/1.0 is reported.
func parseVersion(v []byte) (http10, ok bool) {
	if len(v) != 8 || string(v[:7]) != "HTTP/1." || v[7] < '0' || v[7] > '9' {
		return false, false
	}
	return v[7] == '0', true
}

// requestLinePrefixOK reports whether an incomplete request line can still
// become valid, so garbage is rejected without waiting for MaxHeaderBytes.
func requestLinePrefixOK(p []byte) bool {
	sp := bytes.IndexByte(p, ' ')
	if sp < 0 {
		return len(p) <= maxMethodLen && isTokenOrEmpty(p)
	}
	if sp == 0 || sp > maxMethodLen || !isToken(p[:sp]) {
		return false
	}
	for _, c := range p[sp+1:] {
		if c < ' ' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

const maxMethodLen = 32

func statusLinePrefixOK(p []byte) bool {
	const v = "HTTP/1."
	if len(p) > len(v) {
		p = p[:len(v)]
	}
	return string(p) == v[:len(p)]
}

// validTarget rejects control characters in a request-target (RFC 9112 3.2).
func validTarget(t []byte) bool {
	for _, c := range t {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenChar marks RFC 9110 5.6.2 tchar.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool { return len(b) > 0 && isTokenOrEmpty(b) }

func isTokenOrEmpty(b []byte) bool {
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}
