// Package tds parses the TDS (Microsoft SQL Server) messages that carry
// authentication [MS-TDS]: the packet header, PRELOGIN (encryption
// negotiation), LOGIN7 (identity and the first SSPI token), and the login
// response tokens that carry the server's SSPI token and the outcome.
//
// A message may span several packets: the caller strips each 8-byte header
// and concatenates payloads until a packet has StatusEOM, then parses the
// message. Results are sub-slices of the input; only Login7's strings
// allocate.
package tds

import (
	"encoding/binary"
	"errors"

	"ntlmsensor/decoders/internal/utf16le"
)

var (
	// ErrTruncated: the message is shorter than its fields say.
	ErrTruncated = errors.New("tds: truncated")
	// ErrMalformed: an offset, length or value that cannot be right.
	ErrMalformed = errors.New("tds: malformed")
	// ErrTLS: a PRELOGIN packet that carries a TLS record: once PRELOGIN
	// negotiated encryption, the TLS handshake travels in PRELOGIN packets
	// [MS-TDS 3.2.5.2] and the rest of the login is encrypted.
	ErrTLS = errors.New("tds: PRELOGIN carries TLS")
)

// HeaderLen is the size of the packet header.
const HeaderLen = 8

// PacketType is the packet header Type [MS-TDS 2.2.3.1.1].
type PacketType uint8

// Packet types. The Type prefix keeps PreLogin and Login7 free for the
// message structs.
const (
	TypeSQLBatch           PacketType = 1
	TypePreTDS7Login       PacketType = 2
	TypeRPC                PacketType = 3
	TypeTabularResult      PacketType = 4
	TypeAttention          PacketType = 6
	TypeBulkLoad           PacketType = 7
	TypeFedAuthToken       PacketType = 8
	TypeTransactionManager PacketType = 14
	TypeLogin7             PacketType = 16
	TypeSSPI               PacketType = 17
	TypePreLogin           PacketType = 18
)

// Status bits [MS-TDS 2.2.3.1.2].
const (
	StatusEOM            = 0x01 // last packet of the message
	StatusIgnore         = 0x02
	StatusResetConn      = 0x08
	StatusResetConnTrans = 0x10
)

// Header is the packet header.
type Header struct {
	Type   PacketType
	Status uint8
	// Length is the packet length including the header.
	Length           uint16
	SPID             uint16
	PacketID, Window uint8
}

// MS-TDS 2.2.3.1 packet header (big-endian):
//
//	0 Type(1) 1 Status(1) 2 Length(2) 4 SPID(2) 6 PacketID(1) 7 Window(1)

// ParseHeader parses the packet header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrTruncated
	}
	h := Header{
		Type:     PacketType(b[0]),
		Status:   b[1],
		Length:   binary.BigEndian.Uint16(b[2:]),
		SPID:     binary.BigEndian.Uint16(b[4:]),
		PacketID: b[6],
		Window:   b[7],
	}
	if h.Length < HeaderLen {
		return Header{}, ErrMalformed
	}
	return h, nil
}

// LooksLikeTDS is a cheap content check for the client's first packet: a
// PRELOGIN or LOGIN7 header (Window 0, no status bits beyond EOM) whose
// payload starts like the message, as far as b holds it.
func LooksLikeTDS(b []byte) bool {
	h, err := ParseHeader(b)
	if err != nil || h.Window != 0 || h.Status&^StatusEOM != 0 {
		return false
	}
	p := b[HeaderLen:]
	if len(p) > int(h.Length)-HeaderLen {
		p = p[:int(h.Length)-HeaderLen]
	}
	switch h.Type {
	case TypePreLogin:
		// An option list starts with a known PL_OPTION_TOKEN (VERSION first
		// in practice) followed by a 2-byte offset inside the packet.
		if h.Length < HeaderLen+6 {
			return false
		}
		if len(p) >= 3 {
			off := binary.BigEndian.Uint16(p[1:])
			return p[0] <= plNonce && int(off) <= int(h.Length)-HeaderLen
		}
		return true
	case TypeLogin7:
		if h.Length < HeaderLen+login7Fixed70 {
			return false
		}
		// Length DWORD covers the whole LOGIN7; TDSVersion's top byte is
		// 0x70..0x74 for TDS 7.0..7.4 (8.0 is 0x08000000, sent in TDS 8 TLS).
		if len(p) >= 8 {
			total := binary.LittleEndian.Uint32(p)
			v := binary.LittleEndian.Uint32(p[4:])
			return total >= login7Fixed70 && total <= 1<<20 &&
				(v>>24 >= 0x70 && v>>24 <= 0x74 || v == 0x08000000)
		}
		return true
	}
	return false
}

