package smb

// Header1Len is the size of the SMB1 header [MS-CIFS 2.2.3.1].
const Header1Len = 32

// SMB1 command codes [MS-CIFS 2.2.2.1].
const (
	Cmd1Close            = 0x04
	Cmd1LockingAndX      = 0x24
	Cmd1Transaction      = 0x25
	Cmd1Echo             = 0x2b
	Cmd1OpenAndX         = 0x2d
	Cmd1ReadAndX         = 0x2e
	Cmd1WriteAndX        = 0x2f
	Cmd1Transaction2     = 0x32
	Cmd1TreeDisconnect   = 0x71
	Cmd1Negotiate        = 0x72
	Cmd1SessionSetupAndX = 0x73
	Cmd1LogoffAndX       = 0x74
	Cmd1TreeConnectAndX  = 0x75
	Cmd1NTTransact       = 0xa0
	Cmd1NTCreateAndX     = 0xa2
	Cmd1NoAndX           = 0xff // AndXCommand value ending a chain
)

// SMB1 header Flags and Flags2 bits [MS-CIFS 2.2.3.1, MS-SMB 2.2.3.1].
const (
	flagReply1              = 0x80
	flags2SecuritySignature = 0x0004
	flags2ExtendedSecurity  = 0x0800
	flags2NTStatus          = 0x4000
	flags2Unicode           = 0x8000
)

// NEGOTIATE response SecurityMode bits [MS-CIFS 2.2.4.52.2].
const (
	SecurityUserLevel1          = 0x01
	SecurityEncryptPasswords1   = 0x02
	SecuritySignaturesEnabled1  = 0x04
	SecuritySignaturesRequired1 = 0x08
)

// Capabilities bits of SMB1 NEGOTIATE / SESSION_SETUP_ANDX [MS-CIFS 2.2.4.52.2, MS-SMB 2.2.4.5.2].
const (
	CapUnicode1          = 0x00000004
	CapNTStatus1         = 0x00000040
	CapExtendedSecurity1 = 0x80000000
)

// SESSION_SETUP_ANDX response Action bit [MS-CIFS 2.2.4.53.2].
const ActionGuest1 = 0x0001

// Header1 is the SMB1 header [MS-CIFS 2.2.3.1, MS-SMB 2.2.3.1].
type Header1 struct {
	Command          uint8
	Status           uint32 // NTSTATUS, or DOS ErrorClass(1) Reserved(1) ErrorCode(2); see NTStatus
	Flags            uint8
	Flags2           uint16
	PIDHigh          uint16
	SecurityFeatures [8]byte // signature when signing is active
	TID, PIDLow      uint16
	UID, MID         uint16
}

// IsResponse reports SMB_FLAGS_REPLY.
func (h *Header1) IsResponse() bool { return h.Flags&flagReply1 != 0 }

// Unicode reports SMB_FLAGS2_UNICODE: strings are UTF-16LE.
func (h *Header1) Unicode() bool { return h.Flags2&flags2Unicode != 0 }

// ExtendedSecurity reports SMB_FLAGS2_EXTENDED_SECURITY.
func (h *Header1) ExtendedSecurity() bool { return h.Flags2&flags2ExtendedSecurity != 0 }

// SecuritySignature reports whether the message is signed: it has
// SMB_FLAGS2_SMB_SECURITY_SIGNATURE (0x0004) and a signature in
// SecurityFeatures [MS-CIFS 2.2.3.1, 3.1.5.1]. Eight zero bytes are no
// signature (clients and servers that negotiated signing but never
// started it set the flag and leave zeros), nor is "BSRSPYL ", the
// placeholder sent before the session key exists [MS-CIFS 3.2.4.1.1].
func (h *Header1) SecuritySignature() bool {
	return h.Flags2&flags2SecuritySignature != 0 && h.SecurityFeatures != [8]byte{} &&
		h.SecurityFeatures != [8]byte{'B', 'S', 'R', 'S', 'P', 'Y', 'L', ' '}
}

