package http

import (
	"bytes"
	"encoding/base64"

	"ntlmsensor/decoders/internal/decodeerr"
)

// Scheme is an HTTP authentication scheme (RFC 9110 11.1).
type Scheme uint8

const (
	SchemeNone      Scheme = iota // no header
	SchemeNTLM                    // MS-NTHT: NTLM <base64 NTLMSSP message>
	SchemeNegotiate               // RFC 4559: SPNEGO, Kerberos AP-REQ, or raw NTLMSSP
	SchemeKerberos                // "Kerberos" (RFC 4559 predecessor, still sent by some servers)
	SchemeBasic
	SchemeOther
)

var schemeNames = [...]string{"none", "NTLM", "Negotiate", "Kerberos", "Basic", "other"}

func (s Scheme) String() string {
	if int(s) < len(schemeNames) {
		return schemeNames[s]
	}
	return "invalid"
}

// Auth is one credentials value (Authorization) or one challenge
// (WWW-Authenticate).
type Auth struct {
	Scheme Scheme
	// Token is the token68 (base64 text) after the scheme, trimmed. It is
	// empty for a bare offer ("WWW-Authenticate: Negotiate") and for
	// auth-param forms such as `Basic realm="x"`.
	Token []byte
}

// interesting reports schemes that carry NTLM or Kerberos.
func (s Scheme) interesting() bool {
	return s == SchemeNTLM || s == SchemeNegotiate || s == SchemeKerberos
}

var (
	nameNTLM      = []byte("NTLM")
	nameNegotiate = []byte("Negotiate")
	nameKerberos  = []byte("Kerberos")
	nameBasic     = []byte("Basic")
)

func schemeOf(name []byte) Scheme {
	switch {
	case bytes.EqualFold(name, nameNTLM):
		return SchemeNTLM
	case bytes.EqualFold(name, nameNegotiate):
		return SchemeNegotiate
	case bytes.EqualFold(name, nameKerberos):
		return SchemeKerberos
	case bytes.EqualFold(name, nameBasic):
		return SchemeBasic
	}
	return SchemeOther
}

// parseCredentials parses an Authorization value (RFC 9110 11.6.2:
// credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]).
func parseCredentials(v []byte) Auth {
	it := challenges{v: v}
	a, _ := it.next()
	return a
}

// addChallenges records each challenge of a WWW-Authenticate or
// Proxy-Authenticate value (RFC 9110 11.6.1: #challenge). A malformed tail is
// ignored: what parsed before it is kept.
func addChallenges(list *[4]Auth, num *int, v []byte) {
	it := challenges{v: v}
	for {
		a, ok := it.next()
		if !ok {
			return
		}
		if *num < len(list) {
			list[*num] = a
			*num++
			continue
		}
		if !a.Scheme.interesting() {
			continue
		}
		for i := range list {
			if !list[i].Scheme.interesting() {
				list[i] = a
				break
			}
		}
	}
}

// challenges iterates a #challenge list:
//
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// The comma is ambiguous between challenges and auth-params; as in RFC 9110,
// an element that is `token BWS "="` continues the params, anything else
// starts a new challenge.
type challenges struct {
	v []byte
	i int
}

func (c *challenges) next() (Auth, bool) {
	v := c.v
	i := skipListSep(v, c.i)
	start := i
	for i < len(v) && tokenChar[v[i]] {
		i++
	}
	if i == start || (i < len(v) && v[i] != ' ' && v[i] != '\t' && v[i] != ',') {
		c.i = len(v)
		return Auth{}, false
	}
	a := Auth{Scheme: schemeOf(v[start:i])}
	i = skipOWS(v, i)
	if i == len(v) || v[i] == ',' {
		c.i = i
		return a, true
	}
	// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	t := i
	for i < len(v) && token68Char[v[i]] {
		i++
	}
	end := i
	for end < len(v) && v[end] == '=' {
		end++
	}
	if j := skipOWS(v, end); i > t && (j == len(v) || v[j] == ',') {
		a.Token = v[t:end]
		c.i = j
		return a, true
	}
	// auth-params: consume them, stop before the next challenge.
	i = t
	for {
		var ok bool
		if i, ok = skipParam(v, i); !ok {
			c.i = len(v)
			return a, true
		}
		i = skipOWS(v, i)
		if i == len(v) {
			c.i = i
			return a, true
		}
		if v[i] != ',' {
			c.i = len(v)
			return a, true
		}
		j := skipListSep(v, i)
		if !isParamStart(v, j) {
			c.i = j
			return a, true
		}
		i = j
	}
}

// skipParam skips `token BWS "=" BWS ( token / quoted-string )` at i.
func skipParam(v []byte, i int) (int, bool) {
	s := i
	for i < len(v) && tokenChar[v[i]] {
		i++
	}
	if i == s {
		return i, false
	}
	i = skipOWS(v, i)
	if i == len(v) || v[i] != '=' {
		return i, false
	}
	i = skipOWS(v, i+1)
	if i < len(v) && v[i] == '"' {
		// quoted-string with quoted-pair (RFC 9110 5.6.4)
		for i++; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return len(v), false
	}
	s = i
	for i < len(v) && tokenChar[v[i]] {
		i++
	}
	return i, i > s
}

func isParamStart(v []byte, i int) bool {
	s := i
	for i < len(v) && tokenChar[v[i]] {
		i++
	}
	if i == s {
		return false
	}
	i = skipOWS(v, i)
	return i < len(v) && v[i] == '='
}

// skipListSep skips OWS and empty list elements (RFC 9110 5.6.1).
func skipListSep(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
		i++
	}
	return i
}

func skipOWS(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

var token68Char = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

var errBadToken = &decodeerr.Error{Kind: ErrMalformed, What: "invalid base64 token"}

// DecodeToken base64-decodes an Auth token into dst (grown if needed) and
// returns dst[:n], so a caller can reuse dst. Unpadded tokens are accepted.
func DecodeToken(dst []byte, tok []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(tok)%4 != 0 && bytes.IndexByte(tok, '=') < 0 {
		enc = base64.RawStdEncoding
	}
	n := enc.DecodedLen(len(tok))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := enc.Decode(dst, tok)
	if err != nil {
		return dst[:0], errBadToken
	}
	return dst[:m], nil
}
