package dcerpc

import (
	"strconv"
	"time"

	"ntlmsensor/decoders/carrier"
	krb5 "ntlmsensor/decoders/kerberos"
	nlmp "ntlmsensor/decoders/ntlmssp"
	"ntlmsensor/decoders/spnego"
	"ntlmsensor/findings"
)

// Carrier registers connection-oriented DCE/RPC over TCP (ncacn_ip_tcp):
// the endpoint mapper on 135 and the dynamic ports it hands out, so it is
// recognised by content on any port.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoDCERPC,
	Ports:    []uint16{135},
	Detect:   detect,
	New: func(c *carrier.Conn) carrier.Handler {
		h := &handler{}
		h.a.Init(c)
		return h
	},
}

// detect: the stream starts with a connection-oriented PDU header; a
// shorter prefix that agrees with one so far is Maybe.
func detect(toServer bool, b []byte) carrier.Verdict {
	if len(b) >= CommonHeaderLen {
		if LooksLikePDU(b) {
			return carrier.Yes
		}
		return carrier.No
	}
	switch {
	case len(b) > 0 && b[0] != 5,
		len(b) > 1 && b[1] > 1,
		len(b) > 2 && PacketType(b[2]).String() == "",
		len(b) > 4 && b[4]&0xEE != 0,
		len(b) > 5 && b[5] > 3:
		return carrier.No
	}
	return carrier.Maybe
}

// WantsBody reports whether Association.PDU reads more than the common
// header of a PDU of this type: the PDUs that carry authentication tokens
// or an outcome. Of the others (request, response, shutdown, ...) the
// header is enough, and a caller may skip their bodies unread.
func WantsBody(t PacketType) bool {
	switch t {
	case TypeBind, TypeBindAck, TypeBindNak, TypeAlterContext, TypeAlterContextResp, TypeAuth3, TypeFault:
		return true
	}
	return false
}

// maxAuthContexts is how many auth contexts (auth_context_id) of one
// association are followed at once; clients use one or two.
const maxAuthContexts = 4

// authContext is one security context of an association [MS-RPCE
// 3.3.1.5.2]: the tokens exchanged under one auth_context_id.
type authContext struct {
	used bool
	id   uint32
	x    carrier.Exchange
	// finalCall is the call_id of the PDU that carried the client's final
	// token (AUTH3, alter_context or bind); a fault with it answers that PDU.
	finalCall uint32
	// asked: a request followed the final token; askCall is its call_id.
	// The server's answer to it (or a later call) shows the outcome.
	asked   bool
	askCall uint32
	// accepted: the server's SPNEGO answer after the final token was
	// accept-completed.
	accepted bool
	lastUse  uint64
}

// Association follows the authentication of one DCE/RPC association: a
// TCP connection (ncacn_ip_tcp) or an SMB named pipe (ncacn_np), whose PDUs
// the caller hands to PDU in order, whole.
//
// Client tokens come in the auth verifier of bind, alter_context and auth3,
// server tokens in that of bind_ack and alter_context_resp, per
// auth_context_id [MS-RPCE 2.2.2.11, 3.3.1.5.2]. NTLM over RPC has no
// message that says the logon succeeded: after AUTH3 (or the final
// alter_context) the server answering a later request with a response
// shows it did; a fault with an authentication status
// (nca_s_fault_access_denied, ...) or a bind_nak shows it failed; an
// attempt with neither is emitted as unknown by Close (or as success when
// the server's SPNEGO answer was accept-completed).
//
// The zero Association is not usable: make one with NewAssociation or Init.
type Association struct {
	conn *carrier.Conn
	ctx  [maxAuthContexts]authContext
	tick uint64
	// iface is the interface the last bind asked for (its first
	// presentation context), for telling coercing calls.
	iface    [16]byte
	hasIface bool
	// Complete, when set, is called with each finding before it is
	// emitted, for the carrier to add its own facts (an SMB pipe's session
	// facts, say). It must not keep the finding.
	Complete func(f *findings.Finding)
}

// NewAssociation follows an association on conn; its findings are
// emitted with network.protocol "dcerpc", over TCP or inside an SMB
// named pipe alike.
func NewAssociation(conn *carrier.Conn) *Association {
	a := new(Association)
	a.Init(conn)
	return a
}

