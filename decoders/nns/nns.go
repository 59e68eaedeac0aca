// Package nns is the carrier of the .NET NegotiateStream protocol
// [MS-NNS]: Active Directory Web Services (TCP 9389), .NET remoting and WCF
// net.tcp bindings authenticate with it. A handshake of SPNEGO, NTLM or
// Kerberos tokens comes first [MS-NNS 2.2.1]; signed or sealed data
// messages follow [MS-NNS 2.2.2], which the sensor passes over. WCF net.tcp
// puts the handshake behind the preamble of the .NET Message Framing
// protocol [MC-NMF 2.2.3], upgraded with "application/negotiate"; both
// forms are read.
package nns

import (
	"encoding/binary"
	"errors"
)

// Handshake message identifiers [MS-NNS 2.2.1 MessageId].
const (
	HandshakeDone       = 0x14 // the sender's last token; from the server, success
	HandshakeError      = 0x15 // AuthPayload is an HRESULT
	HandshakeInProgress = 0x16 // a token, more to come
)

// HeaderLen is the size of a handshake message header [MS-NNS 2.2.1]:
// MessageId, MajorVersion, MinorVersion, then the payload size in two
// bytes, high byte first.
const HeaderLen = 5

// Header is the header of one handshake message.
type Header struct {
	ID           byte
	Major, Minor byte
	PayloadSize  int
}

// ErrNotHandshake: the bytes are not a handshake message header.
var ErrNotHandshake = errors.New("nns: not a handshake message")

// ParseHeader reads a handshake message header [MS-NNS 2.2.1]. MajorVersion
// MUST be 1 (MinorVersion 0; receivers ignore both [MS-NNS 3.1.5.2], so
// only the major version is held to it, to tell the protocol from others).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrNotHandshake
	}
	h := Header{ID: b[0], Major: b[1], Minor: b[2], PayloadSize: int(binary.BigEndian.Uint16(b[3:5]))}
	switch {
	case h.ID < HandshakeDone || h.ID > HandshakeInProgress, h.Major != 1:
		return Header{}, ErrNotHandshake
	}
	return h, nil
}

// ErrorCode reads the AuthPayload of a HandshakeError [MS-NNS 2.2.1]: an
// HRESULT held in 8 bytes. .NET Framework writes it as a big-endian 64-bit
// integer (00 00 00 00 80 09 03 0C for SEC_E_LOGON_DENIED), .NET (Core)
// as little-endian; the half that is not the sign extension is the
// HRESULT. A 4-byte payload is read as one big-endian HRESULT.
func ErrorCode(p []byte) (uint32, bool) {
	switch len(p) {
	case 4:
		return binary.BigEndian.Uint32(p), true
	case 8:
		hi, lo := binary.BigEndian.Uint32(p[:4]), binary.BigEndian.Uint32(p[4:])
		if hi == 0 || hi == 0xffffffff {
			return lo, true
		}
		if lo == 0 || lo == 0xffffffff {
			return binary.LittleEndian.Uint32(p[:4]), true
		}
	}
	return 0, false
}

// .NET Message Framing record types [MC-NMF 2.2.3].
const (
	RecordVersion            = 0x00 // MajorVersion, MinorVersion
	RecordMode               = 0x01 // one byte
	RecordVia                = 0x02 // size-prefixed UTF-8 URI
	RecordKnownEncoding      = 0x03 // one byte
	RecordExtensibleEncoding = 0x04 // size-prefixed UTF-8 content type
	RecordFault              = 0x08 // size-prefixed UTF-8 fault
	RecordUpgradeRequest     = 0x09 // size-prefixed UTF-8 protocol name
	RecordUpgradeResponse    = 0x0a
	RecordPreambleAck        = 0x0b
	RecordPreambleEnd        = 0x0c
)

// UpgradeNegotiate is the upgrade protocol name of NegotiateStream
// [MC-NMF 2.2.3.5].
const UpgradeNegotiate = "application/negotiate"

// ErrNotRecord: the bytes are not a preamble record this package reads.
var ErrNotRecord = errors.New("nmf: not a preamble record")

// maxRecordString bounds the size-prefixed strings of the preamble: a Via
// URI, an encoding or an upgrade name is short.
const maxRecordString = 4096

// NextRecord reads one preamble record [MC-NMF 2.2.3] at the start of b:
// its type, its value (the string of a size-prefixed record, nil for the
// others) and its length. n == 0 with a nil error means more bytes are
// needed.
func NextRecord(b []byte) (typ byte, value []byte, n int, err error) {
	if len(b) == 0 {
		return 0, nil, 0, nil
	}
	typ = b[0]
	switch typ {
	case RecordVersion:
		n = 3
	case RecordMode, RecordKnownEncoding:
		n = 2
	case RecordUpgradeResponse, RecordPreambleAck, RecordPreambleEnd:
		n = 1
	case RecordVia, RecordExtensibleEncoding, RecordFault, RecordUpgradeRequest:
		size, k, ok := recordSize(b[1:])
		switch {
		case !ok:
			return 0, nil, 0, ErrNotRecord
		case k == 0:
			return 0, nil, 0, nil
		case size == 0 || size > maxRecordString:
			return 0, nil, 0, ErrNotRecord
		}
		n = 1 + k + size
		if len(b) < n {
			return 0, nil, 0, nil
		}
		return typ, b[1+k : n], n, nil
	default:
		return 0, nil, 0, ErrNotRecord
	}
	if len(b) < n {
		return 0, nil, 0, nil
	}
	return typ, nil, n, nil
}

// recordSize reads the variable-length size of a record [MC-NMF 2.2.2]:
// 7 bits a byte, low bits first, the high bit set on every byte but the
// last; at most 5 bytes. k == 0 with ok means more bytes are needed.
func recordSize(b []byte) (size, k int, ok bool) {
	for i := 0; i < 5; i++ {
		if i == len(b) {
			return 0, 0, true
		}
		size |= int(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return size, i + 1, true
		}
	}
	return 0, 0, false
}

// LooksLikeHandshake: the client's first bytes are a HandshakeInProgress
// (or, with a single-token mechanism, HandshakeDone) of version 1.0.
func LooksLikeHandshake(b []byte) bool {
	h, err := ParseHeader(b)
	return err == nil && h.ID != HandshakeError && h.PayloadSize > 0
}

// LooksLikePreamble: the client's first bytes are the Version record 1.x
// and a Mode record of the duplex or simplex modes [MC-NMF 2.2.3.1,
// 2.2.3.2] (1 singleton-unsized, 2 duplex, 3 simplex, 4 singleton-sized).
func LooksLikePreamble(b []byte) bool {
	return len(b) >= 5 && b[0] == RecordVersion && b[1] == 1 && b[3] == RecordMode && b[4] >= 1 && b[4] <= 4
}
