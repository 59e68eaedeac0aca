package smb

import "ntlmsensor/decoders/internal/utf16le"

// Header2Len is the size of the SMB2 packet header [MS-SMB2 2.2.1].
const Header2Len = 64

// Command2 is an SMB2 command code [MS-SMB2 2.2.1.2].
type Command2 uint16

const (
	Negotiate2      Command2 = 0
	SessionSetup2   Command2 = 1
	Logoff2         Command2 = 2
	TreeConnect2    Command2 = 3
	TreeDisconnect2 Command2 = 4
	Create2         Command2 = 5
	Close2          Command2 = 6
	Flush2          Command2 = 7
	Read2           Command2 = 8
	Write2          Command2 = 9
	Lock2           Command2 = 10
	Ioctl2          Command2 = 11
	Cancel2         Command2 = 12
	Echo2           Command2 = 13
	QueryDirectory2 Command2 = 14
	ChangeNotify2   Command2 = 15
	QueryInfo2      Command2 = 16
	SetInfo2        Command2 = 17
	OplockBreak2    Command2 = 18
)

// SMB2 header Flags [MS-SMB2 2.2.1.2].
const (
	flagServerToRedir = 0x00000001
	flagAsyncCommand  = 0x00000002
	flagRelatedOps    = 0x00000004
	flagSigned        = 0x00000008
)

// SecurityMode bits of SMB2 NEGOTIATE and SESSION_SETUP [MS-SMB2 2.2.3, 2.2.4, 2.2.5].
const (
	SigningEnabled  = 0x0001
	SigningRequired = 0x0002
)

// SESSION_SETUP response SessionFlags [MS-SMB2 2.2.6].
const (
	SessionFlagGuest   = 0x0001
	SessionFlagNull    = 0x0002
	SessionFlagEncrypt = 0x0004
)

const (
	statusSuccess                = 0x00000000
	statusMoreProcessingRequired = 0xc0000016
)

// Header2 is the SMB2 packet header, sync or async form [MS-SMB2 2.2.1.1, 2.2.1.2].
type Header2 struct {
	CreditCharge uint16
	Status       uint32 // ChannelSequence/Reserved in 3.x requests
	Command      Command2
	Credits      uint16 // CreditRequest or CreditResponse
	Flags        uint32
	NextCommand  uint32 // offset of the next header of a compound, 0 if last
	MessageID    uint64
	AsyncID      uint64 // async form only
	TreeID       uint32 // sync form only
	SessionID    uint64
	Signature    [16]byte
}

// IsResponse reports SMB2_FLAGS_SERVER_TO_REDIR.
func (h *Header2) IsResponse() bool { return h.Flags&flagServerToRedir != 0 }

// IsAsync reports SMB2_FLAGS_ASYNC_COMMAND (the header carries AsyncID, not TreeID).
func (h *Header2) IsAsync() bool { return h.Flags&flagAsyncCommand != 0 }

// IsSigned reports SMB2_FLAGS_SIGNED.
func (h *Header2) IsSigned() bool { return h.Flags&flagSigned != 0 }

// IsRelated reports SMB2_FLAGS_RELATED_OPERATIONS (compound member reusing
// the previous command's session and tree).
func (h *Header2) IsRelated() bool { return h.Flags&flagRelatedOps != 0 }

// ParseHeader2 decodes the 64-byte SMB2 header at the start of msg; it
// needs only those 64 bytes. StructureSize is not checked: a sensor should
// see what the server may accept.
func ParseHeader2(msg []byte) (Header2, error) {
	var h Header2
	if len(msg) < 4 || ProtocolOf(msg) != ProtoSMB2 {
		return h, errAt("smb2 header", ErrWrongMessage)
	}
	if len(msg) < Header2Len {
		return h, errAt("smb2 header", ErrTruncated)
	}
	// MS-SMB2 2.2.1: ProtocolId(4) StructureSize(2) CreditCharge(2)
	// Status(4) Command(2) Credit(2) Flags(4) NextCommand(4) MessageId(8)
	// {Reserved(4) TreeId(4) | AsyncId(8)} SessionId(8) Signature(16)
	h.CreditCharge = le16(msg, 6)
	h.Status = le32(msg, 8)
	h.Command = Command2(le16(msg, 12))
	h.Credits = le16(msg, 14)
	h.Flags = le32(msg, 16)
	h.NextCommand = le32(msg, 20)
	h.MessageID = le64(msg, 24)
	if h.IsAsync() {
		h.AsyncID = le64(msg, 32)
	} else {
		h.TreeID = le32(msg, 36)
	}
	h.SessionID = le64(msg, 40)
	copy(h.Signature[:], msg[48:64])
	if h.NextCommand != 0 && h.NextCommand < Header2Len {
		return h, errAt("smb2 header NextCommand", ErrMalformed)
	}
	return h, nil
}