// Init readies an Association held by value; see NewAssociation.
func (a *Association) Init(conn *carrier.Conn) {
	*a = Association{conn: conn}
}

// PDU takes one PDU from its first byte. Bind, bind_ack, bind_nak,
// alter_context, alter_context_resp, auth3 and fault PDUs must be whole
// (FragLength bytes; see WantsBody); of the others only the 16-byte
// common header is read, so pdu may be just that. Every PDU of the
// association should be given, requests and responses included: they
// decide the outcome. The packet type says which side sent a PDU;
// toServer is accepted for symmetry with Handler.Feed and not relied on.
// Malformed PDUs are ignored.
func (a *Association) PDU(toServer bool, pdu []byte, ts time.Time) {
	h, err := ParseHeader(pdu)
	if err != nil {
		return
	}
	switch h.Type {
	case TypeBind, TypeAlterContext, TypeAuth3:
		a.clientAuth(pdu, h, ts)
	case TypeBindAck, TypeAlterContextResp:
		a.serverAuth(pdu, h, ts)
	case TypeBindNak:
		reason, err := ParseBindNak(pdu, h)
		if err != nil {
			return
		}
		name := BindNakReasonName(reason)
		if name == "" {
			name = "bind_nak " + strconv.Itoa(int(reason))
		}
		// The association is refused: every attempt on it failed.
		for i := range a.ctx {
			if c := &a.ctx[i]; c.used && c.x.Pending() {
				a.finish(c, findings.Failure, name, ts)
			}
		}
	case TypeRequest:
		a.request(pdu, h, ts)
		for i := range a.ctx {
			if c := &a.ctx[i]; c.used && c.x.Pending() && !c.asked {
				c.asked, c.askCall = true, h.CallID
			}
		}
	case TypeResponse:
		for i := range a.ctx {
			if c := &a.ctx[i]; c.used && c.x.Pending() && c.answers(h.CallID) {
				a.finish(c, findings.Success, "", ts)
			}
		}
	case TypeFault:
		status, err := ParseFault(pdu, h)
		if err != nil {
			return
		}
		for i := range a.ctx {
			c := &a.ctx[i]
			if !c.used || !c.x.Pending() {
				continue
			}
			switch {
			case h.CallID == c.finalCall && !(c.asked && c.askCall == h.CallID):
				// the final alter_context itself was refused
				a.finish(c, findings.Failure, faultReason(status), ts)
			case c.answers(h.CallID):
				if authFault(status) {
					a.finish(c, findings.Failure, faultReason(status), ts)
				} else {
					// the server ran the call and it failed for its own
					// reasons: the caller was let in
					a.finish(c, findings.Success, "", ts)
				}
			}
		}
	}
}

// requestHeaderLen is the request PDU's header: the common header,
// alloc_hint(4), p_cont_id(2), opnum(2) [C706 12.6.4.9].
const requestHeaderLen = CommonHeaderLen + 8

// request tells the audit stage of a call known to coerce authentication
// (see Coercing), as an observation (findings.Finding.Observation): a
// finding the sinks never write, which the sensor passes on only when
// asked to (sensor.Config.Observations).
func (a *Association) request(pdu []byte, h Header, ts time.Time) {
	if !a.hasIface || len(pdu) < requestHeaderLen {
		return
	}
	opnum := h.u16(pdu[CommonHeaderLen+6:])
	name := Coercing(a.iface, opnum)
	if name == "" {
		return
	}
	f := &findings.Finding{Outcome: findings.Unknown}
	f.Attack.CoercionCall = name + " opnum " + strconv.Itoa(int(opnum))
	a.conn.Emit(f, ts)
}

// answers: a PDU with this call_id answers the request that followed the
// final token, or a later one (call ids grow; a window allows for wrap).
func (c *authContext) answers(callID uint32) bool {
	return c.asked && callID-c.askCall < 1<<16
}

// userAuth: the auth types that carry NTLM or Kerberos user
// authentication. 68 (Netlogon secure channel, MS-NRPC 3.3) authenticates
// a machine's secure channel with a session key from
// NetrServerAuthenticate, not NTLM or Kerberos user logon: it is
// recognised and left alone, as are schannel (14, TLS) and the others.
func userAuth(authType uint8) bool {
	switch authType {
	case 9, 10, 16: // SPNEGO, NTLMSSP (raw: auth.spnego false), Kerberos (GSS)
		return true
	}
	return false
}

