package smb

import (
	"bytes"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Carrier registers SMB over direct TCP (445) and over the NetBIOS session
// service (139).
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoSMB,
	Ports:    []uint16{445, 139},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: a NetBIOS session request, or a session message carrying an SMB
// protocol id [RFC 1002 4.3, MS-SMB2 2.1].
func detect(toServer bool, b []byte) carrier.Verdict {
	if len(b) < 8 {
		if len(b) > 0 && b[0] != NBSessionMessage && b[0] != NBSessionRequest && b[0] != NBPositiveResponse && b[0] != NBKeepAlive {
			return carrier.No
		}
		return carrier.Maybe
	}
	typ, n, _ := NetBIOSHeader(b)
	switch typ {
	case NBSessionMessage:
		if ProtocolOf(b[4:]) != ProtoUnknown && n >= 4 {
			return carrier.Yes
		}
	case NBSessionRequest, NBPositiveResponse:
		if n <= 256 {
			return carrier.Yes
		}
	}
	return carrier.No
}

const (
	maxSessions   = 8          // sessions followed per connection
	maxFrame      = 1<<24 - 1  // NetBIOS length field is 24 bits
	maxWholeFrame = 256 << 10  // auth messages are far smaller; larger ones are read by header
	factsWindow   = 32         // messages after setup within which signing and tree are learnt
	statusPending = 0x00000103 // STATUS_PENDING interim responses are never signed
	statusMore    = 0xc0000016 // STATUS_MORE_PROCESSING_REQUIRED
)

// session follows one SMB session: its setup exchange, then the facts
// that complete a successful logon's finding (tree, signing, encryption).
type session struct {
	id      uint64 // SMB2 SessionId / SMB1 UID; 0 until the server assigns it
	used    bool
	x       carrier.Exchange
	direct  *findings.Finding // SMB1 logon without NTLMSSP [MS-CIFS 3.2.4.2.4]
	held    *findings.Finding // a successful logon waiting for its session facts
	heldTS  time.Time
	tree    string
	signed  findings.Opt
	enc     bool
	after   int // messages seen since the logon succeeded
	lastUse time.Time
}

type handler struct {
	conn            *carrier.Conn
	version         string
	smb1            bool
	signingRequired findings.Opt
	offersKerberos  bool
	sessions        []*session // made as the connection needs them, at most maxSessions
	pipes           pipeState
	resync          [2]bool
}

// Feed walks NetBIOS frames. Auth-related messages are read whole; of all
// others only the header is read and the rest is skipped unseen.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	if h.resync[d] {
		i := findFrame(b)
		if i < 0 {
			return max(0, len(b)-7)
		}
		h.resync[d] = false
		used = i
	}
	for {
		rest := b[used:]
		if len(rest) < 4 {
			return used
		}
		typ, n, _ := NetBIOSHeader(rest)
		if typ != NBSessionMessage {
			if (typ >= NBSessionRequest && typ <= NBKeepAlive) && n <= 1024 {
				if len(rest) < 4+n {
					return used
				}
				used += 4 + n
				continue
			}
			return used + h.lose(d, rest)
		}
		if n < 4 {
			return used + h.lose(d, rest)
		}
		if len(rest) < 8 {
			return used
		}
		msg := rest[4:]
		proto := ProtocolOf(msg)
		hdr := headerLen(proto)
		if hdr == 0 || n < hdr {
			return used + h.lose(d, rest)
		}
		if len(msg) < hdr {
			return used // wait for the header, then decide
		}
		if h.wantsWhole(proto, msg, n) {
			if len(msg) < n {
				return used // wait for the whole message
			}
			h.message(toServer, proto, msg[:n], ts)
			used += 4 + n
			continue
		}
		h.message(toServer, proto, msg[:hdr], ts)
		used += 4 + n
		if used > len(b) {
			return used // skip the rest of this frame as it arrives
		}
	}
}