// command2 parses the header, checks the command and direction, and returns
// msg cut at the next compound member so that buffers stay inside this
// command. fixed is the size of the command's fixed part after the header.
func command2(msg []byte, want Command2, response bool, fixed int, where string) (Header2, []byte, error) {
	h, err := ParseHeader2(msg)
	if err != nil {
		return h, nil, err
	}
	if h.Command != want || h.IsResponse() != response {
		return h, nil, errAt(where, ErrWrongMessage)
	}
	if h.NextCommand != 0 && int64(h.NextCommand) < int64(len(msg)) {
		msg = msg[:h.NextCommand]
	}
	if len(msg) < Header2Len+fixed {
		return h, nil, errAt(where, ErrTruncated)
	}
	return h, msg, nil
}

// buffer2 returns the offset/length buffer of an SMB2 command; offsets are
// from the start of the SMB2 header. A zero length yields nil whatever the
// offset (clients send offset 0 with empty buffers).
func buffer2(msg []byte, off, n int, where string) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if off < Header2Len {
		return nil, errAt(where, ErrMalformed)
	}
	if off > len(msg) || n > len(msg)-off {
		return nil, errAt(where, ErrTruncated)
	}
	return clip(msg, off, off+n), nil
}

// isErrorResponse2 reports an SMB2 ERROR response [MS-SMB2 2.2.2]: a
// failure status with the 9-byte error body instead of the command's body.
func isErrorResponse2(h *Header2, msg []byte, okStatus uint32) bool {
	return h.Status != statusSuccess && h.Status != okStatus &&
		len(msg) >= Header2Len+2 && le16(msg, Header2Len) == 9
}

// NegotiateRequest2 is an SMB2 NEGOTIATE request [MS-SMB2 2.2.3].
type NegotiateRequest2 struct {
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Dialects     [16]uint16 // the first NumDialects are valid
	NumDialects  int        // dialects stored (at most 16)
	DialectCount uint16     // DialectCount as sent; > NumDialects if some were not stored
}

// ParseNegotiateRequest2 decodes an SMB2 NEGOTIATE request.
func ParseNegotiateRequest2(msg []byte) (NegotiateRequest2, error) {
	var r NegotiateRequest2
	const where = "smb2 negotiate request"
	// MS-SMB2 2.2.3: StructureSize(2)=36 DialectCount(2) SecurityMode(2)
	// Reserved(2) Capabilities(4) ClientGuid(16) NegotiateContextOffset(4)
	// NegotiateContextCount(2) Reserved2(2) Dialects(2*DialectCount)
	_, msg, err := command2(msg, Negotiate2, false, 36, where)
	if err != nil {
		return r, err
	}
	b := msg[Header2Len:]
	r.DialectCount = le16(b, 2)
	r.SecurityMode = le16(b, 4)
	r.Capabilities = le32(b, 8)
	copy(r.ClientGUID[:], b[12:28])
	dialects := b[36:]
	if int(r.DialectCount)*2 > len(dialects) {
		return r, errAt(where+" dialects", ErrTruncated)
	}
	r.NumDialects = min(int(r.DialectCount), len(r.Dialects))
	for i := 0; i < r.NumDialects; i++ {
		r.Dialects[i] = le16(dialects, 2*i)
	}
	return r, nil
}

// NegotiateResponse2 is an SMB2 NEGOTIATE response [MS-SMB2 2.2.4].
type NegotiateResponse2 struct {
	SecurityMode    uint16 // SigningEnabled, SigningRequired
	DialectRevision uint16
	Capabilities    uint32
	ServerGUID      [16]byte
	SecurityBlob    []byte // GSS/SPNEGO token, sub-slice of msg
}

