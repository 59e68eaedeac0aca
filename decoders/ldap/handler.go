package ldap

import (
	"bytes"
	"strings"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Carrier registers LDAP over TCP (RFC 4511 5.2), recognised by content on
// any port; 389 and the Global Catalog's 3268 are the usual ones. LDAPS (636)
// is TLS from its first byte and is not LDAP to Detect.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoLDAP,
	Ports:    []uint16{389, 3268},
	Detect:   detect,
	New:      newHandler,
}

// maxWhole bounds the bind and extended messages read whole (a Kerberos
// AP-REQ with a large PAC is some 64 KiB at most); larger ones and every
// other operation are passed over by their length, unseen.
const maxWhole = 128 << 10

// BER identifiers of the protocolOps the handler reads (RFC 4511 4.2,
// 4.12: [APPLICATION n] constructed).
const (
	tagBindRequest      = 0x60
	tagBindResponse     = 0x61
	tagExtendedRequest  = 0x77
	tagExtendedResponse = 0x78
)

// detect: the first bytes are an LDAPMessage whose protocolOp is one the
// client (toServer) or the server sends.
func detect(toServer bool, b []byte) carrier.Verdict {
	tag, _, st := peekOp(b)
	switch st {
	case peekMore:
		return carrier.Maybe
	case peekBad:
		return carrier.No
	}
	if opFrom(toServer, tag) {
		return carrier.Yes
	}
	return carrier.No
}

// opFrom reports whether tag is a protocolOp the client (toServer) or the
// server sends (RFC 4511 4.2-4.14).
func opFrom(toServer bool, tag byte) bool {
	if toServer {
		switch tag {
		case 0x60, 0x42, 0x63, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, 0x77:
			// bind, unbind, search, modify, add, del, modDN, compare, abandon, extended
			return true
		}
		return false
	}
	switch tag {
	case 0x61, 0x64, 0x65, 0x73, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78, 0x79:
		// bindResp, searchResEntry, searchResDone, searchResRef, modifyResp,
		// addResp, delResp, modDNResp, compareResp, extendedResp, intermediateResp
		return true
	}
	return false
}

type peekState uint8

const (
	peekOK peekState = iota
	peekMore
	peekBad
)

// peekOp reads the header of the LDAPMessage at the start of b: its total
// length n and the identifier octet of its protocolOp. peekMore means the
// header is not all there; peekBad that b does not start an LDAPMessage.
func peekOp(b []byte) (tag byte, n int, st peekState) {
	n, _, err := MessageLength(b)
	if err != nil {
		return 0, 0, peekBad
	}
	if n == 0 {
		return 0, 0, peekMore
	}
	hdr := 2
	if b[1] >= 0x80 {
		hdr += int(b[1] & 0x7f)
	}
	// messageID INTEGER (0 .. 2^31-1), then the protocolOp identifier,
	// which with its length octet must fit in the message.
	if len(b) < hdr+2 {
		return 0, n, peekMore
	}
	l := int(b[hdr+1])
	at := hdr + 2
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 {
			return 0, n, peekBad
		}
		if len(b) < at+k {
			return 0, n, peekMore
		}
		l = 0
		for _, c := range b[at : at+k] {
			l = l<<8 | int(c)
		}
		at += k
	}
	if l < 1 || l > 4 || at+l+2 > n {
		return 0, n, peekBad
	}
	if len(b) < at+l+1 {
		return 0, n, peekMore
	}
	if b[at]&0x80 != 0 {
		return 0, n, peekBad // negative messageID
	}
	tag = b[at+l]
	if tag&0xc0 != 0x40 || tag&0x1f == 0x1f {
		return 0, n, peekBad // protocolOp is [APPLICATION n]
	}
	return tag, n, peekOK
}

// family is the kind of a bind exchange.
type family uint8

const (
	famNone family = iota
	famSimple
	famSASL
	famSicily
)

func (f family) String() string {
	switch f {
	case famSimple:
		return "simple"
	case famSASL:
		return "sasl"
	case famSicily:
		return "sicily"
	}
	return ""
}

