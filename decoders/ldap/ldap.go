// Package ldap decodes the parts of LDAPv3 (RFC 4511) that carry
// authentication: bind requests and responses (simple, SASL and Microsoft
// Sicily, MS-ADTS 5.1.1.1), StartTLS, and the SASL security layer framing that
// follows a signing/sealing bind (RFC 4422 3.7).
//
// Parsers are pure: byte fields alias the input; strings are made only for
// short text fields (bind DN, result texts), and common mechanism names and
// OIDs are returned as constants without allocating.
package ldap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"ntlmsensor/decoders/internal/ber"
	"ntlmsensor/decoders/internal/decodeerr"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// MaxMessage bounds an LDAPMessage or a SASL-wrapped PDU (Active Directory's
// default MaxReceiveBuffer is 10 MiB).
const MaxMessage = 16 << 20

// StartTLSOID is the ExtendedRequest name of StartTLS (RFC 4511 4.14.1).
const StartTLSOID = "1.3.6.1.4.1.1466.20037"

var (
	// ErrTruncated means b ends before the LDAPMessage does.
	ErrTruncated = errors.New("ldap: truncated message")
	// ErrMalformed means b is not a well-formed LDAPMessage.
	ErrMalformed = errors.New("ldap: malformed message")
	// ErrTooLarge means the message claims more than MaxMessage bytes.
	ErrTooLarge = errors.New("ldap: message too large")
)

// Failing parses return these, made once: they do not allocate, and
// errors.Is finds the sentinel they wrap.
var (
	errNotLDAP     = &decodeerr.Error{Kind: ErrMalformed, What: "not an LDAPMessage"}
	errIndefinite  = &decodeerr.Error{Kind: ErrMalformed, What: "indefinite length"}
	errTLV         = &decodeerr.Error{Kind: ErrMalformed, What: "bad BER element"}
	errMessageID   = &decodeerr.Error{Kind: ErrMalformed, What: "bad messageID"}
	errProtocolOp  = &decodeerr.Error{Kind: ErrMalformed, What: "bad protocolOp"}
	errBindRequest = &decodeerr.Error{Kind: ErrMalformed, What: "bad BindRequest"}
	errBindResp    = &decodeerr.Error{Kind: ErrMalformed, What: "bad BindResponse"}
	errExtended    = &decodeerr.Error{Kind: ErrMalformed, What: "bad extended operation"}
)

// Op is the APPLICATION tag number of a protocolOp (RFC 4511 4.2-4.14).
type Op uint8

const (
	OpBindRequest           Op = 0
	OpBindResponse          Op = 1
	OpUnbindRequest         Op = 2
	OpSearchRequest         Op = 3
	OpSearchResultEntry     Op = 4
	OpSearchResultDone      Op = 5
	OpModifyRequest         Op = 6
	OpModifyResponse        Op = 7
	OpAddRequest            Op = 8
	OpAddResponse           Op = 9
	OpDelRequest            Op = 10
	OpDelResponse           Op = 11
	OpModifyDNRequest       Op = 12
	OpModifyDNResponse      Op = 13
	OpCompareRequest        Op = 14
	OpCompareResponse       Op = 15
	OpAbandonRequest        Op = 16
	OpSearchResultReference Op = 19
	OpExtendedRequest       Op = 23
	OpExtendedResponse      Op = 24
	OpIntermediateResponse  Op = 25
)

var opNames = [...]string{
	OpBindRequest: "bindRequest", OpBindResponse: "bindResponse", OpUnbindRequest: "unbindRequest",
	OpSearchRequest: "searchRequest", OpSearchResultEntry: "searchResEntry", OpSearchResultDone: "searchResDone",
	OpModifyRequest: "modifyRequest", OpModifyResponse: "modifyResponse", OpAddRequest: "addRequest",
	OpAddResponse: "addResponse", OpDelRequest: "delRequest", OpDelResponse: "delResponse",
	OpModifyDNRequest: "modDNRequest", OpModifyDNResponse: "modDNResponse", OpCompareRequest: "compareRequest",
	OpCompareResponse: "compareResponse", OpAbandonRequest: "abandonRequest", OpSearchResultReference: "searchResRef",
	OpExtendedRequest: "extendedReq", OpExtendedResponse: "extendedResp", OpIntermediateResponse: "intermediateResponse",
}