// NTStatus returns the status as an NTSTATUS. Without SMB_FLAGS2_NT_STATUS
// the field is a DOS error [MS-CIFS 2.2.2.4]: class 0 is success, the common
// authentication and access pairs map to their NTSTATUS, and any other pair
// becomes 0xF1ccnnnn (class cc, code nnnn): Samba's NT_STATUS_DOS form, an
// error-severity customer code that no Microsoft status uses.
func (h *Header1) NTStatus() uint32 {
	if h.Flags2&flags2NTStatus != 0 {
		return h.Status
	}
	class, code := h.Status&0xff, h.Status>>16
	if class == 0 {
		return statusSuccess
	}
	for _, m := range dosErrors {
		if m.class == class && m.code == code {
			return m.status
		}
	}
	return 0xf1000000 | class<<16 | code
}

const (
	errDOS = 0x01
	errSRV = 0x02
)

// dosErrors maps DOS error class/code pairs to NTSTATUS [MS-CIFS 2.2.2.4].
var dosErrors = [...]struct{ class, code, status uint32 }{
	{errDOS, 1, 0xc0000002},    // ERRbadfunc: STATUS_NOT_IMPLEMENTED
	{errDOS, 2, 0xc0000034},    // ERRbadfile: STATUS_OBJECT_NAME_NOT_FOUND
	{errDOS, 3, 0xc000003a},    // ERRbadpath: STATUS_OBJECT_PATH_NOT_FOUND
	{errDOS, 5, 0xc0000022},    // ERRnoaccess: STATUS_ACCESS_DENIED
	{errDOS, 6, 0xc0000008},    // ERRbadfid: STATUS_INVALID_HANDLE
	{errDOS, 8, 0xc000009a},    // ERRnomem: STATUS_INSUFFICIENT_RESOURCES
	{errDOS, 50, 0xc00000bb},   // ERRunsup: STATUS_NOT_SUPPORTED
	{errDOS, 87, 0xc000000d},   // ERRinvalidparam: STATUS_INVALID_PARAMETER
	{errSRV, 1, 0xc0000001},    // ERRerror: STATUS_UNSUCCESSFUL
	{errSRV, 2, 0xc000006d},    // ERRbadpw: STATUS_LOGON_FAILURE
	{errSRV, 4, 0xc00000ca},    // ERRaccess: STATUS_NETWORK_ACCESS_DENIED
	{errSRV, 6, 0xc00000cc},    // ERRinvnetname: STATUS_BAD_NETWORK_NAME
	{errSRV, 2239, 0xc0000193}, // ERRaccountExpired: STATUS_ACCOUNT_EXPIRED
	{errSRV, 2240, 0xc0000070}, // ERRbadClient: STATUS_INVALID_WORKSTATION
	{errSRV, 2241, 0xc000006f}, // ERRbadLogonTime: STATUS_INVALID_LOGON_HOURS
	{errSRV, 2242, 0xc0000071}, // ERRpasswordExpired: STATUS_PASSWORD_EXPIRED
}

// ParseHeader1 decodes the 32-byte SMB1 header at the start of msg.
func ParseHeader1(msg []byte) (Header1, error) {
	var h Header1
	if ProtocolOf(msg) != ProtoSMB1 {
		return h, errAt("smb1 header", ErrWrongMessage)
	}
	if len(msg) < Header1Len {
		return h, errAt("smb1 header", ErrTruncated)
	}
	// MS-CIFS 2.2.3.1: Protocol(4) Command(1) Status(4) Flags(1) Flags2(2)
	// PIDHigh(2) SecurityFeatures(8) Reserved(2) TID(2) PIDLow(2) UID(2) MID(2)
	h.Command = msg[4]
	h.Status = le32(msg, 5)
	h.Flags = msg[9]
	h.Flags2 = le16(msg, 10)
	h.PIDHigh = le16(msg, 12)
	copy(h.SecurityFeatures[:], msg[14:22])
	h.TID = le16(msg, 24)
	h.PIDLow = le16(msg, 26)
	h.UID = le16(msg, 28)
	h.MID = le16(msg, 30)
	return h, nil
}

