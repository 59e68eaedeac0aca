package tds

import (
	"encoding/binary"
	"strconv"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Carrier registers Microsoft SQL Server's TDS, recognised by the client's
// first packet (PRELOGIN or LOGIN7) on any port.
var Carrier = &carrier.Carrier{
	Protocol: findings.ProtoMSSQL,
	Ports:    []uint16{1433},
	Detect:   detect,
	New:      func(c *carrier.Conn) carrier.Handler { return &handler{conn: c} },
}

// detect: the client speaks first, with PRELOGIN or LOGIN7 [MS-TDS 3.2.5.1];
// a server that speaks first is not TDS.
func detect(toServer bool, b []byte) carrier.Verdict {
	if !toServer {
		return carrier.No
	}
	if len(b) >= HeaderLen {
		if LooksLikeTDS(b) {
			return carrier.Yes
		}
		return carrier.No
	}
	switch {
	case len(b) > 0 && b[0] != byte(TypePreLogin) && b[0] != byte(TypeLogin7),
		len(b) > 1 && b[1]&^StatusEOM != 0:
		return carrier.No
	}
	return carrier.Maybe
}

// maxMessage bounds a message reassembled from several packets: LOGIN7
// with a large Kerberos ticket is the largest a login sends.
const maxMessage = 256 << 10

// TLS record content types (handshake, alert, change cipher spec,
// application data) [RFC 8446 5.1]; no TDS packet type is in 20..23.
func isTLSRecord(b []byte) bool { return b[0] >= 20 && b[0] <= 23 }

type handler struct {
	conn *carrier.Conn
	x    carrier.Exchange
	// msg gathers a message that spans packets, per direction, until the
	// packet with StatusEOM; typ is its packet type.
	msg  [2][]byte
	typ  [2]PacketType
	drop [2]bool // the message being gathered is over maxMessage
	dead [2]bool // bytes were lost: the direction is not followed
	// The client's PRELOGIN; the server's next tabular result answers it.
	preLogin, preLoginAnswered bool
	clientEnc                  uint8
	done                       bool
}

// Feed reads the login: packets are framed by their header; the ones that
// carry no part of it are skipped unread, as are TLS records (with
// login-only encryption the LOGIN7 travels in TLS [MS-TDS 2.2.6.5]).
func (h *handler) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	used := 0
	for !h.done && !h.dead[d] {
		rest := b[used:]
		if len(rest) == 0 {
			return used
		}
		var n int
		switch {
		case isTLSRecord(rest):
			if len(rest) < 5 {
				return used
			}
			if rest[1] != 3 {
				h.lose(d)
				break
			}
			n = 5 + int(binary.BigEndian.Uint16(rest[3:]))
		default:
			if len(rest) < HeaderLen {
				return used
			}
			hd, err := ParseHeader(rest)
			if err != nil {
				h.lose(d)
				break
			}
			n = int(hd.Length)
			if !h.wanted(toServer, hd.Type) {
				break // skipped
			}
			if len(rest) < n {
				return used // wait for the whole packet (at most 64 KiB)
			}
			h.packet(d, toServer, hd, rest[HeaderLen:n], ts)
		}
		used += n
		if used > len(b) {
			return used // the rest of this packet is skipped as it arrives
		}
	}
	return len(b)
}

// lose gives up on a direction whose bytes are not TDS.
func (h *handler) lose(d int) {
	h.dead[d] = true
	h.msg[d] = h.msg[d][:0]
}

// wanted: the packets of a login [MS-TDS 3.2.5, 3.3.5]. PRELOGIN packets
// also carry the TLS handshake; SSPI packets the client's later tokens
// (and, in some servers, the server's); tabular results the PRELOGIN
// response and the login response.
func (h *handler) wanted(toServer bool, t PacketType) bool {
	switch t {
	case TypePreLogin, TypeSSPI:
		return true
	case TypeLogin7:
		return toServer
	case TypeTabularResult:
		return !toServer
	}
	return false
}

