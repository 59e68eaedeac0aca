// Package dcerpc parses connection-oriented DCE/RPC PDUs [C706 12.6,
// MS-RPCE 2.2.2] far enough to see authentication: the common header, the
// sec_trailer and auth verifier (NTLMSSP, SPNEGO, Kerberos tokens), the
// bind / alter_context that names the interface, the bind_ack, bind_nak and
// fault that carry the outcome.
//
// Parsers take one whole PDU (FragLength bytes from its first byte), as
// ncacn_ip_tcp or an SMB named pipe delivers it, and its parsed Header. They
// return sub-slices of it and allocate nothing, except BindAck's
// SecondaryAddr string.
package dcerpc

import (
	"encoding/binary"
	"errors"
)

var (
	// ErrTruncated: the PDU is shorter than its header or frag_length says.
	ErrTruncated = errors.New("dcerpc: truncated")
	// ErrMalformed: a version, length or count that cannot be right.
	ErrMalformed = errors.New("dcerpc: malformed")
	// ErrWrongType: the PDU is not of the type the parser reads.
	ErrWrongType = errors.New("dcerpc: wrong packet type")
)

// CommonHeaderLen is the size of the connection-oriented common header.
const CommonHeaderLen = 16

// secTrailerLen is the size of sec_trailer [MS-RPCE 2.2.2.11].
const secTrailerLen = 8

// PacketType is PTYPE [C706 12.6.4]; only connection-oriented types are named.
type PacketType uint8

// Connection-oriented packet types [C706 12.6.4, MS-RPCE 2.2.2.1]. The Type
// prefix keeps Bind and BindAck free for the body structs.
const (
	TypeRequest          PacketType = 0
	TypeResponse         PacketType = 2
	TypeFault            PacketType = 3
	TypeBind             PacketType = 11
	TypeBindAck          PacketType = 12
	TypeBindNak          PacketType = 13
	TypeAlterContext     PacketType = 14
	TypeAlterContextResp PacketType = 15
	TypeAuth3            PacketType = 16
	TypeShutdown         PacketType = 17
	TypeCoCancel         PacketType = 18
	TypeOrphaned         PacketType = 19
)

// String returns the C706 name ("bind", "bind_ack", ...), or "" for a
// type that is not connection-oriented.
func (t PacketType) String() string {
	switch t {
	case TypeRequest:
		return "request"
	case TypeResponse:
		return "response"
	case TypeFault:
		return "fault"
	case TypeBind:
		return "bind"
	case TypeBindAck:
		return "bind_ack"
	case TypeBindNak:
		return "bind_nak"
	case TypeAlterContext:
		return "alter_context"
	case TypeAlterContextResp:
		return "alter_context_resp"
	case TypeAuth3:
		return "auth3"
	case TypeShutdown:
		return "shutdown"
	case TypeCoCancel:
		return "co_cancel"
	case TypeOrphaned:
		return "orphaned"
	}
	return ""
}

// pfc_flags [C706 12.6.3.1, MS-RPCE 2.2.2.3].
const (
	FlagFirstFrag  = 0x01
	FlagLastFrag   = 0x02
	FlagHeaderSign = 0x04 // PFC_SUPPORT_HEADER_SIGN on bind/alter_context, else PFC_PENDING_CANCEL
	FlagConcMpx    = 0x10
	FlagDidNotExec = 0x20
	FlagMaybe      = 0x40
	FlagObjectUUID = 0x80
)

// Header is the connection-oriented common header.
type Header struct {
	Version, VersionMinor uint8
	Type                  PacketType
	Flags                 uint8
	DataRep               [4]byte
	FragLength            uint16
	AuthLength            uint16
	CallID                uint32
	// LittleEndian is the integer representation of DataRep (0x10 set):
	// every multi-byte field of the PDU follows it.
	LittleEndian bool
}

// C706 12.6.3.1 common header (all co PDUs):
//
//	0 rpc_vers(1)=5 1 rpc_vers_minor(1)=0|1 2 PTYPE(1) 3 pfc_flags(1)
//	4 packed_drep(4) 8 frag_length(2) 10 auth_length(2) 12 call_id(4)
//
// packed_drep [C706 14.1]: byte 0 high nibble integer rep (0 big, 1 little
// endian), low nibble character rep (0 ASCII, 1 EBCDIC); byte 1 float rep.