// PRELOGIN option tokens [MS-TDS 2.2.6.5].
const (
	plVersion    = 0x00
	plEncryption = 0x01
	plNonce      = 0x07
	plTerminator = 0xFF
)

// Encryption values of PRELOGIN [MS-TDS 2.2.6.5].
const (
	EncryptOff    = 0x00
	EncryptOn     = 0x01
	EncryptNotSup = 0x02
	EncryptReq    = 0x03
)

// EncryptionName names a PRELOGIN ENCRYPTION value ("off", "on",
// "not_supported", "required"), or "" when unknown.
func EncryptionName(e uint8) string {
	switch e {
	case EncryptOff:
		return "off"
	case EncryptOn:
		return "on"
	case EncryptNotSup:
		return "not_supported"
	case EncryptReq:
		return "required"
	}
	return ""
}

// PreLogin holds the PRELOGIN options a sensor reports.
type PreLogin struct {
	// Encryption is the ENCRYPTION option (EncryptOff ...); valid when
	// HasEncryption. Off/NotSup on both sides means LOGIN7 travels in clear
	// after the login packet itself (which is always TLS-protected unless
	// both say NotSup).
	Encryption    uint8
	HasEncryption bool
	// Version is the VERSION option: UL_VERSION (major, minor, build BE16)
	// then US_SUBBUILD (BE16); zero when absent.
	Version [6]byte
}

// MS-TDS 2.2.6.5 PRELOGIN: a list of option headers, then their data:
//
//	PL_OPTION_TOKEN(1) PL_OFFSET(2, BE) PL_OPTION_LENGTH(2, BE) ... 0xFF
//	offsets are from the start of the message (after the packet header)

// ParsePreLogin parses a PRELOGIN message (the payload after the packet
// header, concatenated up to EOM).
func ParsePreLogin(payload []byte) (PreLogin, error) {
	// A TLS handshake record: ContentType 22, version 3.x.
	if len(payload) >= 2 && payload[0] == 0x16 && payload[1] == 0x03 {
		return PreLogin{}, ErrTLS
	}
	var p PreLogin
	for i := 0; ; i += 5 {
		if i >= len(payload) {
			return PreLogin{}, ErrTruncated
		}
		if payload[i] == plTerminator {
			break
		}
		if i+5 > len(payload) {
			return PreLogin{}, ErrTruncated
		}
		tok := payload[i]
		off := int(binary.BigEndian.Uint16(payload[i+1:]))
		n := int(binary.BigEndian.Uint16(payload[i+3:]))
		if off+n > len(payload) {
			return PreLogin{}, ErrTruncated
		}
		data := payload[off : off+n]
		switch tok {
		case plVersion:
			if n < 6 {
				return PreLogin{}, ErrMalformed
			}
			p.Version = [6]byte(data[:6])
		case plEncryption:
			if n < 1 {
				return PreLogin{}, ErrMalformed
			}
			p.Encryption, p.HasEncryption = data[0], true
		}
	}
	return p, nil
}

// OptionIntSecurity is fIntSecurity in LOGIN7 OptionFlags2: integrated
// (SSPI: NTLM/Kerberos) authentication.
const OptionIntSecurity = 0x80

// Login7 holds the LOGIN7 fields a sensor reports.
type Login7 struct {
	// TDSVersion as the client sent it, e.g. 0x74000004 for TDS 7.4.
	TDSVersion    uint32
	PacketSize    uint32
	ClientProgVer uint32
	ClientPID     uint32
	OptionFlags1  uint8
	// OptionFlags2 has fIntSecurity (OptionIntSecurity) for SSPI logins.
	OptionFlags2 uint8
	TypeFlags    uint8
	OptionFlags3 uint8
	// HostName is the client machine, UserName the SQL login (empty for
	// SSPI), AppName the client application, ServerName the server as the
	// client named it, Library the client interface (CltIntName: "ODBC",
	// "Core .Net SqlClient Data Provider", ...), Database the initial one.
	HostName, UserName, AppName, ServerName, Library, Database string
	// SSPI is the first SSPI token (NTLM NEGOTIATE, SPNEGO or Kerberos AP-REQ),
	// a capped sub-slice of the payload.
	SSPI []byte
	// PasswordSent is set when a SQL-authentication password is present;
	// the password itself is never decoded.
	PasswordSent bool
}

