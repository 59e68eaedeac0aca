// Package kerberos decodes the cleartext parts of Kerberos V5 messages
// [RFC 4120 5.4-5.9, MS-KILE]: AS-REQ/AS-REP, TGS-REQ/TGS-REP, AP-REQ/AP-REP
// and KRB-ERROR, bare (port 88 over UDP, or TCP after the record mark) or
// wrapped in a GSS-API token as in SPNEGO, HTTP Negotiate and LDAP SASL
// [RFC 4121 4.1].
//
// The decoder is pure: bytes in, struct out. It walks the RFC 4120 schema
// directly and never recurses, so nesting depth is bounded by the schema
// itself (the deepest path, TGS-REQ > padata > PA-TGS-REQ > AP-REQ > Ticket >
// EncryptedData, is 16 elements). Every length is checked against its parent
// before use, malformed input gives an error wrapping ErrTruncated,
// ErrMalformed or ErrUnsupported and never a panic, and nothing is allocated
// in proportion to a length field. Members it does not need, and unknown
// members, are skipped. The realm and name strings of one message share a
// single allocation; lists go into fixed-size arrays.
package kerberos

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"ntlmsensor/decoders/internal/decodeerr"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Errors wrapped by the parsers; test with errors.Is.
var (
	// ErrTruncated: the input ends before the outermost element does (a TCP
	// record still arriving, a cut capture).
	ErrTruncated = errors.New("kerberos: truncated")
	// ErrMalformed: the bytes are there but do not follow RFC 4120.
	ErrMalformed = errors.New("kerberos: malformed")
	// ErrUnsupported: valid framing, but not a message this package decodes
	// (KRB-SAFE/PRIV/CRED, another APPLICATION tag, another GSS mech/TOK_ID).
	ErrUnsupported = errors.New("kerberos: unsupported")
)

// MsgType is the message type: the APPLICATION tag of the PDU, repeated in
// its msg-type member [RFC 4120 7.5.7].
type MsgType int

// Message types [RFC 4120 5.10, 7.5.7].
const (
	ASReq    MsgType = 10
	ASRep    MsgType = 11
	TGSReq   MsgType = 12
	TGSRep   MsgType = 13
	APReq    MsgType = 14
	APRep    MsgType = 15
	KRBSafe  MsgType = 20 // recognised, not decoded (ErrUnsupported)
	KRBPriv  MsgType = 21 // recognised, not decoded (ErrUnsupported)
	KRBCred  MsgType = 22 // recognised, not decoded (ErrUnsupported)
	KRBError MsgType = 30
)

// Message is the cleartext content of one Kerberos PDU. Fields a message
// type does not carry are left zero.
type Message struct {
	Type MsgType

	// CName/CRealm: the client. Requests: req-body cname and realm (CRealm
	// is set only when cname is present). Replies and KRB-ERROR: their own
	// cname/crealm members. Absent from AP-REQ (it is in the encrypted
	// authenticator).
	CName  Principal
	CRealm string
	// Realm is the req-body realm (requests), the ticket realm (replies,
	// AP-REQ) or the error realm (KRB-ERROR).
	Realm string
	// SName is the req-body sname (requests), the ticket sname (replies,
	// AP-REQ) or the error sname (KRB-ERROR).
	SName Principal

	// KDC-REQ-BODY [RFC 4120 5.4.1].
	Etypes     [16]int32 // etype list in client preference order, first 16
	NumEtypes  int
	KDCOptions uint32    // KDCOptions, bit 0 (reserved) is the MSB
	From, Till time.Time // zero if absent

	// PAData lists the padata-type of each PA-DATA of a KDC-REQ or KDC-REP,
	// first 16, in order. The e-data of a KRB-ERROR is not decoded.
	PAData    [16]int32
	NumPAData int

	// TicketEtype is the enc-part etype of the ticket carried by a KDC-REP
	// or an AP-REQ, or of the TGT presented in a TGS-REQ's PA-TGS-REQ.
	TicketEtype int32
	HasTicket   bool
	// EncPartEtype is the reply enc-part etype (AS/TGS-REP: the key the reply
	// is sealed with), the authenticator etype (AP-REQ) or the AP-REP
	// enc-part etype.
	EncPartEtype int32
	APOptions    uint32 // AP-REQ ap-options, bit 0 (reserved) is the MSB

	// KRB-ERROR [RFC 4120 5.9.1].
	ErrorCode    int32
	STime, CTime time.Time // CTime is zero if absent

	// IAKerb: the PDU is a KDC message the client and the acceptor pass
	// each other in an IAKerb token (TOK_ID 05 01), for the acceptor to
	// relay to the KDC [draft-ietf-kitten-iakerb 3.1]. TargetRealm is the
	// IAKERB-HEADER target-realm, HasCookie whether it carries the
	// acceptor's cookie.
	IAKerb      bool
	TargetRealm string
	HasCookie   bool
}

