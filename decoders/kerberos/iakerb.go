package kerberos

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// IAKerb proxy tokens [draft-ietf-kitten-iakerb 3.1]: a client that cannot
// reach the KDC hands its KDC-REQ to the acceptor, which relays it and hands
// back the KDC-REP or KRB-ERROR. Each such token is the TOK_ID 05 01, an
// IAKERB-HEADER, then the KDC message, inside the GSS InitialContextToken
// framing with the IAKerb OID for the first token and bare afterwards (MIT
// krb5's iakerb.c does so; Microsoft's IAKerb in Negotiate carries the same
// tokens in SPNEGO [MS-KILE 3.1.5.x]). The AP-REQ/AP-REP that end the
// exchange use the krb5 TOK_IDs under the IAKerb OID.
const iakerbProxy = 0x0501

var iakerbTokID = [2]byte{0x05, 0x01}

// IAKERB-HEADER ::= SEQUENCE {
//
//	target-realm [1] UTF8String,
//	cookie       [2] OCTET STRING OPTIONAL,
//	...
//
// } [draft-ietf-kitten-iakerb 3.1]. MIT krb5 encodes target-realm as an
// OCTET STRING; both are read. Later members are skipped.
func iakerbHeader(s *cryptobyte.String, m *Message, t *texts) error {
	tag, seq, err := readElement(s)
	if err != nil {
		return err
	}
	if tag != tagSequence {
		return wrap(ErrMalformed, "IAKERB-HEADER is not a SEQUENCE")
	}
	realm := false
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 1:
			tag, v, err := next(&fv)
			if err != nil {
				return err
			}
			if tag != asn1.UTF8String && tag != tagOctetString {
				return wrap(ErrMalformed, "IAKERB-HEADER target-realm")
			}
			t.add(slotTarget, v)
			realm = true
		case 2:
			if _, err := expect(&fv, tagOctetString, "IAKERB-HEADER cookie"); err != nil {
				return err
			}
			m.HasCookie = true
		}
	}
	if !realm {
		return wrap(ErrMalformed, "IAKERB-HEADER without target-realm")
	}
	return nil
}

// parseIAKerb decodes what follows the TOK_ID 05 01: the IAKERB-HEADER and
// the KDC message, which must be an AS/TGS request or reply or a KRB-ERROR.
// nested: b lies inside a complete GSS token, so running short is malformed.
func parseIAKerb(b []byte, nested bool) (Message, error) {
	m := Message{IAKerb: true}
	var t texts
	s := cryptobyte.String(b)
	err := iakerbHeader(&s, &m, &t)
	if err == nil {
		err = parsePDU(s, &m, &t)
	}
	t.resolve(&m)
	if err != nil {
		if nested && errors.Is(err, ErrTruncated) {
			err = wrap(ErrMalformed, "IAKerb token overruns the GSS token")
		}
		return m, err
	}
	switch m.Type {
	case ASReq, ASRep, TGSReq, TGSRep, KRBError:
		return m, nil
	}
	return m, wrap(ErrMalformed, "IAKerb token carries no KDC message")
}