// ParseHeader parses the common header at the start of b. The version must
// be 5.0 or 5.1; both byte orders are read. FragLength is checked to cover
// the header and, when AuthLength is set, the sec_trailer and auth value.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < CommonHeaderLen {
		return Header{}, ErrTruncated
	}
	if b[0] != 5 || b[1] > 1 || b[4]>>4 > 1 {
		return Header{}, ErrMalformed
	}
	h := Header{
		Version:      b[0],
		VersionMinor: b[1],
		Type:         PacketType(b[2]),
		Flags:        b[3],
		DataRep:      [4]byte(b[4:8]),
		LittleEndian: b[4]&0x10 != 0,
	}
	h.FragLength = h.u16(b[8:])
	h.AuthLength = h.u16(b[10:])
	h.CallID = h.u32(b[12:])
	if h.FragLength < CommonHeaderLen {
		return Header{}, ErrMalformed
	}
	if h.AuthLength > 0 && int(h.AuthLength)+secTrailerLen+CommonHeaderLen > int(h.FragLength) {
		return Header{}, ErrMalformed
	}
	return h, nil
}

func (h Header) u16(b []byte) uint16 {
	if h.LittleEndian {
		return binary.LittleEndian.Uint16(b)
	}
	return binary.BigEndian.Uint16(b)
}