// lose gives up on the bytes at rest: they are not a frame. The direction
// resynchronises on the next SMB header.
func (h *handler) lose(d int, rest []byte) int {
	if i := findFrame(rest[1:]); i >= 0 {
		return 1 + i
	}
	h.resync[d] = true
	return max(0, len(rest)-7)
}

// findFrame finds the next plausible frame start: a session-message
// header followed by an SMB protocol id.
func findFrame(b []byte) int {
	for off := 0; off+8 <= len(b); {
		i := bytes.Index(b[off+5:], []byte("SMB"))
		if i < 0 {
			return -1
		}
		at := off + 5 + i - 5 // the NetBIOS header starts 5 bytes before "SMB"
		if b[at] == NBSessionMessage && ProtocolOf(b[at+4:]) != ProtoUnknown {
			return at
		}
		off = at + 1
	}
	return -1
}

func headerLen(p Protocol) int {
	switch p {
	case ProtoSMB2:
		return Header2Len
	case ProtoSMB1:
		return Header1Len
	case ProtoTransform:
		return TransformHeaderLen
	case ProtoCompressed:
		return 16 // MS-SMB2 2.2.42.1
	}
	return 0
}

// wantsWhole: read the whole message only for the commands that carry
// authentication facts; bulk traffic is read by header alone.
func (h *handler) wantsWhole(p Protocol, msg []byte, n int) bool {
	if n > maxWholeFrame {
		return false
	}
	switch p {
	case ProtoSMB2:
		// a small IOCTL is read whole: FSCTL_VALIDATE_NEGOTIATE_INFO must
		// be told apart (see countsForSigning2)
		c := Command2(le16(msg, 12))
		return NeedsBody2(c) || h.pipeMessage(msg, n) || c == Ioctl2 && n <= Header2Len+256
	case ProtoSMB1:
		return NeedsBody1(msg[4])
	}
	return false
}

// Gap: the direction resynchronises on the next SMB header.
func (h *handler) Gap(toServer bool, ts time.Time) {
	h.resync[carrier.Side(toServer)] = true
}

// Close emits every attempt still open: held successes with what was
// learnt, unanswered logons as unknown.
func (h *handler) Close(ts time.Time) {
	h.closePipes(ts)
	for _, s := range h.sessions {
		if s.used {
			h.flush(s, ts)
		}
	}
}

// flush emits what a session holds.
func (h *handler) flush(s *session, ts time.Time) {
	if s.held != nil {
		h.emit(s, s.held, s.heldTS)
		s.held = nil
	}
	if s.direct != nil {
		f := s.direct
		s.direct = nil
		f.Outcome = findings.Unknown
		h.emit(s, f, ts)
	}
	if s.x.Pending() {
		h.emit(s, s.x.Finish(findings.Unknown, ""), ts)
	}
}

func (h *handler) emit(s *session, f *findings.Finding, ts time.Time) {
	f.SMB.Version = h.version
	f.SMB.SigningRequired = h.signingRequired
	if f.Outcome == findings.Success {
		f.SMB.Tree = s.tree
		f.SMB.Signed = s.signed
		switch {
		case s.enc:
			f.SMB.Encrypted = findings.True
		case s.signed != findings.Unset:
			f.SMB.Encrypted = findings.False
		}
	}
	h.conn.Emit(f, ts)
}

// sessionFor finds the session with this id; with create, a setup request
// with id 0 (or an unknown id) gets a slot, the least recently used going
// first when all are taken.
func (h *handler) sessionFor(id uint64, create bool, ts time.Time) *session {
	for _, s := range h.sessions {
		if s.used && s.id == id {
			s.lastUse = ts
			return s
		}
	}
	if !create {
		return nil
	}
	var victim *session
	for _, s := range h.sessions {
		if !s.used {
			victim = s
			break
		}
		if victim == nil || s.lastUse.Before(victim.lastUse) {
			victim = s
		}
	}
	if victim == nil || victim.used && len(h.sessions) < maxSessions {
		victim = new(session)
		h.sessions = append(h.sessions, victim)
	}
	if victim.used {
		h.flush(victim, ts)
	}
	*victim = session{id: id, used: true, lastUse: ts}
	if h.offersKerberos {
		victim.x.OfferKerberos()
	}
	return victim
}