// ParseNegotiateResponse2 decodes an SMB2 NEGOTIATE response (also the
// answer to an SMB1 multi-protocol negotiate, with DialectRevision 0x02ff).
func ParseNegotiateResponse2(msg []byte) (NegotiateResponse2, error) {
	var r NegotiateResponse2
	const where = "smb2 negotiate response"
	h, msg, err := command2(msg, Negotiate2, true, 8, where)
	if err != nil {
		return r, err
	}
	if isErrorResponse2(&h, msg, statusSuccess) {
		return r, nil
	}
	// MS-SMB2 2.2.4: StructureSize(2)=65 SecurityMode(2) DialectRevision(2)
	// NegotiateContextCount(2) ServerGuid(16) Capabilities(4)
	// MaxTransactSize(4) MaxReadSize(4) MaxWriteSize(4) SystemTime(8)
	// ServerStartTime(8) SecurityBufferOffset(2) SecurityBufferLength(2)
	// NegotiateContextOffset(4) Buffer
	if len(msg) < Header2Len+64 {
		return r, errAt(where, ErrTruncated)
	}
	b := msg[Header2Len:]
	r.SecurityMode = le16(b, 2)
	r.DialectRevision = le16(b, 4)
	copy(r.ServerGUID[:], b[8:24])
	r.Capabilities = le32(b, 24)
	r.SecurityBlob, err = buffer2(msg, int(le16(b, 56)), int(le16(b, 58)), where+" security buffer")
	return r, err
}

// SessionSetupRequest2 is an SMB2 SESSION_SETUP request [MS-SMB2 2.2.5].
type SessionSetupRequest2 struct {
	Flags             uint8 // SMB2_SESSION_FLAG_BINDING 0x01
	SecurityMode      uint8 // SigningEnabled, SigningRequired
	Capabilities      uint32
	PreviousSessionID uint64
	SecurityBlob      []byte // GSS/SPNEGO or raw NTLMSSP token, sub-slice of msg
}

// ParseSessionSetupRequest2 decodes an SMB2 SESSION_SETUP request.
func ParseSessionSetupRequest2(msg []byte) (SessionSetupRequest2, error) {
	var r SessionSetupRequest2
	const where = "smb2 session setup request"
	// MS-SMB2 2.2.5: StructureSize(2)=25 Flags(1) SecurityMode(1)
	// Capabilities(4) Channel(4) SecurityBufferOffset(2)
	// SecurityBufferLength(2) PreviousSessionId(8) Buffer
	_, msg, err := command2(msg, SessionSetup2, false, 24, where)
	if err != nil {
		return r, err
	}
	b := msg[Header2Len:]
	r.Flags = b[2]
	r.SecurityMode = b[3]
	r.Capabilities = le32(b, 4)
	r.PreviousSessionID = le64(b, 16)
	r.SecurityBlob, err = buffer2(msg, int(le16(b, 12)), int(le16(b, 14)), where+" security buffer")
	return r, err
}

// SessionSetupResponse2 is an SMB2 SESSION_SETUP response [MS-SMB2 2.2.6].
type SessionSetupResponse2 struct {
	SessionFlags uint16 // SessionFlagGuest, SessionFlagNull, SessionFlagEncrypt
	SecurityBlob []byte // sub-slice of msg
}

// ParseSessionSetupResponse2 decodes an SMB2 SESSION_SETUP response. Final
// failures (e.g. STATUS_LOGON_FAILURE) are ERROR responses: zero value, nil
// error; STATUS_MORE_PROCESSING_REQUIRED responses carry the next token.
func ParseSessionSetupResponse2(msg []byte) (SessionSetupResponse2, error) {
	var r SessionSetupResponse2
	const where = "smb2 session setup response"
	h, msg, err := command2(msg, SessionSetup2, true, 8, where)
	if err != nil {
		return r, err
	}
	if isErrorResponse2(&h, msg, statusMoreProcessingRequired) {
		return r, nil
	}
	// MS-SMB2 2.2.6: StructureSize(2)=9 SessionFlags(2)
	// SecurityBufferOffset(2) SecurityBufferLength(2) Buffer
	b := msg[Header2Len:]
	r.SessionFlags = le16(b, 2)
	r.SecurityBlob, err = buffer2(msg, int(le16(b, 4)), int(le16(b, 6)), where+" security buffer")
	return r, err
}

// TREE_CONNECT request Flags (3.1.1) [MS-SMB2 2.2.9].
const treeConnectFlagExtensionPresent = 0x0004