func (h Header) u32(b []byte) uint32 {
	if h.LittleEndian {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

// body returns the PDU up to the sec_trailer (or frag_length when there is
// no auth), checking pdu holds the whole fragment.
func (h Header) body(pdu []byte) ([]byte, error) {
	if len(pdu) < int(h.FragLength) {
		return nil, ErrTruncated
	}
	end := int(h.FragLength)
	if h.AuthLength > 0 {
		end -= int(h.AuthLength) + secTrailerLen
	}
	if end < CommonHeaderLen {
		return nil, ErrMalformed
	}
	return pdu[:end:end], nil
}

// LooksLikePDU is a cheap content check for the first bytes of a stream:
// version 5.0/5.1, a connection-oriented packet type, a sane data
// representation and a frag_length that covers the header and auth value.
// It needs the 16 header bytes; fewer give false.
func LooksLikePDU(b []byte) bool {
	if len(b) < CommonHeaderLen {
		return false
	}
	if PacketType(b[2]).String() == "" {
		return false
	}
	// Integer rep 0/1, character rep 0/1, float rep IEEE/VAX/Cray/IBM (0..3).
	if b[4]&0xEE != 0 || b[5] > 3 {
		return false
	}
	_, err := ParseHeader(b)
	return err == nil
}

// AuthVerifier is the sec_trailer and the auth value after it.
type AuthVerifier struct {
	// Type is auth_type: 9 SPNEGO, 10 NTLMSSP (WINNT), 16 Kerberos,
	// 68 Netlogon secure channel, ... (AuthTypeName).
	Type uint8
	// Level is auth_level: 1 none .. 6 privacy (AuthLevelName).
	Level     uint8
	PadLength uint8
	ContextID uint32
	// Value is the security token (NTLMSSP message, SPNEGO or Kerberos
	// token, or a signature), a capped sub-slice of the PDU.
	Value []byte
}

// MS-RPCE 2.2.2.11 sec_trailer, at frag_length - auth_length - 8:
//
//	0 auth_type(1) 1 auth_level(1) 2 auth_pad_length(1)
//	3 auth_reserved(1) 4 auth_context_id(4) 8 auth_value(auth_length)

// ParseAuthVerifier returns the PDU's sec_trailer and auth value; ok is
// false (and err nil) when the PDU has no auth (AuthLength 0).
func ParseAuthVerifier(pdu []byte, h Header) (AuthVerifier, bool, error) {
	if h.AuthLength == 0 {
		return AuthVerifier{}, false, nil
	}
	if len(pdu) < int(h.FragLength) {
		return AuthVerifier{}, false, ErrTruncated
	}
	end := int(h.FragLength)
	start := end - int(h.AuthLength)
	trailer := start - secTrailerLen
	if trailer < CommonHeaderLen {
		return AuthVerifier{}, false, ErrMalformed
	}
	t := pdu[trailer:start]
	return AuthVerifier{
		Type:      t[0],
		Level:     t[1],
		PadLength: t[2],
		ContextID: h.u32(t[4:]),
		Value:     pdu[start:end:end],
	}, true, nil
}

// AuthTypeName names an auth_type [MS-RPCE 2.2.1.1.7, C706 13.1]
// ("ntlmssp", "spnego", "kerberos", ...), or "" when unknown.
func AuthTypeName(t uint8) string {
	switch t {
	case 0:
		return "none"
	case 1:
		return "dce_private" // DCE Kerberos 5
	case 2:
		return "dce_public"
	case 4:
		return "dec_public"
	case 9:
		return "spnego"
	case 10:
		return "ntlmssp"
	case 14:
		return "schannel"
	case 16:
		return "kerberos"
	case 17:
		return "dpa"
	case 18:
		return "msn"
	case 20:
		return "kernel"
	case 21:
		return "digest"
	case 30:
		return "nego_extender"
	case 31:
		return "pku2u"
	case 68:
		return "netlogon"
	case 100:
		return "mq"
	case 255:
		return "default"
	}
	return ""
}

// AuthLevelName names an auth_level [MS-RPCE 2.2.1.1.8], or "" when unknown.
func AuthLevelName(l uint8) string {
	switch l {
	case 0:
		return "default"
	case 1:
		return "none"
	case 2:
		return "connect"
	case 3:
		return "call"
	case 4:
		return "packet"
	case 5:
		return "integrity"
	case 6:
		return "privacy"
	}
	return ""
}

// Bind is the body of a bind or alter_context: its first presentation
// context names the interface.
type Bind struct {
	MaxXmit, MaxRecv uint16
	AssocGroup       uint32
	NumContexts      int
	// FirstInterface is the first context's abstract syntax UUID in RFC 4122
	// byte order, whatever the PDU's byte order (UUIDString prints it).
	FirstInterface        [16]byte
	FirstInterfaceVersion uint16 // major
	FirstInterfaceMinor   uint16
}

// C706 12.6.4.3 bind / 12.6.4.1 alter_context, after the common header:
//
//	16 max_xmit_frag(2) 18 max_recv_frag(2) 20 assoc_group_id(4)
//	24 p_context_elem: n_context_elem(1) reserved(1) reserved2(2)
//	28 p_cont_elem_t[n]: p_cont_id(2) n_transfer_syn(1) reserved(1)
//	   abstract_syntax: if_uuid(16) if_version(4: major(2) minor(2))
//	   transfer_syntaxes[n_transfer_syn]: 20 bytes each
const (
	ctxElemHeader = 4
	syntaxLen     = 20
)

// ParseBind parses a bind or alter_context PDU.
func ParseBind(pdu []byte, h Header) (Bind, error) {
	if h.Type != TypeBind && h.Type != TypeAlterContext {
		return Bind{}, ErrWrongType
	}
	body, err := h.body(pdu)
	if err != nil {
		return Bind{}, err
	}
	if len(body) < 28 {
		return Bind{}, ErrTruncated
	}
	b := Bind{
		MaxXmit:     h.u16(body[16:]),
		MaxRecv:     h.u16(body[18:]),
		AssocGroup:  h.u32(body[20:]),
		NumContexts: int(body[24]),
	}
	// Walk every context so a lying n_context_elem is caught.
	off := 28
	for i := 0; i < b.NumContexts; i++ {
		if off+ctxElemHeader+syntaxLen > len(body) {
			return Bind{}, ErrTruncated
		}
		if i == 0 {
			as := body[off+ctxElemHeader:]
			b.FirstInterface = h.uuid(as)
			b.FirstInterfaceVersion = h.u16(as[16:])
			b.FirstInterfaceMinor = h.u16(as[18:])
		}
		off += ctxElemHeader + syntaxLen + int(body[off+2])*syntaxLen
	}
	if off > len(body) {
		return Bind{}, ErrTruncated
	}
	return b, nil
}

// uuid converts an NDR uuid_t (time_low, time_mid, time_hi_and_version in
// the PDU's byte order, then 8 bytes) to RFC 4122 byte order.
func (h Header) uuid(b []byte) [16]byte {
	u := [16]byte(b[:16])
	if h.LittleEndian {
		u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
		u[4], u[5] = u[5], u[4]
		u[6], u[7] = u[7], u[6]
	}
	return u
}

// BindAck is the body of a bind_ack or alter_context_resp.
type BindAck struct {
	MaxXmit, MaxRecv uint16
	AssocGroup       uint32
	// SecondaryAddr is the port ("49154") or pipe ("\\PIPE\\lsass") the
	// server names; empty in alter_context_resp.
	SecondaryAddr string
	NumResults    int
	// Result and Reason are the first context's: result 0 acceptance,
	// 1 user rejection, 2 provider rejection, 3 negotiate ack [MS-RPCE 2.2.2.4].
	Result, Reason uint16
}

// C706 12.6.4.4 bind_ack / 12.6.4.2 alter_context_resp, after the header:
//
//	16 max_xmit_frag(2) 18 max_recv_frag(2) 20 assoc_group_id(4)
//	24 sec_addr: length(2) port_spec(length, NUL-terminated)
//	   pad to a 4-byte boundary (from the PDU start)
//	   p_result_list: n_results(1) reserved(1) reserved2(2)
//	   p_result_t[n]: result(2) reason(2) transfer_syntax(20)

// ParseBindAck parses a bind_ack or alter_context_resp PDU.
func ParseBindAck(pdu []byte, h Header) (BindAck, error) {
	if h.Type != TypeBindAck && h.Type != TypeAlterContextResp {
		return BindAck{}, ErrWrongType
	}
	body, err := h.body(pdu)
	if err != nil {
		return BindAck{}, err
	}
	if len(body) < 26 {
		return BindAck{}, ErrTruncated
	}
	a := BindAck{
		MaxXmit:    h.u16(body[16:]),
		MaxRecv:    h.u16(body[18:]),
		AssocGroup: h.u32(body[20:]),
	}
	n := int(h.u16(body[24:]))
	off := 26 + n
	if off > len(body) {
		return BindAck{}, ErrTruncated
	}
	addr := body[26:off]
	for len(addr) > 0 && addr[len(addr)-1] == 0 {
		addr = addr[:len(addr)-1]
	}
	off = (off + 3) &^ 3
	if off+4 > len(body) {
		return BindAck{}, ErrTruncated
	}
	a.NumResults = int(body[off])
	if a.NumResults > 0 {
		if off+4+4 > len(body) {
			return BindAck{}, ErrTruncated
		}
		a.Result = h.u16(body[off+4:])
		a.Reason = h.u16(body[off+6:])
	}
	if len(addr) > 0 {
		a.SecondaryAddr = string(addr)
	}
	return a, nil
}

// ParseBindNak returns a bind_nak's provider_reject_reason [C706 12.6.4.5,
// MS-RPCE 2.2.2.5]: 4 protocol version not supported, 8 authentication type
// not recognized, 9 invalid checksum, ...
func ParseBindNak(pdu []byte, h Header) (reason uint16, err error) {
	if h.Type != TypeBindNak {
		return 0, ErrWrongType
	}
	body, err := h.body(pdu)
	if err != nil {
		return 0, err
	}
	// 16 provider_reject_reason(2) 18 p_rt_versions_supported_t
	if len(body) < 18 {
		return 0, ErrTruncated
	}
	return h.u16(body[16:]), nil
}

// BindNakReasonName names a bind_nak provider_reject_reason [C706
// 12.6.3.1 p_reject_reason_t, MS-RPCE 2.2.2.5], or "" when unknown.
func BindNakReasonName(reason uint16) string {
	switch reason {
	case 0:
		return "reason_not_specified"
	case 1:
		return "temporary_congestion"
	case 2:
		return "local_limit_exceeded"
	case 3:
		return "called_paddr_unknown"
	case 4:
		return "protocol_version_not_supported"
	case 5:
		return "default_context_not_supported"
	case 6:
		return "user_data_not_readable"
	case 7:
		return "no_psap_available"
	case 8:
		return "authentication_type_not_recognized"
	case 9:
		return "invalid_checksum"
	}
	return ""
}

// C706 12.6.4.7 fault, after the common header:
//
//	16 alloc_hint(4) 20 p_cont_id(2) 22 cancel_count(1) 23 reserved(1)
//	24 status(4) 28 reserved2(4)

// ParseFault returns a fault PDU's status: an nca_s_* code [C706 appendix
// E, MS-RPCE 3.1.1.5.5] or a Win32/HRESULT error (FaultStatusName).
func ParseFault(pdu []byte, h Header) (status uint32, err error) {
	if h.Type != TypeFault {
		return 0, ErrWrongType
	}
	body, err := h.body(pdu)
	if err != nil {
		return 0, err
	}
	if len(body) < 28 {
		return 0, ErrTruncated
	}
	return h.u32(body[24:]), nil
}

// FaultStatusName names the fault statuses that tell about authentication
// or a rejected call (names as Wireshark prints them), or "" otherwise.
func FaultStatusName(status uint32) string {
	switch status {
	case 0x00000005:
		return "nca_s_fault_access_denied"
	case 0x000006d8:
		return "nca_s_fault_cant_perform"
	case 0x000006f7:
		return "nca_s_fault_ndr"
	case 0x00000721:
		return "nca_s_fault_sec_pkg_error"
	case 0x1c00001c:
		return "nca_invalid_pres_context_id"
	case 0x1c00001d:
		return "nca_unsupported_authn_level"
	case 0x1c00001f:
		return "nca_invalid_checksum"
	case 0x1c010002:
		return "nca_op_rng_error"
	case 0x1c010003:
		return "nca_unk_if"
	case 0x1c01000b:
		return "nca_proto_error"
	case 0x1c010014:
		return "nca_server_too_busy"
	}
	return ""
}