// block1 is one SMB1 command's parameter and data blocks [MS-CIFS 2.2.3.2,
// 2.2.3.3]: WordCount(1) Words(2*WordCount) ByteCount(2) Bytes(ByteCount).
type block1 struct {
	words            []byte
	dataOff, dataEnd int // Bytes as offsets in msg, for alignment
}

func parseBlock1(msg []byte, off int, where string) (block1, error) {
	var b block1
	if off < Header1Len {
		return b, errAt(where+" offset inside header", ErrMalformed)
	}
	if off >= len(msg) {
		return b, errAt(where, ErrTruncated)
	}
	wc := int(msg[off])
	bcOff := off + 1 + 2*wc
	if bcOff+2 > len(msg) {
		return b, errAt(where, ErrTruncated)
	}
	b.words = msg[off+1 : bcOff]
	b.dataOff = bcOff + 2
	b.dataEnd = b.dataOff + int(le16(msg, bcOff))
	if b.dataEnd > len(msg) {
		return b, errAt(where+" ByteCount", ErrTruncated)
	}
	return b, nil
}

// command1 parses the header, checks command and direction and returns the
// first command's blocks.
func command1(msg []byte, cmd uint8, response bool, where string) (Header1, block1, error) {
	h, err := ParseHeader1(msg)
	if err != nil {
		return h, block1{}, err
	}
	if h.Command != cmd || h.IsResponse() != response {
		return h, block1{}, errAt(where, ErrWrongMessage)
	}
	b, err := parseBlock1(msg, Header1Len, where)
	return h, b, err
}

// isErrorResponse1: an SMB1 error response has WordCount 0 [MS-CIFS 2.2.3.2].
func isErrorResponse1(h *Header1, b *block1) bool {
	return len(b.words) == 0 && h.NTStatus() != statusSuccess
}

// NegotiateResponse1 is an SMB1 NEGOTIATE response.
type NegotiateResponse1 struct {
	DialectIndex uint16 // index into the request's dialect list; 0xFFFF: none accepted
	SecurityMode uint8  // SecurityUserLevel1, SecurityEncryptPasswords1, SecuritySignaturesEnabled1, SecuritySignaturesRequired1
	Capabilities uint32 // CapExtendedSecurity1 selects the extended form
	Challenge    [8]byte
	HasChallenge bool   // Challenge holds the 8-byte LM/NTLM challenge (non-extended form)
	DomainName   string // non-extended form
	ServerName   string // non-extended form [MS-SMB 2.2.4.5.2.2]
	ServerGUID   [16]byte
	SecurityBlob []byte // extended form: GSS/SPNEGO token, sub-slice of msg
}

