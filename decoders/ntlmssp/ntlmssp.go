// Package ntlmssp decodes NTLMSSP messages [MS-NLMP 2.2]: NEGOTIATE, CHALLENGE
// and AUTHENTICATE, as found inside SPNEGO, SMB, DCE/RPC, LDAP and HTTP.
//
// The decoders are pure: bytes in, struct out. Every security buffer is
// bounds-checked against the message, malformed input gives an error wrapping
// ErrTruncated or ErrMalformed and never a panic, and nothing is allocated in
// proportion to a length field. All text fields of one message share a single
// allocation; byte fields are sub-slices of the input. On error
// ParseNegotiate and ParseAuthenticate return the zero value; ParseChallenge
// returns what it decoded so far (see there).
package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf8"

	"ntlmsensor/decoders/internal/decodeerr"
	"ntlmsensor/decoders/internal/utf16le"
)

// Signature starts every NTLMSSP message [MS-NLMP 2.2.1].
const Signature = "NTLMSSP\x00"

var signature = []byte(Signature) // read-only, for bytes.Index

// Errors wrapped by the parsers; test with errors.Is.
var (
	// ErrTruncated: the message ends before a fixed field or a buffer it points to.
	ErrTruncated = errors.New("ntlmssp: truncated")
	// ErrMalformed: the bytes are present but inconsistent (signature, type, overlap).
	ErrMalformed = errors.New("ntlmssp: malformed")
)

// MessageType is the MessageType field of every message [MS-NLMP 2.2.1].
type MessageType uint32

// Message types [MS-NLMP 2.2.1.1-2.2.1.3].
const (
	NegotiateType    MessageType = 1
	ChallengeType    MessageType = 2
	AuthenticateType MessageType = 3
)

func (t MessageType) String() string {
	switch t {
	case NegotiateType:
		return "NEGOTIATE"
	case ChallengeType:
		return "CHALLENGE"
	case AuthenticateType:
		return "AUTHENTICATE"
	}
	return "MessageType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Flags is the NegotiateFlags field [MS-NLMP 2.2.2.5].
type Flags uint32

// NEGOTIATE flags [MS-NLMP 2.2.2.5].
const (
	FlagUnicode                 Flags = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE
	FlagOEM                     Flags = 0x00000002 // NTLM_NEGOTIATE_OEM
	FlagRequestTarget           Flags = 0x00000004 // NTLMSSP_REQUEST_TARGET
	FlagSign                    Flags = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN
	FlagSeal                    Flags = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL
	FlagDatagram                Flags = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM
	FlagLMKey                   Flags = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY
	FlagNTLM                    Flags = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM
	FlagAnonymous               Flags = 0x00000800 // anonymous ("J" bit)
	FlagOEMDomainSupplied       Flags = 0x00001000 // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
	FlagOEMWorkstationSupplied  Flags = 0x00002000 // NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED
	FlagAlwaysSign              Flags = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN
	FlagTargetTypeDomain        Flags = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN
	FlagTargetTypeServer        Flags = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER
	FlagExtendedSessionSecurity Flags = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
	FlagIdentify                Flags = 0x00100000 // NTLMSSP_NEGOTIATE_IDENTIFY
	FlagRequestNonNTSessionKey  Flags = 0x00400000 // NTLMSSP_REQUEST_NON_NT_SESSION_KEY
	FlagTargetInfo              Flags = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO
	FlagVersion                 Flags = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION
	Flag128                     Flags = 0x20000000 // NTLMSSP_NEGOTIATE_128
	FlagKeyExchange             Flags = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH
	Flag56                      Flags = 0x80000000 // NTLMSSP_NEGOTIATE_56
)

// Has reports whether every bit of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// Version is the VERSION structure [MS-NLMP 2.2.2.10]: the sender's OS
// version, only meaningful when FlagVersion is set.
type Version struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8 // NTLMRevisionCurrent, 15 for NTLMSSP_REVISION_W2K3
}

// String gives "major.minor.build", e.g. "10.0.19041".
func (v Version) String() string {
	var buf [16]byte
	b := strconv.AppendUint(buf[:0], uint64(v.Major), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Minor), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Build), 10)
	return string(b)
}

// MS-NLMP 2.2.2.10 VERSION: Major(1) Minor(1) Build(2) Reserved(3) Revision(1).
func parseVersion(b []byte) Version {
	return Version{Major: b[0], Minor: b[1], Build: binary.LittleEndian.Uint16(b[2:4]), Revision: b[7]}
}

