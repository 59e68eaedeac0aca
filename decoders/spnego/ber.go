package spnego

import (
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"ntlmsensor/decoders/internal/ber"
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
)

// der reads the BER elements of this package's messages (see package ber),
// with this package's errors.
var der = ber.Reader{Truncated: ErrTruncated, Malformed: func(what string) error { return wrap(ErrMalformed, what) }}

// readElement reads one element; a length running past the end of s is
// ErrTruncated, anything else ErrMalformed.
func readElement(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) { return der.Element(s) }

// next reads an element nested inside one already known to be complete.
func next(s *cryptobyte.String) (asn1.Tag, cryptobyte.String, error) { return der.Next(s) }

// expect reads the next element and checks its tag.
func expect(s *cryptobyte.String, want asn1.Tag, what string) (cryptobyte.String, error) {
	return der.Expect(s, want, what)
}

// field reads the next member of a SEQUENCE: an EXPLICIT context tag [n];
// n is -1 otherwise, which callers skip.
func field(s *cryptobyte.String) (int, cryptobyte.String, error) { return der.Field(s) }