// ParseNegotiateResponse1 decodes an SMB1 NEGOTIATE response: the NT LM
// 0.12 form (WordCount 17) non-extended [MS-CIFS 2.2.4.52.2, MS-SMB
// 2.2.4.5.2.2] or extended [MS-SMB 2.2.4.5.2.1], the LANMAN 2.1 form
// (WordCount 13, MS-CIFS 2.2.4.52.2 older dialects) and the bare
// DialectIndex form (WordCount 1).
func ParseNegotiateResponse1(msg []byte) (NegotiateResponse1, error) {
	var r NegotiateResponse1
	const where = "smb1 negotiate response"
	h, b, err := command1(msg, Cmd1Negotiate, true, where)
	if err != nil {
		return r, err
	}
	if isErrorResponse1(&h, &b) {
		return r, nil
	}
	t := smb1Text{msg: msg, pos: b.dataOff, end: b.dataEnd, unicode: h.Unicode()}
	w := b.words
	switch len(w) {
	case 2:
		r.DialectIndex = le16(w, 0)
	case 34:
		// NT LM 0.12: DialectIndex(2) SecurityMode(1) MaxMpxCount(2)
		// MaxNumberVcs(2) MaxBufferSize(4) MaxRawSize(4) SessionKey(4)
		// Capabilities(4) SystemTime(8) ServerTimeZone(2) ChallengeLength(1)
		r.DialectIndex = le16(w, 0)
		r.SecurityMode = w[2]
		r.Capabilities = le32(w, 19)
		data := msg[b.dataOff:b.dataEnd]
		if r.Capabilities&CapExtendedSecurity1 != 0 {
			// MS-SMB 2.2.4.5.2.1: ServerGUID(16) SecurityBlob(rest)
			if len(data) < 16 {
				return r, errAt(where+" ServerGUID", ErrTruncated)
			}
			copy(r.ServerGUID[:], data)
			r.SecurityBlob = clip(msg, b.dataOff+16, b.dataEnd)
			return r, nil
		}
		// Challenge(ChallengeLength) DomainName ServerName; the strings
		// follow the challenge unaligned.
		if err := r.challenge(&t, int(w[33]), where); err != nil {
			return r, err
		}
		r.DomainName = t.nextUnaligned()
		r.ServerName = t.nextUnaligned()
	case 26:
		// LANMAN 2.1: DialectIndex(2) SecurityMode(2) MaxBufferSize(2)
		// MaxMpxCount(2) MaxNumberVcs(2) RawMode(2) SessionKey(4)
		// ServerTime(2) ServerDate(2) ServerTimeZone(2)
		// EncryptionKeyLength(2) Reserved(2); Bytes: EncryptionKey PrimaryDomain
		r.DialectIndex = le16(w, 0)
		r.SecurityMode = w[2]
		if err := r.challenge(&t, int(le16(w, 22)), where); err != nil {
			return r, err
		}
		r.DomainName = t.nextUnaligned()
	default:
		return r, errAt(where+" WordCount", ErrMalformed)
	}
	return r, nil
}

// challenge consumes the n-byte challenge at the start of the data block.
func (r *NegotiateResponse1) challenge(t *smb1Text, n int, where string) error {
	if n > t.end-t.pos {
		return errAt(where+" challenge", ErrTruncated)
	}
	if n == 8 {
		copy(r.Challenge[:], t.msg[t.pos:])
		r.HasChallenge = true
	}
	t.pos += n
	return nil
}

// SessionSetupRequest1 is an SMB1 SESSION_SETUP_ANDX request.
type SessionSetupRequest1 struct {
	Extended      bool   // WordCount 12: SecurityBlob instead of passwords and names
	SecurityBlob  []byte // extended: GSS/SPNEGO or raw NTLMSSP token, sub-slice of msg
	LMResponse    []byte // OEMPassword (NT LM 0.12) or Password (LANMAN): LM response or plaintext
	NTResponse    []byte // UnicodePassword (NT LM 0.12): NTLM response or plaintext
	Account       string
	PrimaryDomain string
	NativeOS      string
	NativeLanMan  string
	Capabilities  uint32 // WordCount 12 and 13 only
	AndXCommand   uint8  // next chained command, Cmd1NoAndX if none
	AndXOffset    uint16 // its WordCount offset from the SMB header start
}

