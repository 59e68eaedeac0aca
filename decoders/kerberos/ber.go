package kerberos

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"ntlmsensor/decoders/internal/ber"
)

// Tags used by RFC 4120's ASN.1 module (EXPLICIT context tags, APPLICATION
// tags for the PDUs). Identifier octets only: X.690 8.1.2.
const (
	tagInteger         = asn1.INTEGER      // 0x02
	tagBitString       = asn1.BIT_STRING   // 0x03
	tagOctetString     = asn1.OCTET_STRING // 0x04
	tagOID             = asn1.OBJECT_IDENTIFIER
	tagSequence        = asn1.SEQUENCE        // 0x30
	tagGeneralizedTime = asn1.GeneralizedTime // 0x18
	tagGSSAPI          = asn1.Tag(0x60)       // [APPLICATION 0] InitialContextToken, RFC 2743 3.1
	tagTicket          = asn1.Tag(0x61)       // [APPLICATION 1] Ticket, RFC 4120 5.3

	classMask        = 0xc0
	classContext     = 0x80
	classApplication = 0x40
	constructed      = 0x20
	tagNumberMask    = 0x1f
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

// integer decodes an INTEGER that must fit in an int32 (Int32 in RFC 4120
// 5.2.4). Non-minimal encodings are tolerated, values out of range are not.
func integer(v cryptobyte.String, what string) (int32, error) {
	c, err := expect(&v, tagInteger, what)
	if err != nil {
		return 0, err
	}
	x, ok := int64Of(c)
	if !ok || x != int64(int32(x)) {
		return 0, wrap(ErrMalformed, what)
	}
	return int32(x), nil
}

// int64Of decodes two's-complement content octets [X.690 8.3].
func int64Of(c []byte) (int64, bool) {
	if len(c) == 0 || len(c) > 8 {
		return 0, false
	}
	x := int64(int8(c[0])) // sign-extend the first octet
	for _, b := range c[1:] {
		x = x<<8 | int64(b)
	}
	return x, true
}

// flags32 decodes a KerberosFlags BIT STRING (RFC 4120 5.2.8): bit 0 is the
// most significant bit of the result. Fewer than 32 bits are zero-padded.
func flags32(v cryptobyte.String, what string) (uint32, error) {
	c, err := expect(&v, tagBitString, what)
	if err != nil {
		return 0, err
	}
	// X.690 8.6.2: first octet counts the unused bits of the last octet.
	if len(c) == 0 || c[0] > 7 {
		return 0, wrap(ErrMalformed, what)
	}
	var f uint32
	for i := 0; i < 4; i++ {
		f <<= 8
		if 1+i < len(c) {
			f |= uint32(c[1+i])
		}
	}
	return f, nil
}

// kerberosString returns the octets of a KerberosString / Realm
// (GeneralString, RFC 4120 5.2.1). Any primitive string tag is accepted.
func kerberosString(v cryptobyte.String, what string) ([]byte, error) {
	tag, c, err := next(&v)
	if err != nil {
		return nil, err
	}
	if tag&constructed != 0 {
		return nil, wrap(ErrMalformed, what)
	}
	return c, nil
}

// kerberosTime decodes KerberosTime (RFC 4120 5.2.3): GeneralizedTime
// "YYYYMMDDHHMMSSZ", UTC, no fraction. A fraction is tolerated and dropped.
// Hand-written because cryptobyte's ReadASN1GeneralizedTime allocates.
func kerberosTime(v cryptobyte.String, what string) (time.Time, error) {
	c, err := expect(&v, tagGeneralizedTime, what)
	if err != nil {
		return time.Time{}, err
	}
	if len(c) < 15 || c[len(c)-1] != 'Z' || (len(c) > 15 && c[14] != '.') {
		return time.Time{}, wrap(ErrMalformed, what)
	}
	var d [6]int // year, month, day, hour, minute, second
	widths := [6]int{4, 2, 2, 2, 2, 2}
	p := 0
	for i, w := range widths {
		for j := 0; j < w; j++ {
			ch := c[p]
			if ch < '0' || ch > '9' {
				return time.Time{}, wrap(ErrMalformed, what)
			}
			d[i] = d[i]*10 + int(ch-'0')
			p++
		}
	}
	if len(c) > 15 {
		for _, ch := range c[15 : len(c)-1] {
			if ch < '0' || ch > '9' {
				return time.Time{}, wrap(ErrMalformed, what)
			}
		}
	}
	if d[1] < 1 || d[1] > 12 || d[2] < 1 || d[2] > 31 || d[3] > 23 || d[4] > 59 || d[5] > 60 {
		return time.Time{}, wrap(ErrMalformed, what)
	}
	return time.Date(d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], 0, time.UTC), nil
}