// Principal is a PrincipalName [RFC 4120 5.2.2].
type Principal struct {
	NameType int32
	Parts    [4]string // name-string components, first 4
	NumParts int
}

// String joins the components with "/" (krbtgt/LAB.TEST, cifs/dc1.lab.test).
func (p Principal) String() string {
	n := min(max(p.NumParts, 0), len(p.Parts))
	if n == 1 {
		return p.Parts[0]
	}
	return strings.Join(p.Parts[:n], "/")
}

// Parse decodes a bare Kerberos PDU (an APPLICATION-tagged element), as sent
// over UDP or after the TCP record mark. Bytes after the PDU are ignored. On
// error the fields decoded so far are kept; Type is set once the outer tag is
// known.
func Parse(b []byte) (Message, error) {
	var m Message
	var t texts
	err := parsePDU(b, &m, &t)
	t.resolve(&m)
	return m, err
}

// GSS-API mechanism OIDs (content octets) that carry Kerberos [RFC 1964 1,
// MS-KILE 3.1.5.11: Windows also uses 1.2.840.48018.1.2.2].
const (
	oidKRB5   = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" // 1.2.840.113554.1.2.2
	oidMSKRB5 = "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02" // 1.2.840.48018.1.2.2
	// IAKERB: its proxy tokens (TOK_ID 05 01, see iakerb.go), then the
	// AP exchange under its own OID and the krb5 TOK_IDs (MIT, macOS LKDC)
	// [draft-ietf-kitten-iakerb 3].
	oidIAKERB = "\x2b\x06\x01\x05\x02\x05" // 1.3.6.1.5.2.5
)

// ParseGSS decodes a Kerberos token as found inside SPNEGO or an HTTP
// Negotiate header: the GSS-API InitialContextToken framing [RFC 2743 3.1]
// 0x60 len, the krb5 OID (RFC, Microsoft or IAKERB), the 2-byte TOK_ID [RFC 4121 4.1]
// (01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR), then the PDU; or an IAKerb
// proxy token (TOK_ID 05 01, IAKERB-HEADER, then an AS/TGS message or a
// KRB-ERROR, which sets Message.IAKerb) [draft-ietf-kitten-iakerb 3.1]. The
// inner token alone (TOK_ID + PDU, as left by a GSS unwrapper, and as IAKerb
// sends every token after its first) and a bare PDU are accepted too. A
// TOK_ID that disagrees with the PDU is ErrMalformed.
func ParseGSS(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, ErrTruncated
	}
	if b[0] != byte(tagGSSAPI) {
		if isTokID(b) {
			return parseTokID(b, false)
		}
		return Parse(b)
	}
	s := cryptobyte.String(b)
	_, body, err := readElement(&s)
	if err != nil {
		return Message{}, err
	}
	oid, err := expect(&body, tagOID, "GSS thisMech")
	if err != nil {
		return Message{}, err
	}
	if o := string(oid); o != oidKRB5 && o != oidMSKRB5 && o != oidIAKERB {
		return Message{}, wrap(ErrUnsupported, "GSS mech is not Kerberos")
	}
	return parseTokID(body, true)
}

// isTokID reports whether b starts with a krb5 TOK_ID followed by an
// APPLICATION-constructed tag.
func isTokID(b []byte) bool {
	return len(b) >= 3 && (b[1] == 0 && b[0] >= 1 && b[0] <= 3 &&
		b[2]&(classMask|constructed) == classApplication|constructed ||
		b[0] == iakerbTokID[0] && b[1] == iakerbTokID[1] && b[2] == byte(tagSequence))
}

