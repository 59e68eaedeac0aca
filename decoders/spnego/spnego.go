// Package spnego decodes SPNEGO negotiation tokens [RFC 4178 4.2, MS-SPNG
// 2.2] and the GSS-API framing around them [RFC 2743 3.1], and tells which
// mechanism an inner token belongs to, so that a sensor can hand NTLMSSP to
// the ntlmssp decoder and Kerberos to the kerberos decoder whatever the
// carrier (SMB security blobs, LDAP SASL GSS-SPNEGO, HTTP Negotiate,
// DCE/RPC auth_type 9).
//
// The decoder is pure and does not allocate: bytes in, struct out, the
// tokens it returns are sub-slices of the input and lists go into fixed-size
// arrays. It walks the RFC 4178 schema directly and never recurses, so
// nesting depth is bounded by the schema (GSS wrapper > NegotiationToken >
// SEQUENCE > member > MechTypeList > OID). Every length is checked against
// its parent before use; malformed input gives an error wrapping
// ErrTruncated, ErrMalformed or ErrUnsupported and never a panic. Unknown
// members are skipped.
package spnego

import (
	"bytes"
	"errors"

	"ntlmsensor/decoders/internal/decodeerr"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Errors wrapped by Parse; test with errors.Is.
var (
	// ErrTruncated: the input ends before the outermost element does.
	ErrTruncated = errors.New("spnego: truncated")
	// ErrMalformed: the bytes are there but do not follow RFC 4178.
	ErrMalformed = errors.New("spnego: malformed")
	// ErrUnsupported: not a token this package knows how to frame.
	ErrUnsupported = errors.New("spnego: unsupported token")
)

// Mech is a GSS-API mechanism, named by its OID in mechTypes, supportedMech
// or a GSS InitialContextToken.
type Mech uint8

// Mechanisms. Windows lists the Microsoft Kerberos OID (a historical typo of
// the real one) before the RFC one [MS-KILE 3.1.5.11].
const (
	MechUnknown     Mech = iota
	MechKerberos         // 1.2.840.113554.1.2.2 [RFC 4121]
	MechMSKerberos       // 1.2.840.48018.1.2.2 [MS-KILE]
	MechKerberosU2U      // 1.2.840.113554.1.2.2.3 [draft-swift-win2k-krb-user2user]
	MechNTLM             // 1.3.6.1.4.1.311.2.2.10 [MS-NLMP]
	MechNegoEx           // 1.3.6.1.4.1.311.2.2.30 [MS-NEGOEX]
	MechIAKerb           // 1.3.6.1.5.2.5 [draft-ietf-kitten-iakerb]
	MechSPNEGO           // 1.3.6.1.5.5.2 [RFC 4178]
)

// OID content octets [X.690 8.19] of each mechanism.
const (
	oidKerberos    = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
	oidMSKerberos  = "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"
	oidKerberosU2U = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x03"
	oidNTLM        = "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
	oidNegoEx      = "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e"
	oidIAKerb      = "\x2b\x06\x01\x05\x02\x05"
	oidSPNEGO      = "\x2b\x06\x01\x05\x05\x02"
)

func oidMech(oid []byte) Mech {
	switch string(oid) { // no allocation: the compiler compares in place
	case oidKerberos:
		return MechKerberos
	case oidMSKerberos:
		return MechMSKerberos
	case oidKerberosU2U:
		return MechKerberosU2U
	case oidNTLM:
		return MechNTLM
	case oidNegoEx:
		return MechNegoEx
	case oidIAKerb:
		return MechIAKerb
	case oidSPNEGO:
		return MechSPNEGO
	}
	return MechUnknown
}

// String gives the name used in output: "kerberos" for both Kerberos OIDs,
// "kerberos-u2u", "ntlm", "negoex", "iakerb", "spnego", "unknown".
func (m Mech) String() string {
	switch m {
	case MechKerberos, MechMSKerberos:
		return "kerberos"
	case MechKerberosU2U:
		return "kerberos-u2u"
	case MechNTLM:
		return "ntlm"
	case MechNegoEx:
		return "negoex"
	case MechIAKerb:
		return "iakerb"
	case MechSPNEGO:
		return "spnego"
	}
	return "unknown"
}

// TokenKind says what Parse found.
type TokenKind uint8

// Token kinds. The zero value is no token.
const (
	// KindInit is a NegTokenInit [RFC 4178 4.2.1], or the NegTokenInit2 a
	// server sends unsolicited (SMB2 NEGOTIATE response) [MS-SPNG 2.2.1].
	KindInit TokenKind = iota + 1
	// KindResp is a NegTokenResp [RFC 4178 4.2.2].
	KindResp
	// KindMech is a GSS-API InitialContextToken [RFC 2743 3.1] whose mech is
	// not SPNEGO (for example a raw Kerberos AP-REQ in HTTP Negotiate), or
	// a bare IAKerb proxy token (MechIAKerb, MechToken the whole input).
	KindMech
	// KindRawNTLM is a bare NTLMSSP message (HTTP NTLM, SMB without SPNEGO).
	KindRawNTLM
	// KindRawKerberos is a bare Kerberos AP-REQ, AP-REP or KRB-ERROR
	// (APPLICATION 14, 15, 30).
	KindRawKerberos
)

func (k TokenKind) String() string {
	switch k {
	case KindInit:
		return "init"
	case KindResp:
		return "resp"
	case KindMech:
		return "mech"
	case KindRawNTLM:
		return "raw-ntlm"
	case KindRawKerberos:
		return "raw-kerberos"
	}
	return "unknown"
}

// NegState is a NegTokenResp negState [RFC 4178 4.2.2].
type NegState int8

// negState values; NegStateAbsent when the member is not sent (every
// token but a NegTokenResp, and a NegTokenResp that omits it).
const (
	NegStateAbsent   NegState = -1
	AcceptCompleted  NegState = 0
	AcceptIncomplete NegState = 1
	Reject           NegState = 2
	RequestMIC       NegState = 3
)

// String gives "accept-completed", "accept-incomplete", "reject",
// "request-mic", "absent", or "unknown" for values RFC 4178 does not define.
func (s NegState) String() string {
	switch s {
	case NegStateAbsent:
		return "absent"
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	}
	return "unknown"
}

// Token is one decoded token. Byte fields are sub-slices of the input.
type Token struct {
	Kind TokenKind

	// NegTokenInit: mechTypes in the sender's preference order (first 8).
	MechTypes    [8]Mech
	NumMechTypes int
	// MechToken is the NegTokenInit mechToken (the optimistic first token of
	// the preferred mech), or for the other kinds the mech's own token: the
	// innerContextToken after the OID (KindMech) or the whole input
	// (KindRawNTLM, KindRawKerberos). Classify it with InnerMech.
	MechToken []byte

	// NegTokenResp.
	NegState      NegState
	SupportedMech Mech
	ResponseToken []byte

	HasMechListMIC bool

	// Mech is the mechanism the token belongs to: the GSS wrapper's OID for
	// KindMech, MechNTLM / MechKerberos for the raw kinds, MechSPNEGO for
	// KindInit and KindResp.
	Mech Mech
}

// Mechs returns the mechTypes list, MechTypes[:NumMechTypes].
func (t *Token) Mechs() []Mech { return t.MechTypes[:t.NumMechTypes] }

// ntlmSignature starts every NTLMSSP message [MS-NLMP 2.2.1].
const ntlmSignature = "NTLMSSP\x00"

// negoExSignature starts every NEGOEX message [MS-NEGOEX 2.2.6.1].
const negoExSignature = "NEGOEXTS"

// Parse decodes a security token as carried by SMB, LDAP, HTTP Negotiate or
// DCE/RPC: a GSS-wrapped NegTokenInit (0x60 ... 1.3.6.1.5.5.2 [0]), a bare
// NegTokenInit [0] or NegTokenResp [1], a GSS token of another mech, a raw
// NTLMSSP message, a bare Kerberos AP-REQ/AP-REP/KRB-ERROR or a bare IAKerb
// proxy token (KindMech, MechIAKerb). Bytes after the token are ignored.
func Parse(b []byte) (Token, error) {
	t := Token{NegState: NegStateAbsent}
	if len(b) == 0 {
		return t, ErrTruncated
	}
	if bytes.HasPrefix(b, []byte(ntlmSignature)) {
		t.Kind, t.Mech, t.MechToken = KindRawNTLM, MechNTLM, b
		return t, nil
	}
	s := cryptobyte.String(b)
	switch b[0] {
	case byte(tagGSSAPI):
		_, body, err := readElement(&s)
		if err != nil {
			return t, err
		}
		return t, parseGSS(body, &t)
	case byte(tagNegInit), byte(tagNegResp):
		tag, v, err := readElement(&s)
		if err != nil {
			return t, err
		}
		return t, negotiationToken(tag, v, &t)
	case krbAPReq, krbAPRep, krbError:
		if _, _, err := readElement(&s); err != nil {
			return t, err
		}
		t.Kind, t.Mech, t.MechToken = KindRawKerberos, MechKerberos, b[:len(b)-len(s)]
		return t, nil
	case iakerbTokID[0]:
		if isIAKerbProxy(b) {
			// An IAKerb token after the first: no GSS framing, the inner
			// token alone [draft-ietf-kitten-iakerb 3.1].
			t.Kind, t.Mech, t.MechToken = KindMech, MechIAKerb, b
			return t, nil
		}
	}
	return t, wrap(ErrUnsupported, "not a GSS, SPNEGO, NTLMSSP or Kerberos token")
}

// iakerbTokID starts an IAKerb proxy token, then the IAKERB-HEADER SEQUENCE
// [draft-ietf-kitten-iakerb 3.1].
var iakerbTokID = [2]byte{0x05, 0x01}

func isIAKerbProxy(b []byte) bool {
	return len(b) >= 3 && b[0] == iakerbTokID[0] && b[1] == iakerbTokID[1] && b[2] == byte(tagSequence)
}

// APPLICATION-constructed tags of the Kerberos PDUs a GSS exchange carries
// [RFC 4120 5.5.1, 5.5.2, 5.9.1].
const (
	krbAPReq = 0x6e
	krbAPRep = 0x6f
	krbError = 0x7e
)

// RFC 2743 3.1 InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
// thisMech MechType, innerContextToken ANY DEFINED BY thisMech }
func parseGSS(body cryptobyte.String, t *Token) error {
	oid, err := expect(&body, tagOID, "GSS thisMech")
	if err != nil {
		return err
	}
	t.Mech = oidMech(oid)
	if t.Mech != MechSPNEGO {
		t.Kind, t.MechToken = KindMech, body
		return nil
	}
	// RFC 4178 4.2 NegotiationToken ::= CHOICE { negTokenInit [0],
	// negTokenResp [1] }
	tag, v, err := next(&body)
	if err != nil {
		return err
	}
	return negotiationToken(tag, v, t)
}

func negotiationToken(tag asn1.Tag, v cryptobyte.String, t *Token) error {
	t.Mech = MechSPNEGO
	switch tag {
	case tagNegInit:
		t.Kind = KindInit
		return negTokenInit(v, t)
	case tagNegResp:
		t.Kind = KindResp
		return negTokenResp(v, t)
	}
	return wrap(ErrMalformed, "NegotiationToken is neither [0] nor [1]")
}

// RFC 4178 4.2.1 NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList,
// reqFlags [1] ContextFlags OPTIONAL, mechToken [2] OCTET STRING OPTIONAL,
// mechListMIC [3] OCTET STRING OPTIONAL }
//
// MS-SPNG 2.2.1 NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1]
// OPTIONAL, mechToken [2] OPTIONAL, negHints [3] NegHints OPTIONAL,
// mechListMIC [4] OPTIONAL }: [3] is told apart by its content, an OCTET
// STRING (MIC) or a SEQUENCE (NegHints).
func negTokenInit(v cryptobyte.String, t *Token) error {
	seq, err := expect(&v, tagSequence, "NegTokenInit is not a SEQUENCE")
	if err != nil {
		return err
	}
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 0:
			err = mechTypes(fv, t)
		case 2:
			t.MechToken, err = expect(&fv, tagOctetString, "mechToken")
		case 3:
			var tag asn1.Tag
			tag, _, err = next(&fv)
			switch {
			case err != nil:
			case tag == tagOctetString:
				t.HasMechListMIC = true
			case tag != tagSequence:
				err = wrap(ErrMalformed, "NegTokenInit [3] is neither mechListMIC nor negHints")
			}
		case 4:
			_, err = expect(&fv, tagOctetString, "mechListMIC")
			t.HasMechListMIC = err == nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// RFC 4178 4.2.1 MechTypeList ::= SEQUENCE OF MechType (OBJECT IDENTIFIER)
func mechTypes(v cryptobyte.String, t *Token) error {
	list, err := expect(&v, tagSequence, "mechTypes")
	if err != nil {
		return err
	}
	for !list.Empty() {
		oid, err := expect(&list, tagOID, "MechType")
		if err != nil {
			return err
		}
		if t.NumMechTypes < len(t.MechTypes) {
			t.MechTypes[t.NumMechTypes] = oidMech(oid)
			t.NumMechTypes++
		}
	}
	return nil
}

// RFC 4178 4.2.2 NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED
// OPTIONAL, supportedMech [1] MechType OPTIONAL, responseToken [2] OCTET
// STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
func negTokenResp(v cryptobyte.String, t *Token) error {
	seq, err := expect(&v, tagSequence, "NegTokenResp is not a SEQUENCE")
	if err != nil {
		return err
	}
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 0:
			var c cryptobyte.String
			if c, err = expect(&fv, tagEnum, "negState"); err == nil {
				t.NegState, err = negState(c)
			}
		case 1:
			var oid cryptobyte.String
			if oid, err = expect(&fv, tagOID, "supportedMech"); err == nil {
				t.SupportedMech = oidMech(oid)
			}
		case 2:
			t.ResponseToken, err = expect(&fv, tagOctetString, "responseToken")
		case 3:
			_, err = expect(&fv, tagOctetString, "mechListMIC")
			t.HasMechListMIC = err == nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// negState decodes the ENUMERATED content octets [X.690 8.4]; values RFC
// 4178 does not define are kept if they fit, non-negative.
func negState(c []byte) (NegState, error) {
	if len(c) == 0 || len(c) > 8 {
		return 0, wrap(ErrMalformed, "negState")
	}
	x := int64(int8(c[0]))
	for _, b := range c[1:] {
		x = x<<8 | int64(b)
	}
	if x < 0 || x > 127 {
		return 0, wrap(ErrMalformed, "negState out of range")
	}
	return NegState(x), nil
}

// InnerMech tells which mechanism a mech token (MechToken, ResponseToken)
// belongs to, from its first bytes: MechNTLM for "NTLMSSP\x00", MechNegoEx
// for "NEGOEXTS", MechKerberos for a GSS-wrapped Kerberos token (0x60 and
// either Kerberos OID), for a bare AP-REQ/AP-REP/KRB-ERROR (as Windows
// servers return the AP-REP) or for TOK_ID + PDU [RFC 4121 4.1]; the OID's
// mech for other GSS tokens (IAKERB carrying an AP exchange counts as
// Kerberos); MechIAKerb for an IAKerb proxy token (an AS/TGS exchange the
// server relays), GSS-framed or bare (TOK_ID 05 01 and the IAKERB-HEADER);
// MechUnknown otherwise. Only the header has to be present, so the first
// segment of a long token is enough.
func InnerMech(tok []byte) Mech {
	switch {
	case bytes.HasPrefix(tok, []byte(ntlmSignature)):
		return MechNTLM
	case bytes.HasPrefix(tok, []byte(negoExSignature)):
		return MechNegoEx
	case len(tok) >= 2 && tok[0] == byte(tagGSSAPI):
		oid, rest := gssOID(tok)
		m := oidMech(oid)
		// IAKERB ends with the AP exchange under its own OID and the krb5
		// TOK_IDs (macOS LKDC) [draft-ietf-kitten-iakerb 3]: a Kerberos token.
		if m == MechMSKerberos || m == MechIAKerb && len(rest) >= 2 && rest[1] == 0 && rest[0] >= 1 && rest[0] <= 3 {
			m = MechKerberos
		}
		return m
	case len(tok) >= 2 && (tok[0] == krbAPReq || tok[0] == krbAPRep || tok[0] == krbError):
		return MechKerberos
	case isIAKerbProxy(tok):
		return MechIAKerb
	case len(tok) >= 3 && tok[1] == 0 && tok[0] >= 1 && tok[0] <= 3 &&
		(tok[2] == krbAPReq || tok[2] == krbAPRep || tok[2] == krbError):
		return MechKerberos
	}
	return MechUnknown
}

// gssOID returns the thisMech OID of a GSS InitialContextToken whose header
// may be all there is of it, and what follows the OID; nil if the header or
// the OID is cut or bad.
func gssOID(tok []byte) (oid, rest []byte) {
	s := cryptobyte.String(tok[1:]) // after the 0x60 identifier
	var l uint8
	if !s.ReadUint8(&l) {
		return nil, nil
	}
	if l&0x80 != 0 && (l&0x7f == 0 || l&0x7f > 4 || !s.Skip(int(l&0x7f))) {
		return nil, nil
	}
	tag, o, err := readElement(&s)
	if err != nil || tag != tagOID {
		return nil, nil
	}
	return o, s
}

// wrap says what was being read when decoding failed.
func wrap(sentinel error, what string) error { return decodeerr.New(sentinel, what) }
