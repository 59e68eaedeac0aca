package ntlmscan

import (
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/ntlmssp"
	"ntlmsensor/findings"
)

// Carrier must be registered last: it takes every stream the others did
// not, except TLS, whose content can never be read.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoUnknown,
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

func detect(toServer bool, b []byte) carrier.Verdict {
	if len(b) < 3 {
		return carrier.Maybe
	}
	// TLS record header [RFC 8446 5.1]: handshake/alert/CCS/app-data, version 3.x
	if b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 3 && b[2] <= 4 {
		return carrier.No
	}
	return carrier.Yes
}

// NTLM comes at the start of a connection: a stream that showed none in
// this many bytes per direction is not scanned further.
const maxScan = 1 << 20

type handler struct {
	conn    *carrier.Conn
	x       *carrier.Exchange // made at the first message: most streams never have one
	tok     []byte
	last    time.Time
	scanned [2]int // bytes scanned per direction since the last message
}

// Feed scans for signatures. A message cut by the end of b is waited for
// (up to maxMessage); everything else is consumed unseen.
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := 1
	if toServer {
		d = 0
	}
	used := 0
	for used < len(b) {
		rest := b[used:]
		i, isB64 := nextSignature(rest)
		if i < 0 {
			h.scanned[d] += len(rest)
			if h.scanned[d] > maxScan {
				h.conn.Done()
			}
			// keep back only bytes that may begin a signature the next
			// chunk completes: the rest is consumed, never copied
			return used + len(rest) - partialSignature(rest)
		}
		h.scanned[d] = 0
		msg := rest[i:]
		var n int
		var complete bool
		if isB64 {
			n, complete = h.base64Message(toServer, msg, ts)
		} else {
			n, complete = h.rawMessage(toServer, msg, ts)
		}
		if !complete {
			if len(msg) < maxMessage {
				return used + i // wait for the rest of the message
			}
			n = len(rawSig) // not a message after all: pass the signature
		}
		used += i + n
	}
	return used
}

// rawMessage takes a binary NTLMSSP message; its length is not framed, so
// it is parsed from the signature to the end of what has arrived.
func (h *handler) rawMessage(toServer bool, msg []byte, ts time.Time) (int, bool) {
	if len(msg) < 12 {
		return 0, false
	}
	if !h.token(toServer, msg, ts) {
		return 0, false
	}
	return len(rawSig), true
}

// base64Message takes the base64 run that starts at msg.
func (h *handler) base64Message(toServer bool, msg []byte, ts time.Time) (int, bool) {
	n, complete := base64Run(msg)
	if !complete {
		return 0, false // the run may go on in the next chunk
	}
	tok, err := decodeBase64(h.tok[:0], msg[:n])
	h.tok = tok
	if err != nil || !h.token(toServer, tok, ts) {
		return n, true // not a message: pass the run
	}
	return n, true
}

// token hands a whole message to the exchange; it reports whether the
// message decoded (a false answer for a message cut short means "wait").
func (h *handler) token(toServer bool, msg []byte, ts time.Time) bool {
	typ, ok := ntlmssp.Peek(msg)
	if !ok {
		return false
	}
	var err error
	switch typ {
	case ntlmssp.NegotiateType:
		_, err = ntlmssp.ParseNegotiate(msg)
	case ntlmssp.ChallengeType:
		_, err = ntlmssp.ParseChallenge(msg)
	case ntlmssp.AuthenticateType:
		_, err = ntlmssp.ParseAuthenticate(msg)
	default:
		return true // a signature with a type we do not know: skip it
	}
	if err != nil {
		return false
	}
	if h.x == nil {
		h.x = new(carrier.Exchange)
	}
	if toServer {
		if h.x.Pending() {
			h.emit(h.last)
		}
		if typ == ntlmssp.NegotiateType {
			h.x.Reset()
		}
		if h.x.ClientToken(msg) {
			h.last = ts
		}
	} else {
		h.x.ServerToken(msg)
	}
	return true
}

// emit reports the attempt: no carrier says how it ended.
func (h *handler) emit(ts time.Time) {
	h.conn.Emit(h.x.Finish(findings.Unknown, ""), ts)
}

func (h *handler) Gap(toServer bool, ts time.Time) {}

func (h *handler) Close(ts time.Time) {
	if h.x != nil && h.x.Pending() {
		h.emit(h.last)
	}
}