// parseTokID decodes TOK_ID + PDU [RFC 4121 4.1]. nested: b lies inside a
// complete GSS token, so a short PDU is malformed rather than truncated.
func parseTokID(b []byte, nested bool) (Message, error) {
	if len(b) < 2 {
		if nested {
			return Message{}, wrap(ErrMalformed, "GSS token without TOK_ID")
		}
		return Message{}, ErrTruncated
	}
	var want MsgType
	switch binary.BigEndian.Uint16(b) {
	case 0x0100:
		want = APReq
	case 0x0200:
		want = APRep
	case 0x0300:
		want = KRBError
	case iakerbProxy:
		return parseIAKerb(b[2:], nested)
	default:
		return Message{}, wrap(ErrUnsupported, "krb5 TOK_ID")
	}
	m, err := Parse(b[2:])
	if nested && errors.Is(err, ErrTruncated) {
		err = wrap(ErrMalformed, "PDU overruns the GSS token")
	}
	if err == nil && m.Type != want {
		err = wrap(ErrMalformed, "TOK_ID disagrees with the PDU")
	}
	return m, err
}

// TCPRecordLength reads the record mark that precedes each PDU on TCP
// [RFC 4120 7.2.2]: a 4-byte big-endian length of the PDU that follows. ok is
// false if b is shorter than 4 bytes, if the reserved high bit is set (an
// extension the peer must reject) or if the length is zero.
func TCPRecordLength(b []byte) (n int, ok bool) {
	if len(b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(b)
	if v&0x80000000 != 0 || v == 0 {
		return 0, false
	}
	return int(v), true
}

func parsePDU(b []byte, m *Message, t *texts) error {
	if len(b) == 0 {
		return ErrTruncated
	}
	// The type is known from the first octet, before the length is checked,
	// so that a cut datagram is still named.
	if b[0]&(classMask|constructed) != classApplication|constructed {
		return wrap(ErrUnsupported, "not an APPLICATION tag")
	}
	typ := MsgType(b[0] & tagNumberMask)
	switch typ {
	case ASReq, ASRep, TGSReq, TGSRep, APReq, APRep, KRBError, KRBSafe, KRBPriv, KRBCred:
	default:
		return wrap(ErrUnsupported, "APPLICATION tag is not a Kerberos message")
	}
	m.Type = typ
	s := cryptobyte.String(b)
	_, body, err := readElement(&s)
	if err != nil {
		return err
	}
	seq, err := expect(&body, tagSequence, "PDU is not a SEQUENCE")
	if err != nil {
		return err
	}
	switch typ {
	case ASReq, TGSReq:
		return kdcReq(seq, m, t)
	case ASRep, TGSRep:
		return kdcRep(seq, m, t)
	case APReq:
		return apReq(seq, m, t)
	case APRep:
		return apRep(seq, m)
	case KRBError:
		return krbError(seq, m, t)
	}
	return wrap(ErrUnsupported, "message type")
}

// checkMsgType verifies the msg-type member against the APPLICATION tag.
func checkMsgType(v cryptobyte.String, m *Message) error {
	x, err := integer(v, "msg-type")
	if err != nil {
		return err
	}
	if MsgType(x) != m.Type {
		return wrap(ErrMalformed, "msg-type disagrees with the APPLICATION tag")
	}
	return nil
}

// RFC 4120 5.4.1 KDC-REQ ::= SEQUENCE { pvno [1], msg-type [2],
// padata [3] SEQUENCE OF PA-DATA OPTIONAL, req-body [4] KDC-REQ-BODY }
func kdcReq(seq cryptobyte.String, m *Message, t *texts) error {
	haveBody := false
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 2:
			err = checkMsgType(v, m)
		case 3:
			err = padata(v, m)
		case 4:
			err = reqBody(v, m, t)
			haveBody = true
		}
		if err != nil {
			return err
		}
	}
	if !haveBody {
		return wrap(ErrMalformed, "KDC-REQ without req-body")
	}
	return nil
}