// ParseSessionSetupRequest1 decodes an SMB1 SESSION_SETUP_ANDX request:
// WordCount 12 (extended security, MS-SMB 2.2.4.6.1), 13 (NT LM 0.12,
// MS-CIFS 2.2.4.53.1) or 10 (pre-NT LANMAN, MS-CIFS 2.2.4.53.1 older form,
// only an OEM password). Unicode strings are 2-byte aligned relative to the
// SMB header start.
func ParseSessionSetupRequest1(msg []byte) (SessionSetupRequest1, error) {
	var r SessionSetupRequest1
	const where = "smb1 session setup request"
	h, b, err := command1(msg, Cmd1SessionSetupAndX, false, where)
	if err != nil {
		return r, err
	}
	w := b.words
	if len(w) != 20 && len(w) != 24 && len(w) != 26 {
		return r, errAt(where+" WordCount", ErrMalformed)
	}
	// All forms start: AndXCommand(1) AndXReserved(1) AndXOffset(2)
	// MaxBufferSize(2) MaxMpxCount(2) VcNumber(2) SessionKey(4)
	r.AndXCommand = w[0]
	r.AndXOffset = le16(w, 2)
	t := smb1Text{msg: msg, pos: b.dataOff, end: b.dataEnd, unicode: h.Unicode()}
	// take returns the next n data bytes.
	take := func(n int, field string) ([]byte, error) {
		if n > t.end-t.pos {
			return nil, errAt(where+" "+field, ErrTruncated)
		}
		p := clip(msg, t.pos, t.pos+n)
		t.pos += n
		return p, nil
	}
	switch len(w) {
	case 24:
		// MS-SMB 2.2.4.6.1: ... SecurityBlobLength(2) Reserved(4)
		// Capabilities(4); Bytes: SecurityBlob Pad NativeOS NativeLanMan
		r.Extended = true
		r.Capabilities = le32(w, 20)
		if r.SecurityBlob, err = take(int(le16(w, 14)), "SecurityBlob"); err != nil {
			return r, err
		}
		r.NativeOS = t.next()
		r.NativeLanMan = t.next()
		return r, nil
	case 26:
		// MS-CIFS 2.2.4.53.1 NT LM 0.12: ... OEMPasswordLen(2)
		// UnicodePasswordLen(2) Reserved(4) Capabilities(4); Bytes:
		// OEMPassword UnicodePassword Pad AccountName PrimaryDomain NativeOS NativeLanMan
		r.Capabilities = le32(w, 22)
		if r.LMResponse, err = take(int(le16(w, 14)), "OEMPassword"); err != nil {
			return r, err
		}
		if r.NTResponse, err = take(int(le16(w, 16)), "UnicodePassword"); err != nil {
			return r, err
		}
	case 20:
		// MS-CIFS 2.2.4.53.1 LANMAN: ... PasswordLen(2) Reserved(4); Bytes:
		// Password AccountName PrimaryDomain NativeOS NativeLanMan
		if r.LMResponse, err = take(int(le16(w, 14)), "Password"); err != nil {
			return r, err
		}
	}
	r.Account = t.next()
	r.PrimaryDomain = t.next()
	r.NativeOS = t.next()
	r.NativeLanMan = t.next()
	return r, nil
}

// SessionSetupResponse1 is an SMB1 SESSION_SETUP_ANDX response.
type SessionSetupResponse1 struct {
	Action       uint16 // ActionGuest1: logged on as guest
	SecurityBlob []byte // extended form: next GSS/SPNEGO token, sub-slice of msg
	AndXCommand  uint8
	AndXOffset   uint16
}

// ParseSessionSetupResponse1 decodes an SMB1 SESSION_SETUP_ANDX response:
// WordCount 3 [MS-CIFS 2.2.4.53.2] or 4 (extended, MS-SMB 2.2.4.6.2). Error
// responses (WordCount 0) yield the zero value with AndXCommand Cmd1NoAndX.
func ParseSessionSetupResponse1(msg []byte) (SessionSetupResponse1, error) {
	r := SessionSetupResponse1{AndXCommand: Cmd1NoAndX}
	const where = "smb1 session setup response"
	h, b, err := command1(msg, Cmd1SessionSetupAndX, true, where)
	if err != nil {
		return r, err
	}
	if isErrorResponse1(&h, &b) {
		return r, nil
	}
	w := b.words
	// AndXCommand(1) AndXReserved(1) AndXOffset(2) Action(2) [SecurityBlobLength(2)]
	switch len(w) {
	case 6:
	case 8:
		n := int(le16(w, 6))
		if n > b.dataEnd-b.dataOff {
			return r, errAt(where+" SecurityBlob", ErrTruncated)
		}
		r.SecurityBlob = clip(msg, b.dataOff, b.dataOff+n)
	default:
		return r, errAt(where+" WordCount", ErrMalformed)
	}
	r.AndXCommand = w[0]
	r.AndXOffset = le16(w, 2)
	r.Action = le16(w, 4)
	return r, nil
}

