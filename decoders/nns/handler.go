package nns

import (
	"fmt"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Carrier registers .NET NegotiateStream [MS-NNS], bare or behind a .NET
// Message Framing preamble [MC-NMF], recognised by the client's first
// bytes on any port (AD Web Services listen on 9389).
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoNNS,
	Ports:    []uint16{9389},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: the client speaks first, with a handshake message [MS-NNS
// 3.1.4.1] or the Version and Mode records of a preamble [MC-NMF 3.1.4].
func detect(toServer bool, b []byte) carrier.Verdict {
	if !toServer || len(b) == 0 {
		return carrier.No
	}
	if len(b) >= HeaderLen {
		if LooksLikeHandshake(b) || LooksLikePreamble(b) {
			return carrier.Yes
		}
		return carrier.No
	}
	switch b[0] {
	case HandshakeInProgress, HandshakeDone:
		if (len(b) > 1 && b[1] != 1) || (len(b) > 2 && b[2] != 0) {
			return carrier.No
		}
	case RecordVersion:
		if (len(b) > 1 && b[1] != 1) || (len(b) > 3 && b[3] != RecordMode) {
			return carrier.No
		}
	default:
		return carrier.No
	}
	return carrier.Maybe
}

// The state of one direction.
const (
	statePreamble  = iota // .NET Message Framing records, before the upgrade
	stateHandshake        // NegotiateStream handshake messages
	statePassed           // data messages, or bytes not understood: passed over
)

type handler struct {
	conn  *carrier.Conn
	x     carrier.Exchange
	state [2]uint8
	begun [2]bool // the direction's first bytes were seen
	done  bool
}

// Feed reads the preamble records up to the upgrade, then the handshake
// messages, each whole (at most 5 + 65535 bytes).
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	if !h.begun[d] && len(b) > 0 {
		h.begun[d] = true
		// a direction begins with preamble records (net.tcp) or with
		// a handshake message (bare NegotiateStream)
		if b[0] >= HandshakeDone && b[0] <= HandshakeInProgress {
			h.state[d] = stateHandshake
		}
	}
	used := 0
	for !h.done {
		rest := b[used:]
		switch h.state[d] {
		case statePreamble:
			typ, value, n, err := NextRecord(rest)
			if err != nil {
				h.state[d] = statePassed
				continue
			}
			if n == 0 {
				return used
			}
			used += n
			h.record(toServer, typ, value)
		case stateHandshake:
			hd, err := ParseHeader(rest)
			if err != nil {
				if len(rest) < HeaderLen {
					return used
				}
				h.state[d] = statePassed
				continue
			}
			n := HeaderLen + hd.PayloadSize
			if len(rest) < n {
				return used
			}
			used += n
			h.message(toServer, hd.ID, rest[HeaderLen:n], ts)
		default:
			return len(b)
		}
	}
	return len(b)
}

// record follows the preamble [MC-NMF 3.1]: the client's Upgrade Request
// and the server's Upgrade Response start the handshake in each direction;
// another upgrade (TLS), a Preamble End without upgrade, a Fault or a
// Preamble Ack mean no NegotiateStream handshake on this connection.
func (h *handler) record(toServer bool, typ byte, value []byte) {
	if toServer {
		switch typ {
		case RecordUpgradeRequest:
			if string(value) == UpgradeNegotiate {
				h.state[0] = stateHandshake
				return
			}
			h.end()
		case RecordPreambleEnd:
			h.end()
		}
		return
	}
	switch typ {
	case RecordUpgradeResponse:
		h.state[1] = stateHandshake
	case RecordFault, RecordPreambleAck:
		h.end()
	}
}

// message reads one handshake message [MS-NNS 2.2.1, 3.1.5, 3.2.5]: the
// tokens go to the exchange; the server's HandshakeDone is success, a
// HandshakeError from either side failure with its HRESULT.
func (h *handler) message(toServer bool, id byte, payload []byte, ts time.Time) {
	switch id {
	case HandshakeInProgress, HandshakeDone:
		if toServer {
			if len(payload) > 0 {
				h.x.ClientToken(payload)
			}
			if id == HandshakeDone {
				h.state[0] = statePassed // data messages follow [MS-NNS 2.2.2]
			}
			return
		}
		if len(payload) > 0 {
			h.x.ServerToken(payload)
		}
		if id == HandshakeInProgress {
			return
		}
		if h.x.Pending() {
			if h.x.Rejected() {
				h.emit(findings.Failure, "", ts)
			} else {
				h.emit(findings.Success, "", ts)
			}
		}
		h.end()
	case HandshakeError:
		if h.x.Pending() {
			h.emit(findings.Failure, errorReason(payload), ts)
		}
		h.end()
	}
}

// errorReason names a HandshakeError by its HRESULT, e.g.
// "NNS 0x8009030C" (SEC_E_LOGON_DENIED).
func errorReason(p []byte) string {
	code, ok := ErrorCode(p)
	if !ok {
		return "NNS HandshakeError"
	}
	return fmt.Sprintf("NNS 0x%08X", code)
}

func (h *handler) emit(outcome findings.Outcome, reason string, ts time.Time) {
	h.conn.Emit(h.x.Finish(outcome, reason), ts)
}

// end: the handshake is over (or will not come); the rest of the
// connection is signed or sealed application data.
func (h *handler) end() {
	h.done = true
	h.conn.Done()
}

// Gap: the direction can no longer be framed.
func (h *handler) Gap(toServer bool, ts time.Time) {
	h.state[carrier.Side(toServer)] = statePassed
}

// Close emits an attempt whose answer never came.
func (h *handler) Close(ts time.Time) {
	if h.x.Pending() {
		h.emit(findings.Unknown, "", ts)
	}
}