// Peek returns the message type if b starts with the signature (no full parse).
func Peek(b []byte) (MessageType, bool) {
	if len(b) < 12 || string(b[:8]) != Signature {
		return 0, false
	}
	return MessageType(binary.LittleEndian.Uint32(b[8:12])), true
}

// Find returns the offset of the first NTLMSSP signature in b, or -1 (bytes.Index).
func Find(b []byte) int { return bytes.Index(b, signature) }

// checkHeader verifies signature and message type and that b holds at least
// min bytes of fixed fields.
func checkHeader(b []byte, want MessageType, min int) error {
	if len(b) < 12 {
		return wrap(ErrTruncated, "header")
	}
	t, ok := Peek(b)
	if !ok {
		return wrap(ErrMalformed, "no NTLMSSP signature")
	}
	if t != want {
		return wrap(ErrMalformed, "message type "+t.String()+", want "+want.String())
	}
	if len(b) < min {
		return wrap(ErrTruncated, want.String()+" fixed fields")
	}
	return nil
}

// secBuf is a security buffer descriptor [MS-NLMP 2.2.1.1-2.2.1.3, the
// *Fields]: Len(2) MaxLen(2) BufferOffset(4). MaxLen is not checked: the
// spec says it SHOULD equal Len and receivers use Len.
type secBuf struct{ len, off uint32 }

func readSecBuf(b []byte, at int) secBuf {
	return secBuf{len: uint32(binary.LittleEndian.Uint16(b[at:])), off: binary.LittleEndian.Uint32(b[at+4:])}
}

// bytesIn returns the buffer's bytes as a capped sub-slice of msg (nil when
// empty). A non-empty buffer must start at or after fixedEnd (it may not
// overlap the fixed fields) and end inside msg.
func (s secBuf) bytesIn(msg []byte, fixedEnd int, name string) ([]byte, error) {
	if s.len == 0 {
		return nil, nil // offset of an empty buffer is meaningless; clients send 0 or anything
	}
	if s.off < uint32(fixedEnd) {
		return nil, wrap(ErrMalformed, name+" overlaps fixed fields")
	}
	end := uint64(s.off) + uint64(s.len)
	if end > uint64(len(msg)) {
		return nil, wrap(ErrTruncated, name+" beyond message")
	}
	return msg[s.off:end:end], nil
}

// dataStart is where the payload begins: the lowest offset of the non-empty
// buffers, or len(msg) when all are empty. Optional fixed fields (VERSION,
// MIC, old short headers) exist only if they end at or before it.
func dataStart(msg []byte, bufs ...secBuf) int {
	start := len(msg)
	for _, s := range bufs {
		if s.len != 0 && int64(s.off) < int64(start) {
			start = int(s.off)
		}
	}
	return start
}

// wrap says what was being read when decoding failed.
func wrap(sentinel error, what string) error { return decodeerr.New(sentinel, what) }

// span is the [start,end) of one decoded field in a message's text buffer.
// All text fields of a message are decoded into one byte slice (on the
// stack when small) so that a single string conversion backs all of them.
type span struct{ start, end int }

// addText appends raw decoded as UTF-16LE (unicode) or Latin-1 (OEM) and
// returns where it landed. The string ends at the first NUL, as Wireshark
// reads it: counted strings have none, but some stacks count a terminator or
// point into zeroed fields. Output is at most 3x the input bytes, so never
// more than the message allows.
func addText(dst, raw []byte, unicode bool) ([]byte, span) {
	start := len(dst)
	if unicode {
		dst = appendUTF16(dst, raw)
	} else {
		dst = appendLatin1(dst, raw)
	}
	return dst, span{start, len(dst)}
}

func (s span) of(all string) string { return all[s.start:s.end] }

// appendUTF16 decodes UTF-16LE up to the first NUL; an odd trailing byte
// becomes U+FFFD, as Wireshark shows it.
func appendUTF16(dst, src []byte) []byte {
	cut := utf16le.UntilNUL(src)
	dst = utf16le.Append(dst, cut)
	if len(cut) == len(src) && len(src)%2 == 1 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	return dst
}

// appendLatin1 decodes OEM strings, up to the first NUL, as Latin-1: the OEM
// code page is not on the wire, and Latin-1 is lossless and never invalid.
func appendLatin1(dst, src []byte) []byte {
	for _, c := range src {
		if c == 0 {
			break
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}
