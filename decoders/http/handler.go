package http

import (
	"bytes"
	"strconv"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Carrier registers HTTP/1.x, recognised by content on any port.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoHTTP,
	Ports:    []uint16{80, 8080, 8000, 8008, 8081, 3128, 5985, 47001},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

func detect(toServer bool, b []byte) carrier.Verdict {
	if toServer && LooksLikeRequest(b) || !toServer && LooksLikeResponse(b) {
		return carrier.Yes
	}
	if len(b) < 8 {
		return carrier.Maybe
	}
	return carrier.No
}

const maxPipelined = 16 // requests awaiting responses that we remember

// request is what a response needs to know of the request it answers.
type request struct {
	method [16]byte
	mlen   uint8
	final  bool // carried the client's final token: the response is the outcome
}

func (r *request) methodBytes() []byte { return r.method[:r.mlen] }

// body is the framing state of one direction.
type body struct {
	left    int64 // Content-Length bytes still to pass over
	chunked bool
	ch      Chunked
	toClose bool // the body runs until the connection closes
}

type handler struct {
	conn    *carrier.Conn
	x       *carrier.Exchange // made at the first auth header: most connections never have one
	pending [maxPipelined]request
	head    int // index of the oldest pending request
	n       int
	body    [2]body
	dead    [2]bool // this direction can no longer be parsed (tunnel, garbage)
	tok     []byte  // base64 decode buffer, reused
	method  string  // of the request that carried the final token
	host    string  // url.domain of that request
	lost    bool    // server bytes were lost: responses may be missing
	// the answer to the final token was lost with them: the next answer
	// on the connection tells (NTLM over HTTP authenticates the connection)
	answerLost bool
}

// Feed parses heads and passes over bodies by their framing.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	for used < len(b) {
		if h.dead[d] {
			return len(b)
		}
		bs := &h.body[d]
		switch {
		case bs.toClose:
			return len(b)
		case bs.left > 0:
			rest := int64(len(b) - used)
			if rest < bs.left {
				skip := bs.left
				bs.left = 0
				return used + int(skip) // the excess is skipped as it arrives
			}
			used += int(bs.left)
			bs.left = 0
			continue
		case bs.chunked:
			n, done, err := bs.ch.Skip(b[used:])
			used += n
			if err != nil {
				bs.chunked = false
				used += h.resync(toServer, b[used:])
				continue
			}
			if !done {
				return used
			}
			bs.chunked = false
			continue
		}
		var n int
		var err error
		if toServer {
			n, err = h.request(b[used:], ts)
		} else {
			n, err = h.response(b[used:], ts)
		}
		if err == ErrIncomplete {
			return used
		}
		if err != nil {
			n = h.resync(toServer, b[used:])
			if n == 0 {
				return used
			}
		}
		used += n
	}
	return used
}

// resync passes over bytes that are not a message head, to the next line
// that starts one; it returns how many bytes to drop (all but a short tail
// when none is found).
func (h *handler) resync(toServer bool, b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if toServer && LooksLikeRequest(b[i:]) || !toServer && LooksLikeResponse(b[i:]) {
			return i
		}
	}
	return max(0, len(b)-16)
}

func (h *handler) request(b []byte, ts time.Time) (int, error) {
	req, n, err := ParseRequest(b)
	if err != nil {
		return 0, err
	}
	r := request{}
	r.mlen = uint8(copy(r.method[:], req.Method))
	for _, a := range [2]Auth{req.Authorization, req.ProxyAuthorization} {
		if !a.Scheme.carriesTokens() || len(a.Token) == 0 {
			continue
		}
		tok, err := DecodeToken(h.tok[:0], a.Token)
		h.tok = tok
		if err != nil {
			continue
		}
		h.exchange()
		if h.x.Pending() {
			// a new exchange while the last attempt's answer was never
			// seen: that attempt's outcome is unknown
			h.unknown(ts)
		}
		if h.x.ClientToken(tok) {
			r.final = true
			h.method = string(req.Method)
			h.host = hostOnly(req.Host)
		}
	}
	h.push(r)
	if l, chunked := RequestBodyLength(&req); chunked {
		h.body[0].chunked = true
		h.body[0].ch.Reset()
	} else if l > 0 {
		h.body[0].left = l
	} else if l < 0 {
		h.dead[0] = true
	}
	return n, nil
}