// String returns the RFC 4511 ASN.1 name of the operation.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "op" + strconv.Itoa(int(o))
}

// AuthKind is the context tag number of the BindRequest AuthenticationChoice.
type AuthKind uint8

const (
	AuthSimple          AuthKind = 0  // RFC 4511 4.2: simple [0] OCTET STRING
	AuthSASL            AuthKind = 3  // RFC 4511 4.2: sasl [3] SaslCredentials
	AuthSicilyDiscovery AuthKind = 9  // MS-ADTS 5.1.1.1.3 sicilyPackageDiscovery
	AuthSicilyNegotiate AuthKind = 10 // sicilyNegotiate: NTLM NEGOTIATE_MESSAGE
	AuthSicilyResponse  AuthKind = 11 // sicilyResponse: NTLM AUTHENTICATE_MESSAGE
)

// BindRequest is RFC 4511 4.2 (plus MS-ADTS Sicily choices).
type BindRequest struct {
	Version int
	Name    string
	Auth    AuthKind
	// PasswordSent is true for a simple bind with a non-empty password. The
	// password itself is never kept.
	PasswordSent  bool
	SASLMechanism string
	// Credentials are the SASL credentials or the Sicily token (a sub-slice).
	Credentials []byte
}

// BindResponse is RFC 4511 4.2.2, or MS-ADTS 5.1.1.1.3 SicilyBindResponse,
// whose second field carries the server's NTLM token instead of matchedDN.
type BindResponse struct {
	ResultCode        int
	MatchedDN         string
	DiagnosticMessage string
	ServerSASLCreds   []byte // serverSaslCreds [7]
	// SicilyToken is the server's NTLM message of a SicilyBindResponse (its
	// serverCreds, in the matchedDN position), recognized by the NTLMSSP
	// signature. MatchedDN is then left empty.
	SicilyToken []byte
}

// Message is one decoded LDAPMessage (RFC 4511 4.1.1). Only the fields of
// its Op are set.
type Message struct {
	ID       int64
	Op       Op
	Bind     BindRequest
	BindResp BindResponse
	// ExtendedName is the requestName of an ExtendedRequest, or the
	// responseName of an ExtendedResponse when present.
	ExtendedName   string
	ExtendedResult int // resultCode of an ExtendedResponse
}

// The BER elements of LDAP have single-octet identifiers and definite
// lengths (X.690 8.1.2-8.1.3, RFC 4511 5.1), long-form lengths maybe
// non-minimal (Windows always writes 4 octets, 0x84 ...): the shared reader's.
var (
	// elements reads inside a message already complete: any failure is a
	// bad element.
	elements = ber.Reader{Truncated: errTLV, Malformed: func(string) error { return errTLV }}
	// framing reads a message's header off the stream: one still arriving
	// is ErrTruncated; a bad one, with a SEQUENCE identifier and no
	// indefinite length, has more than four length octets.
	framing = ber.Reader{Truncated: ErrTruncated, Malformed: func(string) error { return ErrTooLarge }}
)

// readTLV reads one element of a complete message.
func readTLV(s *cryptobyte.String) (tag asn1.Tag, body cryptobyte.String, ok bool) {
	tag, body, err := elements.Element(s)
	return tag, body, err == nil
}

// readInt decodes a BER INTEGER or ENUMERATED body (X.690 8.3) of up to 8
// octets, two's complement.
func readInt(b cryptobyte.String) (int64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, true
}

// expect reads an element that must have the given tag.
func expect(s *cryptobyte.String, tag asn1.Tag) (cryptobyte.String, bool) {
	t, body, ok := readTLV(s)
	return body, ok && t == tag
}

func expectInt(s *cryptobyte.String, tag asn1.Tag) (int64, bool) {
	body, ok := expect(s, tag)
	if !ok {
		return 0, false
	}
	return readInt(body)
}