// responseSession finds the session a setup response belongs to: its id,
// or the one still waiting for the server to assign an id.
func (h *handler) responseSession(id uint64, ts time.Time) *session {
	if s := h.sessionFor(id, false, ts); s != nil {
		return s
	}
	if s := h.sessionFor(0, false, ts); s != nil {
		s.id = id
		return s
	}
	return nil
}

func (h *handler) message(toServer bool, p Protocol, msg []byte, ts time.Time) {
	switch p {
	case ProtoSMB2:
		for {
			next := h.smb2(toServer, msg, ts)
			if next <= 0 || next >= len(msg) {
				return
			}
			msg = msg[next:] // compounded requests [MS-SMB2 3.2.4.1.4]
		}
	case ProtoSMB1:
		h.smb1Message(toServer, msg, ts)
	case ProtoTransform:
		// MS-SMB2 2.2.41: the session is encrypted from here on
		if t, err := ParseTransformHeader(msg); err == nil {
			if s := h.sessionFor(t.SessionID, false, ts); s != nil {
				s.enc = true
				h.settle(s)
			}
		}
	}
}

// smb2 handles one SMB2 message and returns the offset of the next
// compounded one (0 when none).
func (h *handler) smb2(toServer bool, msg []byte, ts time.Time) int {
	hd, err := ParseHeader2(msg)
	if err != nil {
		return 0
	}
	if toServer {
		switch hd.Command {
		case SessionSetup2:
			req, err := ParseSessionSetupRequest2(msg)
			if err != nil {
				break
			}
			s := h.sessionFor(hd.SessionID, true, ts)
			if s.held != nil || s.direct != nil {
				h.flush(s, ts) // re-authentication of a live session
				s.tree, s.signed, s.enc, s.after = "", findings.Unset, false, 0
			}
			s.x.ClientToken(req.SecurityBlob)
		case TreeConnect2:
			if path, err := ParseTreeConnectRequest2(msg); err == nil {
				h.pipes.treeRequest(hd.MessageID, path)
				if s := h.sessionFor(hd.SessionID, false, ts); s != nil && s.tree == "" {
					s.tree = path
				}
			}
			// SMB 3.1.1 signs TREE_CONNECT even in sessions that sign
			// nothing else [MS-SMB2 3.2.4.1.1]: it does not count
			h.observe(hd.SessionID, false, hd.IsSigned(), ts)
		case Logoff2:
			if s := h.sessionFor(hd.SessionID, false, ts); s != nil {
				h.flush(s, ts)
				s.used = false
			}
		default:
			h.observe(hd.SessionID, countsForSigning2(&hd, msg), hd.IsSigned(), ts)
			if len(msg) > Header2Len {
				h.smb2Pipe(true, &hd, msg, ts)
			}
		}
	} else {
		switch hd.Command {
		case Negotiate2:
			if r, err := ParseNegotiateResponse2(msg); err == nil {
				h.version = DialectString(r.DialectRevision)
				h.smb1 = false
				h.signingRequired = findings.OptOf(r.SecurityMode&SigningRequired != 0)
				h.serverOffer(r.SecurityBlob)
			}
		case SessionSetup2:
			s := h.responseSession(hd.SessionID, ts)
			if s == nil {
				break
			}
			r, err := ParseSessionSetupResponse2(msg)
			if err == nil {
				if r.SecurityBlob != nil {
					s.x.ServerToken(r.SecurityBlob)
				}
				if r.SessionFlags&SessionFlagEncrypt != 0 {
					s.enc = true
				}
			}
			h.setupResult(s, hd.Status, ts)
		case TreeConnect2:
			h.pipes.treeResponse(hd.MessageID, hd.TreeID, hd.Status)
			h.observe(hd.SessionID, false, hd.IsSigned(), ts)
		default:
			if hd.Status != statusPending {
				h.observe(hd.SessionID, countsForSigning2(&hd, msg), hd.IsSigned(), ts)
			}
			if len(msg) > Header2Len {
				h.smb2Pipe(false, &hd, msg, ts)
			}
		}
	}
	if hd.NextCommand == 0 {
		return 0
	}
	return int(hd.NextCommand)
}