// ParseTreeConnectAndXRequest1 returns the share path (e.g.
// `\\127.0.0.20\IPC$`) of the TREE_CONNECT_ANDX request [MS-CIFS 2.2.4.55.1]
// whose WordCount byte is at msg[off]: Header1Len when it is the first
// command, its AndX offset when chained (see AndXCommands). The Unicode
// flag comes from the header.
func ParseTreeConnectAndXRequest1(msg []byte, off int) (path string, err error) {
	const where = "smb1 tree connect andx request"
	h, err := ParseHeader1(msg)
	if err != nil {
		return "", err
	}
	if h.IsResponse() {
		return "", errAt(where, ErrWrongMessage)
	}
	b, err := parseBlock1(msg, off, where)
	if err != nil {
		return "", err
	}
	// WordCount 4: AndXCommand(1) AndXReserved(1) AndXOffset(2) Flags(2)
	// PasswordLength(2); Bytes: Password Pad Path Service
	if len(b.words) != 8 {
		return "", errAt(where+" WordCount", ErrMalformed)
	}
	pw := int(le16(b.words, 6))
	if pw > b.dataEnd-b.dataOff {
		return "", errAt(where+" Password", ErrTruncated)
	}
	t := smb1Text{msg: msg, pos: b.dataOff + pw, end: b.dataEnd, unicode: h.Unicode()}
	return t.next(), nil
}

// AndX is one command of an SMB1 AndX chain [MS-CIFS 2.2.3.4].
type AndX struct {
	Command uint8
	Offset  int // offset of its WordCount byte from the start of msg
}

// maxAndX bounds the chain; real clients chain two or three commands.
const maxAndX = 8

// isAndX reports commands whose parameter block starts with the AndX
// header [MS-CIFS 2.2.3.4].
func isAndX(cmd uint8) bool {
	switch cmd {
	case Cmd1LockingAndX, Cmd1OpenAndX, Cmd1ReadAndX, Cmd1WriteAndX,
		Cmd1SessionSetupAndX, Cmd1LogoffAndX, Cmd1TreeConnectAndX, Cmd1NTCreateAndX:
		return true
	}
	return false
}

// AndXCommands lists the commands of msg's AndX chain, starting with the
// header's command at Header1Len; the first n entries are valid. Offsets
// must increase and stay inside msg, and the chain holds at most 8
// commands. On error the entries before the fault are still returned.
func AndXCommands(msg []byte) (cmds [8]AndX, n int, err error) {
	const where = "smb1 andx chain"
	h, err := ParseHeader1(msg)
	if err != nil {
		return cmds, 0, err
	}
	cmd, off := h.Command, Header1Len
	for {
		if off >= len(msg) {
			return cmds, n, errAt(where, ErrTruncated)
		}
		if n == maxAndX {
			return cmds, n, errAt(where+" too long", ErrMalformed)
		}
		cmds[n] = AndX{Command: cmd, Offset: off}
		n++
		// An AndX block is AndXCommand(1) AndXReserved(1) AndXOffset(2);
		// error responses have WordCount 0 and end the chain.
		if !isAndX(cmd) || msg[off] < 2 {
			return cmds, n, nil
		}
		if off+5 > len(msg) {
			return cmds, n, errAt(where, ErrTruncated)
		}
		next, nextOff := msg[off+1], int(le16(msg, off+3))
		if next == Cmd1NoAndX {
			return cmds, n, nil
		}
		if nextOff <= off {
			return cmds, n, errAt(where+" AndXOffset", ErrMalformed)
		}
		cmd, off = next, nextOff
	}
}

// NeedsBody1 reports whether the handler must buffer the whole message of
// SMB1 command cmd; for all others the header is enough.
func NeedsBody1(cmd uint8) bool {
	switch cmd {
	case Cmd1Negotiate, Cmd1SessionSetupAndX, Cmd1LogoffAndX, Cmd1TreeConnectAndX:
		return true
	}
	return false
}