// extension2Len is the fixed part of TREE_CONNECT_REQUEST_EXTENSION [MS-SMB2 2.2.9.1].
const extension2Len = 16

// ParseTreeConnectRequest2 returns the share path of an SMB2 TREE_CONNECT
// request, e.g. `\\dc1.lab.test\IPC$`.
//
// With SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT (3.1.1) the path is the
// PathName inside the extension [MS-SMB2 2.2.9.1]. The spec measures
// PathOffset from the SMB2 header (as Windows, Samba and impacket do); some
// writers measure it from the extension, so when the header-relative reading
// is out of bounds or does not start with `\` the extension-relative one is
// tried too.
func ParseTreeConnectRequest2(msg []byte) (path string, err error) {
	const where = "smb2 tree connect request"
	// MS-SMB2 2.2.9: StructureSize(2)=9 Flags(2) PathOffset(2) PathLength(2) Buffer
	_, msg, err = command2(msg, TreeConnect2, false, 8, where)
	if err != nil {
		return "", err
	}
	b := msg[Header2Len:]
	flags, off, n := le16(b, 2), int(le16(b, 4)), int(le16(b, 6))
	if n == 0 {
		return "", nil
	}
	if flags&treeConnectFlagExtensionPresent == 0 {
		p, err := buffer2(msg, off, n, where+" path")
		if err != nil {
			return "", err
		}
		return utf16le.String(p), nil
	}
	const extStart = Header2Len + 8
	if len(msg) < extStart+extension2Len {
		return "", errAt(where+" extension", ErrTruncated)
	}
	// Header-relative first, then extension-relative; PathName cannot start
	// inside the extension's fixed part.
	var fallback []byte
	for _, o := range [2]int{off, extStart + off} {
		if o < extStart+extension2Len || o > len(msg) || n > len(msg)-o {
			continue
		}
		p := msg[o : o+n]
		if len(p) >= 2 && p[0] == '\\' && p[1] == 0 {
			return utf16le.String(p), nil
		}
		if fallback == nil {
			fallback = p
		}
	}
	if fallback == nil {
		return "", errAt(where+" extension path", ErrTruncated)
	}
	return utf16le.String(fallback), nil
}

// TransformHeaderLen is the size of the SMB2 TRANSFORM_HEADER [MS-SMB2 2.2.41].
const TransformHeaderLen = 52

// TransformHeader is the header of an encrypted SMB3 message [MS-SMB2 2.2.41].
type TransformHeader struct {
	Nonce               [16]byte // 11 bytes used with AES-CCM, 12 with AES-GCM
	OriginalMessageSize uint32
	Flags               uint16 // EncryptionAlgorithm in 3.0/3.0.2, Flags (0x0001 Encrypted) in 3.1.1
	SessionID           uint64
}

// ParseTransformHeader decodes the 52-byte transform header at the start of msg.
func ParseTransformHeader(msg []byte) (TransformHeader, error) {
	var t TransformHeader
	if ProtocolOf(msg) != ProtoTransform {
		return t, errAt("smb3 transform header", ErrWrongMessage)
	}
	if len(msg) < TransformHeaderLen {
		return t, errAt("smb3 transform header", ErrTruncated)
	}
	// MS-SMB2 2.2.41: ProtocolId(4) Signature(16) Nonce(16)
	// OriginalMessageSize(4) Reserved(2) Flags/EncryptionAlgorithm(2) SessionId(8)
	copy(t.Nonce[:], msg[20:36])
	t.OriginalMessageSize = le32(msg, 36)
	t.Flags = le16(msg, 42)
	t.SessionID = le64(msg, 44)
	return t, nil
}

// DialectString names an SMB2 dialect revision [MS-SMB2 2.2.3]; "" if unknown.
func DialectString(d uint16) string {
	switch d {
	case 0x0202:
		return "2.0.2"
	case 0x0210:
		return "2.1"
	case 0x0300:
		return "3.0"
	case 0x0302:
		return "3.0.2"
	case 0x0311:
		return "3.1.1"
	case 0x02ff:
		return "2.x"
	}
	return ""
}

// NeedsBody2 reports whether the handler must buffer the whole message of
// command c; for all others the header is enough.
func NeedsBody2(c Command2) bool {
	switch c {
	case Negotiate2, SessionSetup2, Logoff2, TreeConnect2:
		return true
	}
	return false
}