// FsctlValidateNegotiateInfo is the IOCTL that checks the negotiation of
// an SMB 3.0/3.0.2 connection [MS-SMB2 2.2.31].
const FsctlValidateNegotiateInfo = 0x00140204

// countsForSigning2: whether a message after the session setup tells if
// the session signs its traffic. The messages the protocol signs whatever
// the session does say nothing: TREE_CONNECT in 3.1.1 (handled by the
// caller) and FSCTL_VALIDATE_NEGOTIATE_INFO, request and response, which
// are signed in every session that is not anonymous or guest
// [MS-SMB2 2.2.31.4, 3.3.5.15.12].
func countsForSigning2(hd *Header2, msg []byte) bool {
	if hd.Command < TreeDisconnect2 {
		return false
	}
	if hd.Command == Ioctl2 && len(msg) >= Header2Len+8 && le32(msg, Header2Len+4) == FsctlValidateNegotiateInfo {
		return false // IOCTL request and response: StructureSize(2) Reserved(2) CtlCode(4) [MS-SMB2 2.2.31, 2.2.32]
	}
	return true
}

// serverOffer reads the server's SPNEGO hint of NEGOTIATE [MS-SMB2 2.2.4].
func (h *handler) serverOffer(blob []byte) {
	var x carrier.Exchange
	x.ServerOffer(blob)
	h.offersKerberos = x.OffersKerberos()
	for _, s := range h.sessions {
		if h.offersKerberos && s.used {
			s.x.OfferKerberos()
		}
	}
}

// setupResult ends a session-setup round with the server's status.
func (h *handler) setupResult(s *session, status uint32, ts time.Time) {
	if status == statusMore {
		return
	}
	if s.direct != nil {
		f := s.direct
		s.direct = nil
		h.result(s, f, status, ts)
		return
	}
	if !s.x.Pending() {
		s.x.Reset()
		if h.offersKerberos {
			s.x.OfferKerberos()
		}
		return
	}
	if status == 0 {
		h.result(s, s.x.Finish(findings.Success, StatusName(status)), status, ts)
		return
	}
	h.result(s, s.x.Finish(findings.Failure, StatusName(status)), status, ts)
}

func (h *handler) result(s *session, f *findings.Finding, status uint32, ts time.Time) {
	f.Reason = StatusName(status)
	if status != 0 {
		f.Outcome = findings.Failure
		h.emit(s, f, ts)
		return
	}
	f.Outcome = findings.Success
	s.held, s.heldTS = f, ts
	s.after = 0
	h.settle(s)
}

// observe learns from a message after the session setup: whether the
// session's messages are signed [MS-SMB2 3.2.4.1.1, MS-CIFS 3.2.4.1.1].
func (h *handler) observe(id uint64, counts, signed bool, ts time.Time) {
	s := h.sessionFor(id, false, ts)
	if s == nil || s.held == nil {
		return
	}
	s.after++
	if counts && s.signed == findings.Unset {
		s.signed = findings.OptOf(signed)
	}
	h.settle(s)
}

// settle emits a held success once its facts are known, or after enough
// messages that they will not come.
func (h *handler) settle(s *session) {
	if s.held == nil {
		return
	}
	if s.enc || (s.signed != findings.Unset && s.tree != "") || s.after >= factsWindow {
		f := s.held
		s.held = nil
		h.emit(s, f, s.heldTS)
	}
}