type handler struct {
	conn *carrier.Conn
	x    carrier.Exchange

	// the bind in progress
	fam        family
	mech       string // SASL mechanism
	kind       AuthKind
	bindOut    bool  // a bind request awaits its response
	bindID     int64 // its messageID
	inProgress bool  // the last bind response asked for another round
	simple     *findings.Finding

	// a successful bind waiting for the next PDU: is it SASL-wrapped?
	held      *findings.Finding
	heldTS    time.Time
	layerOK   bool // a SASL or Sicily bind succeeded: a security layer may follow
	wrappedOn bool // SASL-wrapped PDUs were seen on the connection

	startTLS   bool  // a StartTLS request awaits its response
	startTLSID int64 // its messageID
	tls        bool  // StartTLS accepted: the rest is TLS, not parsed

	dead   [2]bool // this direction can no longer be framed
	resync [2]bool // after a gap or garbage: look for the next message
}

func newHandler(c *carrier.Conn) carrier.Handler {
	h := &handler{conn: c}
	if c.UDP {
		// CLDAP (RFC 1798, MS-ADTS 6.3.3) carries DC locator pings, never a bind.
		h.dead = [2]bool{true, true}
	}
	return h
}

// Feed frames LDAPMessages and SASL-wrapped PDUs. Bind and extended
// operations are read whole; everything else is passed over by its length.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	if h.tls || h.dead[d] {
		if h.tls || h.dead[1-d] {
			h.conn.Done() // nothing more to learn: the sensor stops following
		}
		return len(b)
	}
	if h.resync[d] {
		i := findMessage(toServer, b)
		if i < 0 {
			return len(b)
		}
		h.resync[d] = false
		used = i
	}
	for used < len(b) {
		rest := b[used:]
		if rest[0] != 0x30 {
			// RFC 4422 3.7: a security layer frames each buffer with a
			// 4-octet length. A plain LDAPMessage starts with 0x30, which
			// as a length is far above MaxMessage.
			if len(rest) < 4 {
				return used
			}
			n, ok := SASLWrapped(rest)
			if !ok || !h.layerOK {
				return used + h.lose(toServer, rest, ts)
			}
			h.nextPDU(true)
			h.wrappedOn = true
			used += n
			if used > len(b) {
				return used // the rest of the PDU is skipped as it arrives
			}
			continue
		}
		tag, n, st := peekOp(rest)
		switch st {
		case peekMore:
			return used
		case peekBad:
			return used + h.lose(toServer, rest, ts)
		}
		h.nextPDU(false)
		if n <= maxWhole && h.wanted(toServer, tag) {
			if len(rest) < n {
				return used // wait for the whole message
			}
			h.message(toServer, tag, rest[:n], ts)
			used += n
			if h.tls {
				return len(b)
			}
			continue
		}
		used += n
		if used > len(b) {
			return used
		}
	}
	return used
}

// wanted: the operations that carry authentication, or StartTLS.
func (h *handler) wanted(toServer bool, tag byte) bool {
	if toServer {
		return tag == tagBindRequest || tag == tagExtendedRequest
	}
	return tag == tagBindResponse || tag == tagExtendedResponse && h.startTLS
}

// lose handles bytes at a message boundary that start no message: after
// StartTLS they are the TLS handshake; on a SASL-wrapped connection framing
// cannot be regained; otherwise look for the next message.
func (h *handler) lose(toServer bool, rest []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	if h.startTLS && len(rest) >= 2 && rest[0] == 0x16 && rest[1] == 0x03 {
		// a TLS handshake record [RFC 8446 5.1]: the StartTLS response was
		// lost, but the client has begun TLS
		h.startTLSDone(ts)
		return len(rest)
	}
	if h.wrappedOn {
		h.giveUp(d)
		return len(rest)
	}
	if i := findMessage(toServer, rest[1:]); i >= 0 {
		return 1 + i
	}
	h.resync[d] = true
	return len(rest)
}