// Auth levels [MS-RPCE 2.2.1.1.8]: below 5 (packet integrity) the calls
// are not signed, which matters for relay; the contract has no field for
// it, so the level is read by the parsers but not reported.

// clientAuth takes the client's token from a bind, alter_context or auth3.
func (a *Association) clientAuth(pdu []byte, h Header, ts time.Time) {
	if h.Type == TypeBind {
		// A bind starts a new association: what the last one left
		// unanswered will not be answered now.
		a.Close(ts)
		a.ctx = [maxAuthContexts]authContext{}
		a.hasIface = false
		if b, err := ParseBind(pdu, h); err == nil {
			a.iface, a.hasIface = b.FirstInterface, true
		}
	}
	av, ok, err := ParseAuthVerifier(pdu, h)
	if err != nil || !ok || !userAuth(av.Type) || len(av.Value) == 0 {
		return
	}
	c := a.context(av.ContextID, ts)
	if c.x.Pending() && startsAttempt(av.Value) {
		// a new attempt on the context while the last was unanswered
		a.finish(c, findings.Unknown, "", ts)
	}
	if c.x.ClientToken(av.Value) {
		c.finalCall = h.CallID
		c.asked, c.accepted = false, false
	}
}

// startsAttempt tells a token that begins an attempt (NTLM NEGOTIATE or
// AUTHENTICATE, a SPNEGO NegTokenInit, a Kerberos AP-REQ) from one that
// continues it (the client's DCE-style AP-REP after mutual Kerberos
// authentication, a bare mechListMIC). Only read while an attempt is
// pending.
func startsAttempt(tok []byte) bool {
	if typ, ok := nlmp.Peek(tok); ok {
		return typ == nlmp.NegotiateType || typ == nlmp.AuthenticateType
	}
	t, err := spnego.Parse(tok)
	if err != nil {
		return false
	}
	switch t.Kind {
	case spnego.KindInit:
		return true
	case spnego.KindResp:
		return spnego.InnerMech(t.ResponseToken) == spnego.MechNTLM
	case spnego.KindMech, spnego.KindRawKerberos:
		m, err := krb5.ParseGSS(t.MechToken)
		return err == nil && m.Type == krb5.APReq
	}
	return false
}

// serverAuth takes the server's token from a bind_ack or alter_context_resp.
func (a *Association) serverAuth(pdu []byte, h Header, ts time.Time) {
	av, ok, err := ParseAuthVerifier(pdu, h)
	if err != nil || !ok || !userAuth(av.Type) || len(av.Value) == 0 {
		return
	}
	c := a.context(av.ContextID, ts)
	krbErr := c.x.KerberosError()
	c.x.ServerToken(av.Value)
	if !c.x.Pending() {
		return
	}
	if c.x.KerberosError() != krbErr {
		// a KRB-ERROR answering the AP-REQ [RFC 4120 3.2.4]
		a.finish(c, findings.Failure, c.x.KerberosError(), ts)
		return
	}
	// The SPNEGO verdict of this very token (Exchange keeps the last one
	// seen, which a raw token leaves stale).
	if t, err := spnego.Parse(av.Value); err == nil && t.Kind == spnego.KindResp {
		switch t.NegState {
		case spnego.Reject:
			a.finish(c, findings.Failure, "", ts) // no status beyond it
		case spnego.AcceptCompleted:
			c.accepted = true
		}
	}
}

// context finds the auth context with this id, or makes it, the least
// recently used one giving way when all are taken.
func (a *Association) context(id uint32, ts time.Time) *authContext {
	a.tick++
	victim := &a.ctx[0]
	for i := range a.ctx {
		c := &a.ctx[i]
		if c.used && c.id == id {
			c.lastUse = a.tick
			return c
		}
		if !victim.used {
			continue
		}
		if !c.used || c.lastUse < victim.lastUse {
			victim = c
		}
	}
	if victim.used && victim.x.Pending() {
		a.finish(victim, findings.Unknown, "", ts)
	}
	*victim = authContext{used: true, id: id, lastUse: a.tick}
	return victim
}

func (a *Association) finish(c *authContext, outcome findings.Outcome, reason string, ts time.Time) {
	f := c.x.Finish(outcome, reason)
	c.asked, c.accepted = false, false
	if a.Complete != nil {
		a.Complete(f)
	}
	f.Protocol = findings.ProtoDCERPC
	a.conn.Emit(f, ts)
}

