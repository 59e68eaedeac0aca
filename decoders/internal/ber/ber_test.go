package ber

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

var (
	errTruncated = errors.New("truncated")
	errMalformed = errors.New("malformed")
	r            = Reader{Truncated: errTruncated, Malformed: func(string) error { return errMalformed }}
)

// The lengths and identifiers X.690 8.1 allows and those it does not, as
// the decoders meet them: a non-minimal long form (some stacks send it), a
// buffer that stops early (still arriving) and one that is wrong.
func TestElement(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		tag  asn1.Tag
		body string
		err  error
	}{
		{"short form", []byte{0x04, 0x02, 'h', 'i', 0xff}, asn1.OCTET_STRING, "hi", nil},
		{"long form", []byte{0x04, 0x81, 0x02, 'h', 'i'}, asn1.OCTET_STRING, "hi", nil},
		{"non-minimal long form", []byte{0x30, 0x84, 0, 0, 0, 0x02, 'h', 'i'}, asn1.SEQUENCE, "hi", nil},
		{"body still arriving", []byte{0x04, 0x05, 'h', 'i'}, 0, "", errTruncated},
		{"length still arriving", []byte{0x04, 0x82, 0x01}, 0, "", errTruncated},
		{"identifier only", []byte{0x04}, 0, "", errTruncated},
		{"indefinite length", []byte{0x30, 0x80, 0, 0}, 0, "", errMalformed},
		{"length of length", []byte{0x04, 0x85, 0, 0, 0, 0, 1, 'x'}, 0, "", errMalformed},
		{"high tag number", []byte{0x1f, 0x81, 0x00, 0x00}, 0, "", errMalformed},
	} {
		s := cryptobyte.String(tt.in)
		tag, body, err := r.Element(&s)
		if err != tt.err || err == nil && (tag != tt.tag || string(body) != tt.body) {
			t.Errorf("%s: %v %q %v, want %v %q %v", tt.name, tag, body, err, tt.tag, tt.body, tt.err)
		}
	}
}

// Inside a complete parent, an element that runs past it is malformed;
// Field tells context tags [n] from the rest.
func TestNestedAndField(t *testing.T) {
	s := cryptobyte.String([]byte{0x04, 0x05, 'h', 'i'})
	if _, _, err := r.Next(&s); err != errMalformed {
		t.Errorf("overrun: %v", err)
	}
	s = cryptobyte.String([]byte{0xa3, 0x03, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07})
	n, v, err := r.Field(&s)
	if err != nil || n != 3 || len(v) != 3 {
		t.Fatalf("[3]: %d %x %v", n, v, err)
	}
	if n, _, err = r.Field(&s); err != nil || n != -1 {
		t.Fatalf("INTEGER as a field: %d %v", n, err)
	}
	s = cryptobyte.String([]byte{0x02, 0x01, 0x05})
	if _, err := r.Expect(&s, asn1.OCTET_STRING, "octets"); err != errMalformed {
		t.Fatalf("wrong tag: %v", err)
	}
}

// Header frames a stream: a body still arriving is no error, a header
// still arriving is Truncated, and a bad header is Malformed as soon as the
// octet that makes it bad is there.
func TestHeader(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		hdr  int
		n    uint64
		err  error
	}{
		{"short form, body arriving", []byte{0x30, 0x05, 0x02}, 2, 5, nil},
		{"long form, no body yet", []byte{0x30, 0x82, 0x01, 0x00}, 4, 256, nil},
		{"Windows' four octets", []byte{0x30, 0x84, 0x00, 0x00, 0x00, 0x07}, 6, 7, nil},
		{"largest length", []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, 6, 1<<32 - 1, nil},
		{"empty", nil, 0, 0, errTruncated},
		{"identifier only", []byte{0x30}, 0, 0, errTruncated},
		{"length octets arriving", []byte{0x30, 0x84, 0x00, 0x00}, 0, 0, errTruncated},
		{"indefinite length", []byte{0x30, 0x80}, 0, 0, errMalformed},
		{"length of length", []byte{0x30, 0x85}, 0, 0, errMalformed},
		{"high tag number", []byte{0x7f, 0x05}, 0, 0, errMalformed},
	} {
		_, hdr, n, err := r.Header(tt.in)
		if err != tt.err || err == nil && (hdr != tt.hdr || n != tt.n) {
			t.Errorf("%s: %d %d %v, want %d %d %v", tt.name, hdr, n, err, tt.hdr, tt.n, tt.err)
		}
	}
}