// giveUp stops reading a direction; with both given up, the connection is
// done.
func (h *handler) giveUp(d int) {
	h.dead[d] = true
	if h.dead[1-d] {
		h.conn.Done()
	}
}

// findMessage finds the next place in b where a message this direction
// sends may start (a header that is plausible, or cut short by the end of
// b), or -1.
func findMessage(toServer bool, b []byte) int {
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], 0x30)
		if i < 0 {
			return -1
		}
		at := off + i
		switch tag, _, st := peekOp(b[at:]); {
		case st == peekMore, st == peekOK && opFrom(toServer, tag):
			return at
		}
		off = at + 1
	}
	return -1
}

// nextPDU learns from the first PDU after a successful bind whether the
// connection went on SASL-wrapped, and emits the held finding.
func (h *handler) nextPDU(wrapped bool) {
	if h.held == nil {
		return
	}
	if wrapped {
		h.held.SASLWrapped = true
	}
	h.emitHeld()
}

func (h *handler) emitHeld() {
	f := h.held
	h.held = nil
	h.conn.Emit(f, h.heldTS)
}

// message handles one whole bind or extended operation.
func (h *handler) message(toServer bool, tag byte, b []byte, ts time.Time) {
	if tag == tagExtendedRequest && !bytes.Contains(b, []byte(StartTLSOID)) {
		return // only StartTLS matters; others are not parsed (no allocation)
	}
	m, err := Parse(b)
	if err != nil {
		return
	}
	switch m.Op {
	case OpBindRequest:
		h.bindRequest(m.ID, &m.Bind, ts)
	case OpBindResponse:
		h.bindResponse(m.ID, &m.BindResp, ts)
	case OpExtendedRequest:
		if m.ExtendedName == StartTLSOID {
			h.startTLS, h.startTLSID = true, m.ID
		}
	case OpExtendedResponse:
		if m.ID == h.startTLSID || m.ExtendedName == StartTLSOID {
			h.startTLS = false
			if m.ExtendedResult == 0 {
				h.startTLSDone(ts)
			}
		}
	}
}

// startTLSDone: RFC 4511 4.14.2, TLS starts after a success response;
// nothing after it is readable, so what is waiting is emitted now and the
// sensor is told to stop following the connection.
func (h *handler) startTLSDone(ts time.Time) {
	h.startTLS = false
	h.tls = true
	h.conn.Done()
	if h.held != nil {
		h.emitHeld()
	}
	h.abandon(ts)
}

// abandon emits the attempt of the current bind exchange with outcome
// unknown, if it made one, and forgets the exchange.
func (h *handler) abandon(ts time.Time) {
	if h.simple != nil {
		f := h.simple
		h.simple = nil
		f.Outcome = findings.Unknown
		h.conn.Emit(f, ts)
	}
	if h.x.Pending() {
		f := h.x.Finish(findings.Unknown, "")
		h.fill(f)
		h.conn.Emit(f, ts)
	}
	h.x.Reset()
	h.fam, h.mech, h.inProgress = famNone, "", false
}

// fill sets the carrier's facts of a finding from the bind exchange.
func (h *handler) fill(f *findings.Finding) {
	f.LDAP.Bind = h.fam.String()
	if h.fam == famSASL {
		f.LDAP.SASLMechanism = h.mech
		if strings.EqualFold(h.mech, "GSS-SPNEGO") {
			// the client asked for Negotiate; Windows then often sends the
			// NTLM token without the SPNEGO wrapper (ldap_invalid_credentials
			// in pcaps/), which is not an application calling NTLM directly
			f.SPNEGO = findings.True
		}
	}
}

func familyOf(k AuthKind) family {
	switch k {
	case AuthSimple:
		return famSimple
	case AuthSASL:
		return famSASL
	case AuthSicilyDiscovery, AuthSicilyNegotiate, AuthSicilyResponse:
		return famSicily
	}
	return famNone
}

