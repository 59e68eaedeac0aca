// Package smb parses the SMB1, SMB2 and SMB3 messages an authentication
// sensor needs: transport framing, headers, NEGOTIATE, SESSION_SETUP and
// TREE_CONNECT, plus NTSTATUS names.
//
// Every parser is pure: bytes in, struct out. Returned byte slices are
// sub-slices of the input (capacity clipped, so appending to them never
// writes into the input); only the strings a caller needs as text are
// allocated. msg is always one SMB message starting at its protocol id,
// i.e. after the 4-byte NetBIOS / direct-TCP header.
//
// Response parsers return the zero value and a nil error for error
// responses (SMB2 ERROR response [MS-SMB2 2.2.2], SMB1 WordCount 0): such
// messages carry no command fields, and the result is in the header's status.
package smb

import (
	"encoding/binary"
	"errors"

	"ntlmsensor/decoders/internal/decodeerr"
)

// Sentinel errors; every error returned by this package wraps one of them.
var (
	// ErrTruncated: the message ends before a field or buffer it declares.
	ErrTruncated = errors.New("smb: truncated")
	// ErrMalformed: a field holds a value the layout does not allow.
	ErrMalformed = errors.New("smb: malformed")
	// ErrWrongMessage: the protocol id, command or direction is not the one
	// the parser reads.
	ErrWrongMessage = errors.New("smb: wrong message type")
)

// errAt says where decoding failed.
func errAt(where string, kind error) error { return decodeerr.New(kind, where) }

// NetBIOS session service packet types [RFC 1002 4.3.1].
const (
	NBSessionMessage   = 0x00
	NBSessionRequest   = 0x81
	NBPositiveResponse = 0x82
	NBNegativeResponse = 0x83
	NBRetarget         = 0x84
	NBKeepAlive        = 0x85
)

// NetBIOSHeader decodes the 4-byte NetBIOS session service header
// [RFC 1002 4.3.1] or direct TCP transport header [MS-SMB2 2.1]: a type
// byte and a length. RFC 1002 allows 17 length bits; the 24 bits Windows and
// Samba use on port 445 are accepted. ok is false if len(b) < 4.
func NetBIOSHeader(b []byte) (typ byte, length int, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	return b[0], int(b[1])<<16 | int(b[2])<<8 | int(b[3]), true
}

// Protocol identifies an SMB message by its 4-byte protocol id.
type Protocol uint8

const (
	ProtoUnknown    Protocol = iota
	ProtoSMB1                // 0xFF 'SMB' [MS-CIFS 2.2.3.1]
	ProtoSMB2                // 0xFE 'SMB' [MS-SMB2 2.2.1]
	ProtoTransform           // 0xFD 'SMB' encrypted [MS-SMB2 2.2.41]
	ProtoCompressed          // 0xFC 'SMB' compressed [MS-SMB2 2.2.42]
)

// ProtocolOf returns the protocol of msg from its first four bytes.
func ProtocolOf(msg []byte) Protocol {
	if len(msg) < 4 || msg[1] != 'S' || msg[2] != 'M' || msg[3] != 'B' {
		return ProtoUnknown
	}
	switch msg[0] {
	case 0xff:
		return ProtoSMB1
	case 0xfe:
		return ProtoSMB2
	case 0xfd:
		return ProtoTransform
	case 0xfc:
		return ProtoCompressed
	}
	return ProtoUnknown
}

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// clip returns b[lo:hi] with its capacity cut to its length, or nil if empty.
func clip(b []byte, lo, hi int) []byte {
	if lo == hi {
		return nil
	}
	return b[lo:hi:hi]
}