// RFC 4120 5.4.1 KDC-REQ-BODY ::= SEQUENCE { kdc-options [0] KDCOptions,
// cname [1] PrincipalName OPTIONAL, realm [2] Realm, sname [3] PrincipalName
// OPTIONAL, from [4] KerberosTime OPTIONAL, till [5] KerberosTime,
// rtime [6] OPTIONAL, nonce [7] UInt32, etype [8] SEQUENCE OF Int32,
// addresses [9] OPTIONAL, enc-authorization-data [10] OPTIONAL,
// additional-tickets [11] OPTIONAL }
func reqBody(v cryptobyte.String, m *Message, t *texts) error {
	body, err := expect(&v, tagSequence, "req-body")
	if err != nil {
		return err
	}
	var realm []byte
	haveCName := false
	for !body.Empty() {
		n, v, err := field(&body)
		if err != nil {
			return err
		}
		switch n {
		case 0:
			m.KDCOptions, err = flags32(v, "kdc-options")
		case 1:
			err = principal(v, &m.CName, t, slotCName)
			haveCName = true
		case 2:
			realm, err = kerberosString(v, "realm")
			t.add(slotRealm, realm)
		case 3:
			err = principal(v, &m.SName, t, slotSName)
		case 4:
			m.From, err = kerberosTime(v, "from")
		case 5:
			m.Till, err = kerberosTime(v, "till")
		case 8:
			err = etypes(v, m)
		}
		if err != nil {
			return err
		}
	}
	if haveCName {
		t.add(slotCRealm, realm)
	}
	return nil
}

// etypes reads KDC-REQ-BODY etype: SEQUENCE OF Int32 [RFC 4120 5.4.1].
func etypes(v cryptobyte.String, m *Message) error {
	list, err := expect(&v, tagSequence, "etype list")
	if err != nil {
		return err
	}
	for !list.Empty() {
		c, err := expect(&list, tagInteger, "etype")
		if err != nil {
			return err
		}
		x, ok := int64Of(c)
		if !ok || x != int64(int32(x)) {
			return wrap(ErrMalformed, "etype")
		}
		if m.NumEtypes < len(m.Etypes) {
			m.Etypes[m.NumEtypes] = int32(x)
			m.NumEtypes++
		}
	}
	return nil
}

// padataTGSReq is PA-TGS-REQ: its value is the AP-REQ carrying the TGT
// [RFC 4120 5.4.1, 7.5.2].
const padataTGSReq = 1

// RFC 4120 5.2.7 PA-DATA ::= SEQUENCE { padata-type [1] Int32,
// padata-value [2] OCTET STRING }, in a SEQUENCE OF.
func padata(v cryptobyte.String, m *Message) error {
	list, err := expect(&v, tagSequence, "padata")
	if err != nil {
		return err
	}
	for !list.Empty() {
		pa, err := expect(&list, tagSequence, "PA-DATA")
		if err != nil {
			return err
		}
		var typ int32
		var val cryptobyte.String
		haveType := false
		for !pa.Empty() {
			n, fv, err := field(&pa)
			if err != nil {
				return err
			}
			switch n {
			case 1:
				typ, err = integer(fv, "padata-type")
				haveType = true
			case 2:
				val, err = expect(&fv, tagOctetString, "padata-value")
			}
			if err != nil {
				return err
			}
		}
		if !haveType {
			return wrap(ErrMalformed, "PA-DATA without padata-type")
		}
		if m.NumPAData < len(m.PAData) {
			m.PAData[m.NumPAData] = typ
			m.NumPAData++
		}
		if typ == padataTGSReq && m.Type == TGSReq {
			tgtEtype(val, m)
		}
	}
	return nil
}

// tgtEtype records the etype of the TGT inside a PA-TGS-REQ. The padata
// value is opaque to the KDC-REQ schema, so a bad one is ignored rather than
// failing the request; the nested AP-REQ's own padata is never looked at,
// which keeps the depth fixed.
func tgtEtype(val cryptobyte.String, m *Message) {
	s := val
	tag, body, err := readElement(&s)
	if err != nil || tag != classApplication|constructed|asn1.Tag(APReq) {
		return
	}
	seq, err := expect(&body, tagSequence, "AP-REQ")
	if err != nil {
		return
	}
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return
		}
		if n == 3 {
			var tk ticketInfo
			if ticket(v, &tk) == nil {
				m.TicketEtype, m.HasTicket = tk.etype, true
			}
			return
		}
	}
}