// bindRequest follows RFC 4511 4.2 and 4.2.1: a bind with another mechanism,
// or after the last one ended, starts a new exchange (and abandons one in
// progress); a SASL bind after saslBindInProgress continues it, as does
// sicilyResponse after sicilyNegotiate (MS-ADTS 5.1.1.1.3).
func (h *handler) bindRequest(id int64, br *BindRequest, ts time.Time) {
	fam := familyOf(br.Auth)
	cont := h.inProgress || h.bindOut && !h.x.Pending() // a lost saslBindInProgress
	switch {
	case fam != h.fam, fam == famSimple, fam == famNone:
		cont = false
	case fam == famSASL && br.SASLMechanism != h.mech:
		cont = false
	case br.Auth == AuthSicilyDiscovery || br.Auth == AuthSicilyNegotiate:
		cont = false
	case fam == famSicily && br.Auth == AuthSicilyResponse && h.kind == AuthSicilyNegotiate:
		cont = true // the answer to sicilyNegotiate may be success (AD) or in progress
	}
	if !cont {
		h.abandon(ts)
	}
	h.fam, h.kind, h.mech = fam, br.Auth, br.SASLMechanism
	h.bindOut, h.bindID, h.inProgress = true, id, false
	switch fam {
	case famSimple:
		// RFC 4513 5.1.1: an empty name is an anonymous bind, no attempt.
		if br.Name != "" {
			h.simple = &findings.Finding{Mechanism: findings.MechSimple, HasUser: true, UserName: br.Name,
				LDAP: findings.LDAPFacts{Bind: "simple"}, PasswordSent: br.PasswordSent}
		}
	case famSASL, famSicily:
		if br.Auth != AuthSicilyDiscovery && len(br.Credentials) > 0 {
			h.x.ClientToken(br.Credentials)
		}
	}
}

// bindResponse ends a bind round (RFC 4511 4.2.2): saslBindInProgress asks
// for another; any other result ends the exchange.
func (h *handler) bindResponse(id int64, r *BindResponse, ts time.Time) {
	if !h.bindOut || id != h.bindID {
		return // its request was not seen
	}
	h.bindOut = false
	code := r.ResultCode
	switch h.fam {
	case famSimple:
		f := h.simple
		h.simple = nil
		h.fam = famNone
		if f == nil {
			return
		}
		h.result(f, code)
		h.conn.Emit(f, ts)
		return
	case famSASL:
		if len(r.ServerSASLCreds) > 0 {
			h.x.ServerToken(r.ServerSASLCreds)
		}
	case famSicily:
		if len(r.SicilyToken) > 0 {
			h.x.ServerToken(r.SicilyToken)
		}
	default:
		return
	}
	if code == 14 || h.kind == AuthSicilyNegotiate && code == 0 {
		h.inProgress = true
		return
	}
	if !h.x.Pending() {
		h.abandon(ts) // ended before the client's final token: no attempt
		return
	}
	f := h.x.Finish(findings.Failure, "")
	h.fill(f)
	h.result(f, code)
	h.fam, h.mech, h.inProgress = famNone, "", false
	if code != 0 {
		h.conn.Emit(f, ts)
		return
	}
	// success: hold it until the next PDU says whether a security layer
	// wraps the connection (RFC 4422 3.7)
	h.held, h.heldTS, h.layerOK = f, ts, true
}

// result sets outcome, reason and result code from a final bind result.
func (h *handler) result(f *findings.Finding, code int) {
	f.Outcome = findings.Failure
	if code == 0 {
		f.Outcome = findings.Success
	}
	f.Reason = ResultName(code)
	f.LDAP.ResultCode, f.LDAP.HasResult = code, true
}

// Gap: bytes were lost. A SASL-wrapped direction cannot be framed again;
// otherwise the next LDAPMessage is looked for.
func (h *handler) Gap(toServer bool, ts time.Time) {
	d := carrier.Side(toServer)
	if h.wrappedOn {
		h.giveUp(d)
		return
	}
	h.resync[d] = true
}

// Close emits what is waiting: a held success as it is, an unanswered bind
// with outcome unknown.
func (h *handler) Close(ts time.Time) {
	if h.held != nil {
		h.emitHeld()
	}
	h.abandon(ts)
}
