package kdc

import (
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/kerberos"
	"ntlmsensor/findings"
)

// Carrier registers Kerberos with a KDC [RFC 4120 7.2]: UDP datagrams and
// TCP records (4-byte length prefix) on port 88, recognised by content.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoKerberos,
	Ports:    []uint16{88},
	UDP:      true,
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c, udp: c.UDP} },
}

// detect: a KDC request from the client, or a reply or error from the
// server, either bare (UDP) or behind a TCP record mark (Frame).
func detect(toServer bool, b []byte) carrier.Verdict {
	if len(b) < 6 {
		return carrier.Maybe
	}
	pdu, ok := Frame(b)
	if !ok {
		return carrier.No // neither a record nor one whole datagram
	}
	switch _, k := Classify(pdu); {
	case k == Request && toServer, k == Reply && !toServer:
		return carrier.Yes
	}
	return carrier.No
}

const (
	maxPending         = 8  // requests awaiting replies on one connection
	errPreauthRequired = 25 // KDC_ERR_PREAUTH_REQUIRED: a step of the exchange
	errResponseTooBig  = 52 // KRB_ERR_RESPONSE_TOO_BIG: the client retries over TCP
)

// request is what a reply needs of the request it answers.
type request struct {
	f  *findings.Finding
	ts time.Time
	// crack is the AS-REQ's pre-authentication line for the hash export,
	// empty unless carrier.SetHashes installed one.
	crack carrier.Crack
}

type handler struct {
	conn    *carrier.Conn
	udp     bool
	pending []request
	lost    [2]bool // TCP: the direction waits for a record mark to resynchronise
}

// Feed takes whole datagrams (UDP) or record-marked messages (TCP). A
// direction whose bytes are not a record mark (a capture that began in
// the middle of a message, bytes lost) is resynchronised at the next
// segment that begins with one (RecordStart); until then its bytes are
// dropped, never taken as a length to skip.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	if h.udp {
		h.message(toServer, b, ts)
		return len(b)
	}
	d := carrier.Side(toServer)
	used := 0
	for {
		rest := b[used:]
		if h.lost[d] {
			if len(rest) < 6 {
				if used == 0 {
					return len(b)
				}
				return used
			}
			if !RecordStart(rest) {
				return len(b)
			}
			h.lost[d] = false
		}
		n, ok := kerberos.TCPRecordLength(rest)
		if !ok {
			if len(rest) >= 4 {
				h.lost[d] = true
				return len(b)
			}
			return used
		}
		if n > MaxRecord {
			if len(rest) >= 6 && RecordStart(rest) {
				return used + 4 + n // a message too large to follow: passed over unseen
			}
			// payload bytes read as a length (the capture began in a
			// message): not skipped, the direction resynchronises
			h.lost[d] = true
			return len(b)
		}
		if len(rest) < 4+n {
			return used
		}
		h.message(toServer, rest[4:4+n], ts)
		used += 4 + n
	}
}

func (h *handler) message(toServer bool, pdu []byte, ts time.Time) {
	m, err := kerberos.Parse(pdu)
	if err != nil {
		return
	}
	switch m.Type {
	case kerberos.ASReq, kerberos.TGSReq:
		if toServer {
			h.request(&m, ts)
			if carrier.HashExport() != nil {
				h.requestCrack(&m, pdu)
			}
		}
	case kerberos.ASRep, kerberos.TGSRep, kerberos.KRBError:
		if !toServer {
			if carrier.HashExport() != nil && m.Type != kerberos.KRBError {
				h.replyCrack(&m, pdu)
			}
			h.reply(&m, ts)
		}
	}
}

// request opens an exchange [RFC 4120 5.4.1 KDC-REQ].
func (h *handler) request(m *kerberos.Message, ts time.Time) {
	f := &findings.Finding{Mechanism: findings.MechKerberos}
	k := &f.Kerberos
	k.Request = findings.KerberosAS
	if m.Type == kerberos.TGSReq {
		k.Request = findings.KerberosTGS
	}
	k.Realm = m.Realm
	k.SName = m.SName.String()
	k.Etypes = append([]int32(nil), m.Etypes[:m.NumEtypes]...)
	if m.CName.NumParts > 0 {
		f.HasUser, f.UserName, f.UserDomain = true, m.CName.String(), m.Realm
	}
	f.Attack.Preauth = preauth(m)
	if len(h.pending) == maxPending {
		h.emit(h.pending[0], findings.Unknown, "", h.pending[0].ts)
		h.pending = h.pending[1:]
	}
	h.pending = append(h.pending, request{f: f, ts: ts})
}

// reply closes the oldest open exchange [RFC 4120 5.4.2 KDC-REP, 5.9.1].
func (h *handler) reply(m *kerberos.Message, ts time.Time) {
	if len(h.pending) == 0 {
		return // the request was not seen (capture began mid-exchange)
	}
	r := h.pending[0]
	h.pending = h.pending[1:]
	f, k := r.f, &r.f.Kerberos
	if m.Type == kerberos.KRBError {
		k.Error = kerberos.ErrorName(m.ErrorCode)
		if !f.HasUser && m.CName.NumParts > 0 {
			f.HasUser, f.UserName, f.UserDomain = true, m.CName.String(), m.CRealm
		}
		if m.ErrorCode == errPreauthRequired || m.ErrorCode == errResponseTooBig {
			// a step: the client asks again, often on another connection
			// [RFC 4120 5.2.7, 7.2.1], and that exchange is the attempt.
			// The audit stage decides (findings.Finding.AwaitsRetry); the
			// request's hash line is not exported.
			f.AwaitsRetry = true
			f.Outcome, f.Reason = findings.Unknown, k.Error
			h.conn.Emit(f, ts)
			return
		}
		h.emit(r, findings.Failure, k.Error, ts)
		return
	}
	if m.HasTicket {
		k.TicketEtype = m.TicketEtype
	}
	k.SessionEtype = m.EncPartEtype
	if !f.HasUser && m.CName.NumParts > 0 {
		// a TGS-REQ names its client only inside the encrypted
		// authenticator; the reply names it in clear
		f.HasUser, f.UserName, f.UserDomain = true, m.CName.String(), m.CRealm
	}
	h.emit(r, findings.Success, "", ts)
}

// Pre-authentication padata types [RFC 4120 7.5.2, RFC 4556, RFC 6113]:
// an AS-REQ with none of them asks for a reply sealed with the client's key
// without proving knowledge of it (AS-REP roasting, MITRE T1558.004).
const (
	paEncTimestamp = 2
	paPKASReqOld   = 14
	paPKASReq      = 16
	paFXFast       = 136
	paEncChallenge = 138
)

func preauth(m *kerberos.Message) bool {
	for _, t := range m.PAData[:min(m.NumPAData, len(m.PAData))] {
		switch t {
		case paEncTimestamp, paPKASReqOld, paPKASReq, paFXFast, paEncChallenge:
			return true
		}
	}
	return false
}

func (h *handler) emit(r request, outcome findings.Outcome, reason string, ts time.Time) {
	r.f.Outcome, r.f.Reason = outcome, reason
	r.crack.Send(outcome)
	h.conn.Emit(r.f, ts)
}

// Gap: record marks can no longer be trusted on TCP until a segment
// begins with one; replies already pending still match by order.
func (h *handler) Gap(toServer bool, ts time.Time) {
	if !h.udp {
		h.lost[carrier.Side(toServer)] = true
	}
}

// Close: requests never answered end as unknown.
func (h *handler) Close(ts time.Time) {
	for _, r := range h.pending {
		h.emit(r, findings.Unknown, "", r.ts)
	}
	h.pending = nil
}