// MessageLength returns the total length of the LDAPMessage (a BER SEQUENCE
// with a definite length) starting at b. ok is false when more bytes are
// needed; n is then the total length if the header is complete, else 0. err
// is set when b does not start an LDAPMessage or claims more than MaxMessage.
func MessageLength(b []byte) (n int, ok bool, err error) {
	// RFC 4511 4.1.1: LDAPMessage ::= SEQUENCE { messageID MessageID, ... }
	if len(b) == 0 {
		return 0, false, nil
	}
	if b[0] != 0x30 {
		return 0, false, errNotLDAP
	}
	if len(b) > 1 && b[1] == 0x80 {
		return 0, false, errIndefinite // RFC 4511 5.1: definite lengths only
	}
	_, hdr, l, err := framing.Header(b)
	switch {
	case err == ErrTruncated:
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	if l > MaxMessage {
		return 0, false, ErrTooLarge
	}
	// The smallest message is a 3-octet messageID and a 2-octet protocolOp,
	// and the messageID INTEGER comes first.
	if l < 5 || (len(b) > hdr && b[hdr] != byte(asn1.INTEGER)) {
		return 0, false, errNotLDAP
	}
	n = hdr + int(l)
	return n, len(b) >= n, nil
}

// Parse decodes one complete LDAPMessage at the start of b; bytes after it
// are ignored.
func Parse(b []byte) (Message, error) {
	n, ok, err := MessageLength(b)
	if err != nil {
		return Message{}, err
	}
	if !ok {
		return Message{}, ErrTruncated
	}
	s := cryptobyte.String(b[:n])
	msg, ok := expect(&s, asn1.SEQUENCE)
	if !ok {
		return Message{}, errTLV
	}
	// RFC 4511 4.1.1: messageID INTEGER (0 .. maxInt), protocolOp CHOICE
	// (APPLICATION tags), controls [0] OPTIONAL (ignored).
	var m Message
	if m.ID, ok = expectInt(&msg, asn1.INTEGER); !ok || m.ID < 0 || m.ID > 1<<31-1 {
		return Message{}, errMessageID
	}
	tag, op, ok := readTLV(&msg)
	if !ok || tag&0xc0 != 0x40 {
		return Message{}, errProtocolOp
	}
	m.Op = Op(tag & 0x1f)
	constructed := tag&0x20 != 0
	switch m.Op {
	case OpBindRequest:
		if !constructed || !parseBindRequest(op, &m.Bind) {
			return Message{}, errBindRequest
		}
	case OpBindResponse:
		if !constructed || !parseBindResponse(op, &m.BindResp) {
			return Message{}, errBindResp
		}
	case OpExtendedRequest:
		// RFC 4511 4.12: ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
		//   requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL }
		name, ok := expect(&op, asn1.Tag(0).ContextSpecific())
		if !constructed || !ok {
			return Message{}, errExtended
		}
		m.ExtendedName = oidString(name)
	case OpExtendedResponse:
		// ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF
		//   LDAPResult, responseName [10] LDAPOID OPTIONAL, responseValue [11] ... }
		code, _, _, ok := parseResult(&op)
		if !constructed || !ok {
			return Message{}, errExtended
		}
		m.ExtendedResult = code
		for !op.Empty() {
			t, body, ok := readTLV(&op)
			if !ok {
				return Message{}, errExtended
			}
			if t == asn1.Tag(10).ContextSpecific() {
				m.ExtendedName = oidString(body)
			}
		}
	}
	return m, nil
}

// parseBindRequest decodes RFC 4511 4.2:
//
//	BindRequest ::= [APPLICATION 0] SEQUENCE {
//	    version INTEGER (1 .. 127), name LDAPDN, authentication AuthenticationChoice }
//	AuthenticationChoice ::= CHOICE { simple [0] OCTET STRING, sasl [3] SaslCredentials, ... }
//	SaslCredentials ::= SEQUENCE { mechanism LDAPString, credentials OCTET STRING OPTIONAL }
//
// with the MS-ADTS 5.1.1.1.3 Sicily choices [9], [10], [11] (OCTET STRING).
func parseBindRequest(s cryptobyte.String, br *BindRequest) bool {
	v, ok := expectInt(&s, asn1.INTEGER)
	if !ok || v < 1 || v > 127 {
		return false
	}
	br.Version = int(v)
	name, ok := expect(&s, asn1.OCTET_STRING)
	if !ok {
		return false
	}
	br.Name = string(name)
	tag, auth, ok := readTLV(&s)
	if !ok || tag&0xc0 != 0x80 {
		return false
	}
	br.Auth = AuthKind(tag & 0x1f)
	constructed := tag&0x20 != 0
	switch br.Auth {
	case AuthSimple:
		br.PasswordSent = len(auth) > 0
		return !constructed
	case AuthSASL:
		mech, ok := expect(&auth, asn1.OCTET_STRING)
		if !constructed || !ok {
			return false
		}
		br.SASLMechanism = mechanismString(mech)
		if !auth.Empty() {
			creds, ok := expect(&auth, asn1.OCTET_STRING)
			if !ok {
				return false
			}
			br.Credentials = creds
		}
		return true
	case AuthSicilyDiscovery, AuthSicilyNegotiate, AuthSicilyResponse:
		br.Credentials = auth
		return !constructed
	}
	return true // other choices (e.g. the old Kerberos v4 [1], [2]): kind only
}

// parseResult decodes the LDAPResult components (RFC 4511 4.1.9):
// resultCode ENUMERATED, matchedDN LDAPDN, diagnosticMessage LDAPString.
func parseResult(s *cryptobyte.String) (code int, dn, diag []byte, ok bool) {
	c, ok := expectInt(s, asn1.ENUM)
	if !ok || c < 0 || c > 1<<31-1 {
		return 0, nil, nil, false
	}
	if dn, ok = expect(s, asn1.OCTET_STRING); !ok {
		return 0, nil, nil, false
	}
	if diag, ok = expect(s, asn1.OCTET_STRING); !ok {
		return 0, nil, nil, false
	}
	return int(c), dn, diag, true
}

// parseBindResponse decodes RFC 4511 4.2.2:
//
//	BindResponse ::= [APPLICATION 1] SEQUENCE {
//	    COMPONENTS OF LDAPResult, serverSaslCreds [7] OCTET STRING OPTIONAL }
//
// (LDAPResult's referral [3] is skipped.)
func parseBindResponse(s cryptobyte.String, r *BindResponse) bool {
	code, dn, diag, ok := parseResult(&s)
	if !ok {
		return false
	}
	r.ResultCode = code
	// MS-ADTS 5.1.1.1.3: a SicilyBindResponse carries serverCreds (the NTLM
	// CHALLENGE_MESSAGE) where LDAPResult has matchedDN.
	if bytes.HasPrefix(dn, ntlmSignature) {
		r.SicilyToken = dn
	} else if len(dn) > 0 {
		r.MatchedDN = string(dn)
	}
	if len(diag) > 0 {
		r.DiagnosticMessage = string(diag)
	}
	for !s.Empty() {
		t, body, ok := readTLV(&s)
		if !ok {
			return false
		}
		if t == asn1.Tag(7).ContextSpecific() {
			r.ServerSASLCreds = body
		}
	}
	return true
}

var ntlmSignature = []byte("NTLMSSP\x00") // MS-NLMP 2.2.1 Signature

// mechanismString returns registered SASL mechanism names without allocating.
func mechanismString(b []byte) string {
	switch string(b) {
	case "GSS-SPNEGO":
		return "GSS-SPNEGO"
	case "GSSAPI":
		return "GSSAPI"
	case "NTLM":
		return "NTLM"
	case "EXTERNAL":
		return "EXTERNAL"
	case "DIGEST-MD5":
		return "DIGEST-MD5"
	case "PLAIN":
		return "PLAIN"
	}
	return string(b)
}

// oidString returns well-known extended operation OIDs without allocating.
func oidString(b []byte) string {
	switch string(b) {
	case StartTLSOID:
		return StartTLSOID
	case "1.3.6.1.4.1.4203.1.11.1": // RFC 3062 Password Modify
		return "1.3.6.1.4.1.4203.1.11.1"
	case "1.3.6.1.4.1.4203.1.11.3": // RFC 4532 Who am I?
		return "1.3.6.1.4.1.4203.1.11.3"
	case "1.3.6.1.4.1.1466.20036": // RFC 4511 Notice of Disconnection
		return "1.3.6.1.4.1.1466.20036"
	}
	return string(b)
}

// SASLWrapped reports whether b starts a SASL security-layer PDU (RFC 4422
// 3.7: a 4-octet big-endian length, then a GSS-API wrap token or an
// NTLM-sealed message) rather than a plain LDAPMessage (0x30). n is the whole
// PDU length, including the 4 length octets; it may exceed len(b). At least 4
// bytes are needed.
func SASLWrapped(b []byte) (n int, ok bool) {
	if len(b) < 4 {
		return 0, false
	}
	// A plain LDAPMessage starts with 0x30, which as a length is far above
	// MaxMessage: the two cannot be confused.
	l := binary.BigEndian.Uint32(b)
	if l == 0 || l > MaxMessage {
		return 0, false
	}
	return 4 + int(l), true
}

var resultNames = [...]string{
	0: "success", 1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded",
	4: "sizeLimitExceeded", 5: "compareFalse", 6: "compareTrue", 7: "authMethodNotSupported",
	8: "strongerAuthRequired", 10: "referral", 11: "adminLimitExceeded",
	12: "unavailableCriticalExtension", 13: "confidentialityRequired", 14: "saslBindInProgress",
	16: "noSuchAttribute", 17: "undefinedAttributeType", 18: "inappropriateMatching",
	19: "constraintViolation", 20: "attributeOrValueExists", 21: "invalidAttributeSyntax",
	32: "noSuchObject", 33: "aliasProblem", 34: "invalidDNSyntax", 36: "aliasDereferencingProblem",
	48: "inappropriateAuthentication", 49: "invalidCredentials", 50: "insufficientAccessRights",
	51: "busy", 52: "unavailable", 53: "unwillingToPerform", 54: "loopDetect",
	64: "namingViolation", 65: "objectClassViolation", 66: "notAllowedOnNonLeaf",
	67: "notAllowedOnRDN", 68: "entryAlreadyExists", 69: "objectClassModsProhibited",
	71: "affectsMultipleDSAs", 80: "other",
	// RFC 3909 (cancel), RFC 4528 (assertion), RFC 4370 (proxied authorization)
	118: "canceled", 119: "noSuchOperation", 120: "tooLate", 121: "cannotCancel",
	122: "assertionFailed", 123: "authorizationDenied",
}

// ResultName returns the RFC 4511 4.1.9 name of a resultCode, or
// "resultCode <n>" for an unknown one.
func ResultName(code int) string {
	if code >= 0 && code < len(resultNames) && resultNames[code] != "" {
		return resultNames[code]
	}
	return "resultCode " + strconv.Itoa(code)
}

// DiagnosticDataCode extracts the Win32 error of an Active Directory bind
// failure from its diagnosticMessage ("80090308: LdapErr: DSID-0C0903A9,
// comment: AcceptSecurityContext error, data 52e, v1db1"), e.g. 0x52e
// (ERROR_LOGON_FAILURE: bad password), 0x525 (no such user), 0x775 (locked
// out), 0x532 (password expired), 0x533 (account disabled).
func DiagnosticDataCode(msg string) (code uint32, ok bool) {
	const key = ", data "
	i := 0
	for {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return 0, false
		}
		i += j + len(key)
		digits := 0
		code = 0
		for ; i < len(msg) && digits < 8; i, digits = i+1, digits+1 {
			v, isHex := hexVal(msg[i])
			if !isHex {
				break
			}
			code = code<<4 | uint32(v)
		}
		if digits > 0 && (i == len(msg) || msg[i] == ',') {
			return code, true
		}
	}
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