func (s Scheme) carriesTokens() bool {
	return s == SchemeNTLM || s == SchemeNegotiate || s == SchemeKerberos
}

func (h *handler) response(b []byte, ts time.Time) (int, error) {
	resp, n, err := ParseResponse(b)
	if err != nil {
		return 0, err
	}
	if h.lost {
		// responses were lost with the bytes: HTTP clients wait for one
		// answer before the next request, so this one answers the newest
		h.lost = false
		for h.n > 1 {
			if h.pending[h.head].final {
				h.answerLost = true
			}
			h.head = (h.head + 1) % maxPipelined
			h.n--
		}
	}
	r, ok := h.pop(resp.StatusCode)
	for _, a := range resp.WWWAuthenticate[:resp.NumWWW] {
		h.challenge(a)
	}
	for _, a := range resp.ProxyAuthenticate[:resp.NumProxy] {
		h.challenge(a)
	}
	if ok && (r.final || h.answerLost && h.pendingAttempt()) {
		h.answerLost = false
		outcome := findings.Success
		if resp.StatusCode == 401 || resp.StatusCode == 407 || h.x.Rejected() {
			outcome = findings.Failure
		}
		f := h.x.Finish(outcome, "HTTP "+strconv.Itoa(resp.StatusCode))
		f.HTTP.Method, f.HTTP.Host, f.HTTP.StatusCode = h.method, h.host, resp.StatusCode
		h.conn.Emit(f, ts)
	}
	var method []byte
	if ok {
		method = r.methodBytes()
	}
	if BecomesTunnel(method, &resp) {
		h.dead[0], h.dead[1] = true, true
		return n, nil
	}
	switch l, chunked := ResponseBodyLength(method, &resp); {
	case chunked:
		h.body[1].chunked = true
		h.body[1].ch.Reset()
	case l > 0:
		h.body[1].left = l
	case l < 0:
		h.body[1].toClose = true
	}
	return n, nil
}

// challenge reads one WWW-Authenticate / Proxy-Authenticate value: a bare
// Negotiate is the server's offer of Kerberos; a token is the server's
// answer in the exchange (CHALLENGE, AP-REP).
func (h *handler) challenge(a Auth) {
	if a.Scheme == SchemeNegotiate || a.Scheme == SchemeKerberos {
		if len(a.Token) == 0 {
			h.exchange().OfferKerberos()
		}
	}
	if !a.Scheme.carriesTokens() || len(a.Token) == 0 {
		return
	}
	tok, err := DecodeToken(h.tok[:0], a.Token)
	h.tok = tok
	if err == nil {
		h.exchange().ServerToken(tok)
	}
}

func (h *handler) push(r request) {
	if h.n == maxPipelined {
		h.head = (h.head + 1) % maxPipelined // forget the oldest
		h.n--
	}
	h.pending[(h.head+h.n)%maxPipelined] = r
	h.n++
}

// pop takes the request a response answers; interim 1xx responses do not
// consume it.
func (h *handler) pop(status int) (request, bool) {
	if h.n == 0 {
		return request{}, false
	}
	r := h.pending[h.head]
	if status >= 100 && status < 200 && status != 101 {
		return r, false
	}
	h.head = (h.head + 1) % maxPipelined
	h.n--
	return r, true
}

// Gap: the direction can no longer be framed; find the next head.
func (h *handler) Gap(toServer bool, ts time.Time) {
	d := carrier.Side(toServer)
	h.body[d] = body{}
	h.dead[d] = false
	if !toServer {
		h.lost = true
	}
}

// Close emits an attempt whose response never came.
func (h *handler) Close(ts time.Time) {
	if h.pendingAttempt() {
		h.unknown(ts)
	}
}

func (h *handler) unknown(ts time.Time) {
	f := h.x.Finish(findings.Unknown, "")
	f.HTTP.Method, f.HTTP.Host = h.method, h.host
	h.conn.Emit(f, ts)
}

func (h *handler) exchange() *carrier.Exchange {
	if h.x == nil {
		h.x = new(carrier.Exchange)
	}
	return h.x
}

func (h *handler) pendingAttempt() bool { return h.x != nil && h.x.Pending() }

// hostOnly is the Host header without its port: url.domain.
func hostOnly(host []byte) string {
	host = bytes.TrimSpace(host)
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i > 0 {
			return string(host[1:i])
		}
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[:i], ':') < 0 {
		host = host[:i]
	}
	return string(host)
}
