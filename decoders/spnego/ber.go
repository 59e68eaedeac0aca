package spnego

import (
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Identifier octets [X.690 8.1.2] used by RFC 2743 3.1, RFC 4178 4.2 and
// MS-SPNG 2.2.
const (
	tagOID         = asn1.OBJECT_IDENTIFIER // 0x06
	tagOctetString = asn1.OCTET_STRING      // 0x04
	tagEnum        = asn1.ENUM              // 0x0a
	tagSequence    = asn1.SEQUENCE          // 0x30
	tagGSSAPI      = asn1.Tag(0x60)         // [APPLICATION 0] InitialContextToken
	tagNegInit     = asn1.Tag(0xa0)         // NegotiationToken negTokenInit [0]
	tagNegResp     = asn1.Tag(0xa1)         // NegotiationToken negTokenResp [1]

	classMask     = 0xc0
	classContext  = 0x80
	constructed   = 0x20
	tagNumberMask = 0x1f
)

// readElement reads one BER element with a definite length [X.690 8.1] from s.
//
// cryptobyte's ReadASN1 is strict DER: it rejects non-minimal long-form
// lengths, which some GSS stacks emit, and cannot tell a buffer that stops
// early (a token still arriving) from a bad one. This reader, built on
// cryptobyte.String, does both. Only single-octet identifiers are accepted:
// SPNEGO uses no tag number above 30. Indefinite lengths are not DER and are
// rejected. A length running past the end of s is ErrTruncated, anything else
// ErrMalformed. Nothing is allocated: body is a sub-slice of s.
//
// (The kerberos package carries the same reader; a shared internal package
// would be the place for it.)
func readElement(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) {
	var id, l uint8
	if !s.ReadUint8(&id) || !s.ReadUint8(&l) {
		return 0, nil, ErrTruncated
	}
	if id&tagNumberMask == tagNumberMask {
		return 0, nil, wrap(ErrMalformed, "high tag number")
	}
	n := uint64(l)
	if l&0x80 != 0 {
		k := int(l & 0x7f)
		if k == 0 {
			return 0, nil, wrap(ErrMalformed, "indefinite length")
		}
		if k > 4 {
			return 0, nil, wrap(ErrMalformed, "length of length")
		}
		var lb []byte
		if !s.ReadBytes(&lb, k) {
			return 0, nil, ErrTruncated
		}
		n = 0
		for _, c := range lb {
			n = n<<8 | uint64(c)
		}
	}
	if n > uint64(len(*s)) {
		return 0, nil, ErrTruncated
	}
	var body []byte
	s.ReadBytes(&body, int(n))
	return asn1.Tag(id), cryptobyte.String(body), nil
}

// next reads an element nested inside one already known to be complete: a
// length running past its parent is then malformed, not truncated.
func next(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) {
	tag, body, err := readElement(s)
	if err == ErrTruncated {
		err = wrap(ErrMalformed, "element overruns its parent")
	}
	return tag, body, err
}

// expect reads the next element and checks its tag.
func expect(s *cryptobyte.String, want asn1.Tag, what string) (cryptobyte.String, error) {
	tag, body, err := next(s)
	if err != nil {
		return nil, err
	}
	if tag != want {
		return nil, wrap(ErrMalformed, what)
	}
	return body, nil
}

// field reads the next member of a SEQUENCE: an EXPLICIT context tag [n]
// (RFC 4178 4.2 uses nothing else); n is -1 otherwise, which callers skip.
func field(s *cryptobyte.String) (n int, v cryptobyte.String, err error) {
	tag, v, err := next(s)
	if err != nil {
		return 0, nil, err
	}
	if tag&(classMask|constructed) != classContext|constructed {
		return -1, v, nil
	}
	return int(tag & tagNumberMask), v, nil
}
