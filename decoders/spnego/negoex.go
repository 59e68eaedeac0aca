package spnego

import (
	"encoding/binary"
	"encoding/hex"
)

// NegoEx [MS-NEGOEX], the SPNEGO extension Windows offers as mech
// 1.3.6.1.4.1.311.2.2.30: its token is a run of messages, each with a
// MESSAGE_HEADER [MS-NEGOEX 2.2.6.1], that negotiate an authentication
// scheme named by a GUID (PKU2U, for one) and carry that scheme's own
// tokens in their exchange bytes. Little-endian; every offset counts from
// the start of its message.

// NegoExType is a MESSAGE_TYPE [MS-NEGOEX 2.2.6.1].
type NegoExType uint32

// Message types.
const (
	NegoExInitiatorNego     NegoExType = 0 // NEGO_MESSAGE: the client's schemes
	NegoExAcceptorNego      NegoExType = 1 // NEGO_MESSAGE: the server's schemes
	NegoExInitiatorMetaData NegoExType = 2 // EXCHANGE_MESSAGE
	NegoExAcceptorMetaData  NegoExType = 3 // EXCHANGE_MESSAGE
	NegoExChallenge         NegoExType = 4 // EXCHANGE_MESSAGE: the scheme's server token
	NegoExAPRequest         NegoExType = 5 // EXCHANGE_MESSAGE: the scheme's client token
	NegoExVerify            NegoExType = 6 // VERIFY_MESSAGE
	NegoExAlert             NegoExType = 7 // ALERT_MESSAGE
)

func (t NegoExType) String() string {
	switch t {
	case NegoExInitiatorNego:
		return "initiator-nego"
	case NegoExAcceptorNego:
		return "acceptor-nego"
	case NegoExInitiatorMetaData:
		return "initiator-meta-data"
	case NegoExAcceptorMetaData:
		return "acceptor-meta-data"
	case NegoExChallenge:
		return "challenge"
	case NegoExAPRequest:
		return "ap-request"
	case NegoExVerify:
		return "verify"
	case NegoExAlert:
		return "alert"
	}
	return "unknown"
}

// GUID is an AuthScheme or ConversationId as on the wire (the first three
// fields little-endian).
type GUID [16]byte

// String is the usual lower-case form, 0d53335c-f9ea-4d0d-b2ec-4ae3786ec308.
func (g GUID) String() string {
	var b [36]byte
	le := [16]byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]}
	hex.Encode(b[0:8], le[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], le[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], le[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], le[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], le[10:16])
	return string(b[:])
}

// SchemePKU2U is the NegoEx AuthScheme of PKU2U
// {0d53335c-f9ea-4d0d-b2ec-4ae3786ec308}, the one Windows offers by default.
var SchemePKU2U = GUID{0x5c, 0x33, 0x53, 0x0d, 0xea, 0xf9, 0x0d, 0x4d, 0xb2, 0xec, 0x4a, 0xe3, 0x78, 0x6e, 0xc3, 0x08}

// SchemeName names a NegoEx AuthScheme for output: "pku2u", or
// "negoex:" and the GUID for one this package does not know.
func SchemeName(g GUID) string {
	if g == SchemePKU2U {
		return "pku2u"
	}
	return "negoex:" + g.String()
}

// NegoExMessage is one decoded NegoEx message. Byte fields are sub-slices
// of the input.
type NegoExMessage struct {
	Type         NegoExType
	Seq          uint32
	Conversation GUID
	// NEGO_MESSAGE [MS-NEGOEX 2.2.6.3]: the AuthSchemes, in preference
	// order (first 8).
	Schemes    [8]GUID
	NumSchemes int
	// EXCHANGE_MESSAGE [2.2.6.4], VERIFY_MESSAGE [2.2.6.5], ALERT_MESSAGE
	// [2.2.6.6]: the scheme the message is about.
	Scheme GUID
	// Exchange is an EXCHANGE_MESSAGE's bytes: the scheme's metadata, or its
	// own token (CHALLENGE, AP_REQUEST).
	Exchange []byte
}

// Sizes [MS-NEGOEX 2.2.6]: MESSAGE_HEADER; NEGO_MESSAGE up to the end of its
// extension vector (Random[32], ProtocolVersion, two 8-byte vectors); the
// AuthScheme that starts EXCHANGE/VERIFY/ALERT messages and the BYTE_VECTOR
// after it in an EXCHANGE_MESSAGE.
const (
	negoExHeader   = 40
	negoExNego     = negoExHeader + 32 + 8 + 8 + 8
	negoExScheme   = negoExHeader + 16
	negoExExchange = negoExScheme + 8
)

// NextNegoEx decodes the first NegoEx message of b and returns what follows
// it (the next message, or nothing). ErrTruncated when b ends before the
// message does, ErrMalformed when a length or offset points outside it.
func NextNegoEx(b []byte) (NegoExMessage, []byte, error) {
	var m NegoExMessage
	if len(b) < negoExHeader {
		return m, nil, ErrTruncated
	}
	if string(b[:8]) != negoExSignature {
		return m, nil, wrap(ErrMalformed, "NegoEx signature")
	}
	le := binary.LittleEndian
	m.Type = NegoExType(le.Uint32(b[8:]))
	m.Seq = le.Uint32(b[12:])
	hdr, n := le.Uint32(b[16:]), le.Uint32(b[20:])
	copy(m.Conversation[:], b[24:40])
	if n < negoExHeader || hdr < negoExHeader || hdr > n {
		return m, nil, wrap(ErrMalformed, "NegoEx header or message length")
	}
	if uint64(n) > uint64(len(b)) {
		return m, nil, ErrTruncated
	}
	msg, rest := b[:n], b[n:]
	switch m.Type {
	case NegoExInitiatorNego, NegoExAcceptorNego:
		if len(msg) < negoExNego {
			return m, nil, wrap(ErrMalformed, "NEGO_MESSAGE")
		}
		off, cnt := le.Uint32(msg[80:]), int(le.Uint16(msg[84:]))
		if uint64(off)+16*uint64(cnt) > uint64(len(msg)) {
			return m, nil, wrap(ErrMalformed, "AuthSchemes vector")
		}
		for i := 0; i < cnt && m.NumSchemes < len(m.Schemes); i++ {
			copy(m.Schemes[m.NumSchemes][:], msg[int(off)+16*i:])
			m.NumSchemes++
		}
	case NegoExInitiatorMetaData, NegoExAcceptorMetaData, NegoExChallenge, NegoExAPRequest:
		if len(msg) < negoExExchange {
			return m, nil, wrap(ErrMalformed, "EXCHANGE_MESSAGE")
		}
		copy(m.Scheme[:], msg[negoExHeader:])
		off, cnt := le.Uint32(msg[negoExScheme:]), le.Uint32(msg[negoExScheme+4:])
		if uint64(off)+uint64(cnt) > uint64(len(msg)) {
			return m, nil, wrap(ErrMalformed, "Exchange vector")
		}
		m.Exchange = msg[off : off+cnt]
	case NegoExVerify, NegoExAlert:
		if len(msg) < negoExScheme {
			return m, nil, wrap(ErrMalformed, "VERIFY/ALERT_MESSAGE")
		}
		copy(m.Scheme[:], msg[negoExHeader:])
	}
	return m, rest, nil
}