// packet gathers a message's packets and reads it at StatusEOM.
func (h *handler) packet(d int, toServer bool, hd Header, payload []byte, ts time.Time) {
	eom := hd.Status&StatusEOM != 0
	if eom && len(h.msg[d]) == 0 && !h.drop[d] {
		h.message(toServer, hd.Type, payload, ts) // one packet: read in place
		return
	}
	if len(h.msg[d]) == 0 && !h.drop[d] {
		h.typ[d] = hd.Type
	}
	if !h.drop[d] {
		if len(h.msg[d])+len(payload) > maxMessage {
			h.drop[d] = true
			h.msg[d] = h.msg[d][:0]
		} else {
			h.msg[d] = append(h.msg[d], payload...)
		}
	}
	if eom {
		if !h.drop[d] {
			h.message(toServer, h.typ[d], h.msg[d], ts)
		}
		h.msg[d] = h.msg[d][:0]
		h.drop[d] = false
	}
}

// message reads one whole message of the login.
func (h *handler) message(toServer bool, t PacketType, m []byte, ts time.Time) {
	if toServer {
		switch t {
		case TypePreLogin:
			// The TLS handshake of encryption also travels in PRELOGIN
			// packets: ParsePreLogin refuses those (ErrTLS).
			if p, err := ParsePreLogin(m); err == nil && !h.preLogin {
				h.preLogin = true
				if p.HasEncryption {
					h.clientEnc = p.Encryption
				} else {
					h.clientEnc = EncryptOff
				}
			}
		case TypeLogin7:
			l, err := ParseLogin7(m)
			if err != nil {
				return
			}
			if len(l.SSPI) == 0 {
				// SQL authentication (user and password, never kept) or
				// federated authentication: no NTLM or Kerberos to report.
				h.end()
				return
			}
			h.x.ClientToken(l.SSPI)
		case TypeSSPI:
			// A connection logs in once: a token after the final one
			// continues the attempt (a mechListMIC), never starts another.
			h.x.ClientToken(m)
		}
		return
	}
	switch t {
	case TypeTabularResult:
		if h.preLogin && !h.preLoginAnswered {
			h.preLoginAnswered = true
			if p, err := ParsePreLogin(m); err == nil && p.HasEncryption && encryptsAll(h.clientEnc, p.Encryption) {
				// The login happens inside TLS: nothing more is readable.
				h.end()
			}
			return
		}
		if tok, ok := FindSSPIToken(m); ok && len(tok) > 0 {
			h.x.ServerToken(tok)
		}
		if ok, known, num := LoginOutcome(m); known {
			switch {
			case !h.x.Pending():
			case ok:
				h.emit(findings.Success, "", ts)
			default:
				h.emit(findings.Failure, "MSSQL "+strconv.Itoa(int(num)), ts)
			}
			// The login is over; the rest is queries and results.
			h.end()
		}
	case TypeSSPI:
		// a server sending its token as a bare SSPI message
		h.x.ServerToken(m)
	}
}

// encryptsAll reads the ENCRYPTION options of PRELOGIN and its response
// [MS-TDS 2.2.6.5]: the server answering ON or REQ (or a client that
// required encryption going on with a server that said OFF) encrypts the
// whole connection; OFF/OFF encrypts the LOGIN7 packet alone (the SSPI
// exchange after it stays readable); NOT_SUP encrypts nothing.
func encryptsAll(client, server uint8) bool {
	switch server {
	case EncryptOn, EncryptReq:
		return true
	case EncryptOff:
		return client == EncryptOn || client == EncryptReq
	}
	return false
}

func (h *handler) emit(outcome findings.Outcome, reason string, ts time.Time) {
	h.conn.Emit(h.x.Finish(outcome, reason), ts)
}

// end: nothing more to learn from the connection.
func (h *handler) end() {
	h.done = true
	h.msg[0], h.msg[1] = nil, nil
	h.conn.Done()
}

// Gap: the direction can no longer be framed; it is given up. An attempt
// whose answer is lost ends as unknown.
func (h *handler) Gap(toServer bool, ts time.Time) {
	h.lose(carrier.Side(toServer))
	h.drop[carrier.Side(toServer)] = false
}

// Close emits an attempt whose login response never came.
func (h *handler) Close(ts time.Time) {
	if h.x.Pending() {
		h.emit(findings.Unknown, "", ts)
	}
}