// MS-TDS 2.2.6.4 LOGIN7 (little-endian), fixed part:
//
//	0 Length(4) 4 TDSVersion(4) 8 PacketSize(4) 12 ClientProgVer(4)
//	16 ClientPID(4) 20 ConnectionID(4) 24 OptionFlags1 25 OptionFlags2
//	26 TypeFlags 27 OptionFlags3 28 ClientTimeZone(4) 32 ClientLCID(4)
//	36 OffsetLength: (ib, cch) USHORT pairs, cch in UCS-2 characters:
//	   36 HostName 40 UserName 44 Password 48 AppName 52 ServerName
//	   56 Unused/Extension 60 CltIntName 64 Language 68 Database
//	   72 ClientID(6) 78 ibSSPI 80 cbSSPI (bytes) 82 AtchDBFile
//	   86 ChangePassword 90 cbSSPILong(4)      (86.. from TDS 7.2)
//	94 Data; offsets are from the start of LOGIN7
const (
	login7Fixed70 = 86
	login7Fixed72 = 94
)

// ParseLogin7 parses a LOGIN7 message (the payload after the packet header,
// concatenated up to EOM).
func ParseLogin7(payload []byte) (Login7, error) {
	if len(payload) < login7Fixed70 {
		return Login7{}, ErrTruncated
	}
	total := binary.LittleEndian.Uint32(payload)
	if total < login7Fixed70 {
		return Login7{}, ErrMalformed
	}
	if uint64(total) > uint64(len(payload)) {
		return Login7{}, ErrTruncated
	}
	p := payload[:total:total]
	u16 := func(off int) int { return int(binary.LittleEndian.Uint16(p[off:])) }
	l := Login7{
		TDSVersion:    binary.LittleEndian.Uint32(p[4:]),
		PacketSize:    binary.LittleEndian.Uint32(p[8:]),
		ClientProgVer: binary.LittleEndian.Uint32(p[12:]),
		ClientPID:     binary.LittleEndian.Uint32(p[16:]),
		OptionFlags1:  p[24],
		OptionFlags2:  p[25],
		TypeFlags:     p[26],
		OptionFlags3:  p[27],
		PasswordSent:  u16(46) > 0,
	}
	var err error
	for _, f := range [...]struct {
		at  int
		dst *string
	}{{36, &l.HostName}, {40, &l.UserName}, {48, &l.AppName}, {52, &l.ServerName}, {60, &l.Library}, {68, &l.Database}} {
		if *f.dst, err = ucs2(p, u16(f.at), u16(f.at+2)); err != nil {
			return Login7{}, err
		}
	}
	ib, cb := u16(78), u16(80)
	// cbSSPI 0xFFFF: the real length is cbSSPILong (TDS 7.2+).
	if cb == 0xFFFF && len(p) >= login7Fixed72 {
		long := binary.LittleEndian.Uint32(p[90:])
		if uint64(long) > uint64(len(p)) {
			return Login7{}, ErrMalformed
		}
		cb = int(long)
	}
	if cb > 0 {
		if ib+cb > len(p) {
			return Login7{}, ErrMalformed
		}
		l.SSPI = p[ib : ib+cb : ib+cb]
	}
	return l, nil
}

// MaxNameChars caps each decoded LOGIN7 name. MS-TDS 2.2.6.4 allows 128
// characters; longer names are cut rather than rejected so the login is
// still reported, and overlapping fields cannot multiply the output.
const MaxNameChars = 256

// ucs2 decodes cch UCS-2LE characters at ib; the range must lie in p.
func ucs2(p []byte, ib, cch int) (string, error) {
	if cch == 0 {
		return "", nil
	}
	if ib+2*cch > len(p) {
		return "", ErrMalformed
	}
	return utf16le.String(p[ib : ib+2*min(cch, MaxNameChars)]), nil
}