// RFC 4120 5.4.2 KDC-REP ::= SEQUENCE { pvno [0], msg-type [1],
// padata [2] SEQUENCE OF PA-DATA OPTIONAL, crealm [3] Realm,
// cname [4] PrincipalName, ticket [5] Ticket, enc-part [6] EncryptedData }
func kdcRep(seq cryptobyte.String, m *Message, t *texts) error {
	haveEncPart := false
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 1:
			err = checkMsgType(v, m)
		case 2:
			err = padata(v, m)
		case 3:
			var s []byte
			s, err = kerberosString(v, "crealm")
			t.add(slotCRealm, s)
		case 4:
			err = principal(v, &m.CName, t, slotCName)
		case 5:
			err = setTicket(v, m, t)
		case 6:
			m.EncPartEtype, err = encDataEtype(v, "enc-part")
			haveEncPart = true
		}
		if err != nil {
			return err
		}
	}
	if !m.HasTicket || !haveEncPart {
		return wrap(ErrMalformed, "KDC-REP without ticket or enc-part")
	}
	return nil
}

// RFC 4120 5.5.1 AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0],
// msg-type [1], ap-options [2] APOptions, ticket [3] Ticket,
// authenticator [4] EncryptedData }
func apReq(seq cryptobyte.String, m *Message, t *texts) error {
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 1:
			err = checkMsgType(v, m)
		case 2:
			m.APOptions, err = flags32(v, "ap-options")
		case 3:
			err = setTicket(v, m, t)
		case 4:
			m.EncPartEtype, err = encDataEtype(v, "authenticator")
		}
		if err != nil {
			return err
		}
	}
	if !m.HasTicket {
		return wrap(ErrMalformed, "AP-REQ without ticket")
	}
	return nil
}

// RFC 4120 5.5.2 AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0],
// msg-type [1], enc-part [2] EncryptedData }
func apRep(seq cryptobyte.String, m *Message) error {
	haveEncPart := false
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 1:
			err = checkMsgType(v, m)
		case 2:
			m.EncPartEtype, err = encDataEtype(v, "enc-part")
			haveEncPart = true
		}
		if err != nil {
			return err
		}
	}
	if !haveEncPart {
		return wrap(ErrMalformed, "AP-REP without enc-part")
	}
	return nil
}

// RFC 4120 5.9.1 KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0],
// msg-type [1], ctime [2] OPTIONAL, cusec [3] OPTIONAL, stime [4], susec [5],
// error-code [6] Int32, crealm [7] OPTIONAL, cname [8] OPTIONAL, realm [9],
// sname [10], e-text [11] OPTIONAL, e-data [12] OPTIONAL }
func krbError(seq cryptobyte.String, m *Message, t *texts) error {
	haveCode := false
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return err
		}
		var s []byte
		switch n {
		case 1:
			err = checkMsgType(v, m)
		case 2:
			m.CTime, err = kerberosTime(v, "ctime")
		case 4:
			m.STime, err = kerberosTime(v, "stime")
		case 6:
			m.ErrorCode, err = integer(v, "error-code")
			haveCode = true
		case 7:
			s, err = kerberosString(v, "crealm")
			t.add(slotCRealm, s)
		case 8:
			err = principal(v, &m.CName, t, slotCName)
		case 9:
			s, err = kerberosString(v, "realm")
			t.add(slotRealm, s)
		case 10:
			err = principal(v, &m.SName, t, slotSName)
		}
		if err != nil {
			return err
		}
	}
	if !haveCode {
		return wrap(ErrMalformed, "KRB-ERROR without error-code")
	}
	return nil
}

// RFC 4120 5.2.2 PrincipalName ::= SEQUENCE { name-type [0] Int32,
// name-string [1] SEQUENCE OF KerberosString }
func principal(v cryptobyte.String, p *Principal, t *texts, slot int) error {
	var r rawPrincipal
	if err := parsePrincipal(v, &r); err != nil {
		return err
	}
	p.NameType, p.NumParts = r.nameType, r.n
	for i := 0; i < r.n; i++ {
		t.add(slot+i, r.parts[i])
	}
	return nil
}

// rawPrincipal is a PrincipalName whose strings still point into the input.
type rawPrincipal struct {
	nameType int32
	parts    [4][]byte
	n        int
}