// Close emits the attempts still waiting for an outcome: unknown, or
// success when the server's SPNEGO answer already said accept-completed.
func (a *Association) Close(ts time.Time) {
	for i := range a.ctx {
		c := &a.ctx[i]
		if !c.used || !c.x.Pending() {
			continue
		}
		if c.accepted {
			a.finish(c, findings.Success, "", ts)
		} else {
			a.finish(c, findings.Unknown, "", ts)
		}
	}
}

// authFault: fault statuses that say the caller was not let in.
func authFault(status uint32) bool {
	switch status {
	case 0x00000005, // nca_s_fault_access_denied
		0x00000721, // nca_s_fault_sec_pkg_error
		0x1c00001d, // nca_unsupported_authn_level
		0x1c00001f: // nca_invalid_checksum
		return true
	}
	return false
}

// faultReason is event.reason for a fault: its name, or its number.
func faultReason(status uint32) string {
	if n := FaultStatusName(status); n != "" {
		return n
	}
	return "0x" + hex8(status)
}

func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// handler frames the PDUs of a TCP connection by frag_length.
type handler struct {
	a      Association
	resync [2]bool
	// sides: the first PDU whose type only one side sends has been seen,
	// and the connection's client and server agree with it.
	sides bool
}

// Feed hands each PDU to the association: whole when it may carry
// authentication, else by header alone, its body skipped unseen.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	if h.resync[d] {
		i := findPDU(b)
		if i < 0 {
			return max(0, len(b)-(CommonHeaderLen-1))
		}
		h.resync[d] = false
		used = i
	}
	for {
		rest := b[used:]
		if len(rest) < CommonHeaderLen {
			return used
		}
		if !LooksLikePDU(rest) {
			// not a PDU (a capture that begins mid-PDU, lost bytes): on to
			// the next plausible header, or resynchronise on the next Feed
			if i := findPDU(rest[1:]); i >= 0 {
				used += 1 + i
				continue
			}
			h.resync[d] = true
			return used + max(0, len(rest)-(CommonHeaderLen-1))
		}
		hd, _ := ParseHeader(rest)
		n := int(hd.FragLength)
		if !h.sides {
			h.checkSides(toServer, hd.Type)
		}
		if WantsBody(hd.Type) {
			if len(rest) < n {
				return used // wait for the whole PDU (at most 64 KiB)
			}
			h.a.PDU(toServer, rest[:n], ts)
			used += n
			continue
		}
		// the header alone; of a request also its opnum (coercing calls)
		h.a.PDU(toServer, rest[:min(len(rest), n, max(requestHeaderLen, CommonHeaderLen))], ts)
		used += n
		if used > len(b) {
			return used // the rest of this PDU is skipped as it arrives
		}
	}
}

// checkSides sets the connection's client and server from the first PDU
// whose type tells who sent it. A capture that begins after the TCP
// handshake leaves the sensor guessing from the ports, and RPC servers
// listen on high dynamic ports, so the guess can be the wrong way round.
func (h *handler) checkSides(toServer bool, t PacketType) {
	var fromClient bool
	switch t {
	case TypeBind, TypeAlterContext, TypeAuth3, TypeRequest:
		fromClient = true
	case TypeBindAck, TypeBindNak, TypeAlterContextResp, TypeResponse, TypeFault:
	default:
		return
	}
	h.sides = true
	if fromClient != toServer {
		c := h.a.conn
		c.Client, c.Server = c.Server, c.Client
	}
}

// findPDU finds the next plausible PDU header: LooksLikePDU with the two
// reserved bytes of packed_drep zero, as every implementation sends them.
func findPDU(b []byte) int {
	for i := 0; i+CommonHeaderLen <= len(b); i++ {
		if b[i] == 5 && b[i+6] == 0 && b[i+7] == 0 && LooksLikePDU(b[i:]) {
			return i
		}
	}
	return -1
}

// Gap: the direction resynchronises on the next PDU header.
func (h *handler) Gap(toServer bool, ts time.Time) {
	h.resync[carrier.Side(toServer)] = true
}

// Close emits the attempts still waiting for an outcome.
func (h *handler) Close(ts time.Time) {
	h.a.Close(ts)
}