// Token types of a tabular result [MS-TDS 2.2.7] that a login response
// carries, with how their length is coded.
const (
	tokReturnStatus  = 0x79 // fixed 4
	tokOrder         = 0xA9 // USHORT length
	tokError         = 0xAA // USHORT length
	tokInfo          = 0xAB // USHORT length
	tokLoginAck      = 0xAD // USHORT length
	tokFeatureExtAck = 0xAE // FeatureId(1) FeatureAckDataLen(4) ... 0xFF
	tokEnvChange     = 0xE3 // USHORT length
	tokSessionState  = 0xE4 // DWORD length
	tokSSPI          = 0xED // USHORT length
	tokFedAuthInfo   = 0xEE // DWORD length
	tokDone          = 0xFD // fixed 12 (TDS 7.2+)
	tokDoneProc      = 0xFE
	tokDoneInProc    = 0xFF
)

// walkTokens calls fn with each token's type and data (the bytes after the
// length field) of a login response, in order, until fn returns false, the
// data ends, or a token whose layout a login response does not use (a
// result set) stops the walk. It never reads past b.
func walkTokens(b []byte, fn func(tok byte, data []byte) bool) {
	for len(b) > 0 {
		tok := b[0]
		var hdr, n int
		switch tok {
		case tokOrder, tokError, tokInfo, tokLoginAck, tokEnvChange, tokSSPI:
			if len(b) < 3 {
				return
			}
			hdr, n = 3, int(binary.LittleEndian.Uint16(b[1:]))
		case tokSessionState, tokFedAuthInfo:
			if len(b) < 5 {
				return
			}
			l := binary.LittleEndian.Uint32(b[1:])
			if uint64(l) > uint64(len(b)) {
				return
			}
			hdr, n = 5, int(l)
		case tokReturnStatus:
			hdr, n = 1, 4
		case tokDone, tokDoneProc, tokDoneInProc:
			hdr, n = 1, 12
		case tokFeatureExtAck:
			// FeatureId(1) FeatureAckDataLen(4) data, until FeatureId 0xFF.
			i := 1
			for {
				if i >= len(b) {
					return
				}
				if b[i] == 0xFF {
					i++
					break
				}
				if i+5 > len(b) {
					return
				}
				l := binary.LittleEndian.Uint32(b[i+1:])
				if uint64(l) > uint64(len(b)-i-5) {
					return
				}
				i += 5 + int(l)
			}
			hdr, n = 1, i-1
		default:
			return
		}
		if hdr+n > len(b) {
			return
		}
		if !fn(tok, b[hdr:hdr+n:hdr+n]) {
			return
		}
		b = b[hdr+n:]
	}
}

// FindSSPIToken returns the first SSPI token [MS-TDS 2.2.7.22] of a
// tabular result (the payload after the packet header): the server's NTLM
// CHALLENGE or SPNEGO/Kerberos reply during an integrated login.
func FindSSPIToken(tabularResult []byte) ([]byte, bool) {
	var out []byte
	found := false
	walkTokens(tabularResult, func(tok byte, data []byte) bool {
		if tok == tokSSPI {
			out, found = data, true
			return false
		}
		return true
	})
	return out, found
}

// ERROR token numbers of failed logins.
const (
	NumberLoginFailed  = 18456 // "Login failed for user ..."
	NumberCannotOpenDB = 4060  // "Cannot open database ... requested by the login"
)

// LoginOutcome reads a login response (tabular result payload): a LOGINACK
// token [MS-TDS 2.2.7.14] means success; an ERROR token [2.2.7.10] without
// LOGINACK means failure, errNumber being the first error's number (18456
// for bad credentials). known is false when neither is present, e.g. a
// response that carries only an SSPI token (the login continues).
func LoginOutcome(tabularResult []byte) (ok bool, known bool, errNumber int32) {
	var loginAck, sawError bool
	walkTokens(tabularResult, func(tok byte, data []byte) bool {
		switch tok {
		case tokLoginAck:
			loginAck = true
			return false
		case tokError:
			// ERROR: Number(LONG) State(1) Class(1) MsgText ...
			if !sawError && len(data) >= 4 {
				errNumber = int32(binary.LittleEndian.Uint32(data))
				sawError = true
			}
		}
		return true
	})
	switch {
	case loginAck:
		return true, true, 0
	case sawError:
		return false, true, errNumber
	}
	return false, false, 0
}