func parsePrincipal(v cryptobyte.String, r *rawPrincipal) error {
	seq, err := expect(&v, tagSequence, "PrincipalName")
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
			r.nameType, err = integer(fv, "name-type")
		case 1:
			var list cryptobyte.String
			list, err = expect(&fv, tagSequence, "name-string")
			for err == nil && !list.Empty() {
				var tag asn1.Tag
				var c cryptobyte.String
				tag, c, err = next(&list)
				if err == nil && tag&constructed != 0 {
					err = wrap(ErrMalformed, "name-string component")
				}
				if err == nil && r.n < len(r.parts) {
					r.parts[r.n] = c
					r.n++
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ticketInfo is what a sensor keeps of a Ticket: it is otherwise encrypted.
type ticketInfo struct {
	realm []byte
	sname rawPrincipal
	etype int32
}

// RFC 4120 5.3 Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0],
// realm [1] Realm, sname [2] PrincipalName, enc-part [3] EncryptedData }
func ticket(v cryptobyte.String, tk *ticketInfo) error {
	app, err := expect(&v, tagTicket, "Ticket")
	if err != nil {
		return err
	}
	seq, err := expect(&app, tagSequence, "Ticket")
	if err != nil {
		return err
	}
	haveEncPart := false
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return err
		}
		switch n {
		case 1:
			tk.realm, err = kerberosString(fv, "ticket realm")
		case 2:
			err = parsePrincipal(fv, &tk.sname)
		case 3:
			tk.etype, err = encDataEtype(fv, "ticket enc-part")
			haveEncPart = true
		}
		if err != nil {
			return err
		}
	}
	if !haveEncPart {
		return wrap(ErrMalformed, "Ticket without enc-part")
	}
	return nil
}

// setTicket decodes a Ticket into Realm, SName and TicketEtype.
func setTicket(v cryptobyte.String, m *Message, t *texts) error {
	var tk ticketInfo
	if err := ticket(v, &tk); err != nil {
		return err
	}
	t.add(slotRealm, tk.realm)
	m.SName.NameType, m.SName.NumParts = tk.sname.nameType, tk.sname.n
	for i := 0; i < tk.sname.n; i++ {
		t.add(slotSName+i, tk.sname.parts[i])
	}
	m.TicketEtype, m.HasTicket = tk.etype, true
	return nil
}

// RFC 4120 5.2.9 EncryptedData ::= SEQUENCE { etype [0] Int32,
// kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
func encDataEtype(v cryptobyte.String, what string) (int32, error) {
	seq, err := expect(&v, tagSequence, what)
	if err != nil {
		return 0, err
	}
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return integer(fv, what)
		}
	}
	return 0, wrap(ErrMalformed, "EncryptedData without etype")
}

// texts gathers the string fields of one message, still pointing into the
// input, so that a single allocation backs all of them once parsing is done.
// Equal values (the realm repeated as crealm and ticket realm) share bytes.
// Slots rather than pointers into the Message keep the Message off the heap.
type texts struct {
	src [numSlots][]byte
}

const (
	slotCRealm = iota
	slotRealm
	slotCName  // 4 slots, one per name component
	slotSName  = slotCName + 4
	slotTarget = slotSName + 4 // IAKERB-HEADER target-realm
	numSlots   = slotTarget + 1
)

// add records the value of a slot; a later value for the same slot wins.
func (t *texts) add(slot int, src []byte) { t.src[slot] = src }

// resolve copies every recorded value into one string and sets the fields.
func (t *texts) resolve(m *Message) {
	var off [numSlots]int
	total := 0
	for i := range t.src {
		off[i] = -1
		if len(t.src[i]) == 0 {
			continue
		}
		for j := 0; j < i; j++ {
			if off[j] >= 0 && string(t.src[i]) == string(t.src[j]) {
				off[i] = off[j]
				break
			}
		}
		if off[i] < 0 {
			off[i] = total
			total += len(t.src[i])
		}
	}
	if total == 0 {
		return
	}
	var sb strings.Builder
	sb.Grow(total)
	for i := range t.src {
		if off[i] >= 0 && off[i] == sb.Len() {
			sb.Write(t.src[i])
		}
	}
	all := sb.String()
	get := func(i int) string {
		if off[i] < 0 {
			return ""
		}
		return all[off[i] : off[i]+len(t.src[i])]
	}
	m.CRealm, m.Realm, m.TargetRealm = get(slotCRealm), get(slotRealm), get(slotTarget)
	for i := 0; i < 4; i++ {
		m.CName.Parts[i], m.SName.Parts[i] = get(slotCName+i), get(slotSName+i)
	}
}

// wrap says what was being read when decoding failed.
func wrap(sentinel error, what string) error { return decodeerr.New(sentinel, what) }
