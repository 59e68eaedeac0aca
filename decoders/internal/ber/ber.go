// Package ber reads BER elements with definite lengths [X.690 8.1], as
// the Kerberos and SPNEGO decoders need them.
//
// cryptobyte's ReadASN1 is strict DER: it rejects non-minimal long-form
// lengths, which some GSS and Kerberos stacks emit, and cannot tell a
// buffer that stops early (a token or TCP record still arriving) from a
// bad one. This reader, built on cryptobyte.String, does both. Only
// single-octet identifiers are accepted: RFC 4120 and RFC 4178 use no tag
// number above 30. Indefinite lengths are not DER and are rejected.
// Nothing is allocated: a body is a sub-slice of its input.
package ber

import (
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Identifier octet fields [X.690 8.1.2].
const (
	classMask     = 0xc0
	classContext  = 0x80
	constructed   = 0x20
	tagNumberMask = 0x1f
)

// Reader reads elements and reports in its caller's errors, so that each
// decoder keeps its own sentinels (errors.Is works on them).
type Reader struct {
	Truncated error                   // the input ends before the element does
	Malformed func(what string) error // the bytes are there but break the rules
}

// Header reads the identifier octet and the length of the element at the
// start of b, not its body: for framing a stream, where the body may be
// still arriving. hdr is how many octets they take, n the body's length,
// which may run past b. Too few bytes for the header is Truncated.
func (r Reader) Header(b []byte) (tag asn1.Tag, hdr int, n uint64, err error) {
	if len(b) < 2 {
		return 0, 0, 0, r.Truncated
	}
	id, l := b[0], b[1]
	if id&tagNumberMask == tagNumberMask {
		return 0, 0, 0, r.Malformed("high tag number")
	}
	if l&0x80 == 0 {
		return asn1.Tag(id), 2, uint64(l), nil
	}
	k := int(l & 0x7f)
	if k == 0 {
		return 0, 0, 0, r.Malformed("indefinite length")
	}
	if k > 4 {
		return 0, 0, 0, r.Malformed("length of length")
	}
	if len(b) < 2+k {
		return 0, 0, 0, r.Truncated
	}
	for _, c := range b[2 : 2+k] {
		n = n<<8 | uint64(c)
	}
	return asn1.Tag(id), 2 + k, n, nil
}

// Element reads one element from s: its identifier octet and its body. A
// length running past the end of s is Truncated, anything else Malformed.
func (r Reader) Element(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) {
	tag, hdr, n, err := r.Header(*s)
	if err != nil {
		return 0, nil, err
	}
	if n > uint64(len(*s)-hdr) {
		return 0, nil, r.Truncated
	}
	var body []byte
	s.Skip(hdr)
	s.ReadBytes(&body, int(n))
	return tag, cryptobyte.String(body), nil
}

// Next reads an element nested inside one already known to be complete: a
// length running past its parent is then malformed, not truncated.
func (r Reader) Next(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) {
	tag, body, err := r.Element(s)
	if err == r.Truncated {
		err = r.Malformed("element overruns its parent")
	}
	return tag, body, err
}

// Expect reads the next nested element and checks its tag.
func (r Reader) Expect(s *cryptobyte.String, want asn1.Tag, what string) (cryptobyte.String, error) {
	tag, body, err := r.Next(s)
	if err != nil {
		return nil, err
	}
	if tag != want {
		return nil, r.Malformed(what)
	}
	return body, nil
}

// Field reads the next member of a SEQUENCE whose members are EXPLICIT
// context tags [n] (RFC 4120 and RFC 4178 use nothing else): n is -1 for
// anything else, which callers skip. v holds the tagged content.
func (r Reader) Field(s *cryptobyte.String) (n int, v cryptobyte.String, err error) {
	tag, v, err := r.Next(s)
	if err != nil {
		return 0, nil, err
	}
	if tag&(classMask|constructed) != classContext|constructed {
		return -1, v, nil
	}
	return int(tag & tagNumberMask), v, nil
}
