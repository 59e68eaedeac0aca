package ntlmssp

import (
	"bytes"
	"encoding/binary"
)

// Authenticate is an AUTHENTICATE_MESSAGE [MS-NLMP 2.2.1.3], client to server.
type Authenticate struct {
	Flags                     Flags
	Domain, User, Workstation string
	// LMResponse, NTResponse and EncryptedSessionKey alias the input slice
	// (capped sub-slices, nil when empty): copy them to keep them past the
	// input's lifetime.
	LMResponse, NTResponse, EncryptedSessionKey []byte
	Version                                     Version
	HasVersion                                  bool
	// MIC is the message integrity code. HasMIC is set exactly when the
	// NTLMv2 client blob parsed and its MsvAvFlags has AvFlagMIC (0x2), and
	// the payload starts at or after offset 88, leaving room for the MIC
	// after VERSION. Clients that reserve the 16 bytes without announcing a
	// MIC (Samba does for NTLMv1) get HasMIC false and a zero MIC.
	MIC    [16]byte
	HasMIC bool
	// ClientInfo holds the AV pairs of the NTLMv2 client blob
	// (NTLMv2_CLIENT_CHALLENGE, 2.2.2.7); ClientInfo.TargetName is the SPN
	// the client used (MsvAvTargetName). HasClientInfo is set when the NT
	// response is an NTLMv2 response (RespType=HiRespType=1) whose pair list
	// parsed; a broken list leaves ClientInfo zero but does not fail the
	// message, since the identity fields are still good.
	ClientInfo    AVPairs
	HasClientInfo bool
}

// MS-NLMP 2.2.1.3 AUTHENTICATE_MESSAGE:
//
//	0 Signature(8) 8 MessageType(4) 12 LmChallengeResponseFields(8)
//	20 NtChallengeResponseFields(8) 28 DomainNameFields(8) 36 UserNameFields(8)
//	44 WorkstationFields(8) 52 EncryptedRandomSessionKeyFields(8)
//	60 NegotiateFlags(4) 64 Version(8) 72 MIC(16) 88 Payload
//
// Win9x/NT4 clients stop after WorkstationFields (52 bytes, no flags).
const (
	auLM          = 12
	auNT          = 20
	auDomain      = 28
	auUser        = 36
	auWorkstation = 44
	auSessionKey  = 52
	auFlags       = 60
	auVersion     = 64
	auMIC         = 72
	auPayload     = 88
	auMin         = 52
)

// MS-NLMP 2.2.2.8 NTLMv2_RESPONSE: NTProofStr(16) then NTLMv2_CLIENT_CHALLENGE
// (2.2.2.7): RespType(1) HiRespType(1) Reserved1(2) Reserved2(4)
// TimeStamp(8) ChallengeFromClient(8) Reserved3(4) AvPairs.
const (
	v2RespType = 16
	v2AvPairs  = 44
)

// ParseAuthenticate decodes an AUTHENTICATE_MESSAGE. Bytes after the payload
// are ignored.
//
// Strings are UTF-16LE when the message's FlagUnicode is set, OEM (Latin-1)
// when only FlagOEM is, with corrections for inconsistent clients: an
// odd-length string is OEM; if one of domain/user/workstation has an odd
// length under FlagUnicode, or neither flag is set (including the old header
// without flags), each even-length string is UTF-16LE only if it looks like
// it (every high byte zero).
func ParseAuthenticate(b []byte) (Authenticate, error) {
	var m Authenticate
	if err := checkHeader(b, AuthenticateType, auMin); err != nil {
		return Authenticate{}, err
	}
	lm, nt := readSecBuf(b, auLM), readSecBuf(b, auNT)
	dom, user, ws := readSecBuf(b, auDomain), readSecBuf(b, auUser), readSecBuf(b, auWorkstation)
	var key secBuf
	fixedMin := auMin
	if dataStart(b, lm, nt, dom, user, ws) >= auFlags+4 {
		key, fixedMin = readSecBuf(b, auSessionKey), auFlags+4
		m.Flags = Flags(binary.LittleEndian.Uint32(b[auFlags:]))
	}
	fixedEnd := min(dataStart(b, lm, nt, dom, user, ws, key), auPayload)
	if fixedEnd < fixedMin {
		return Authenticate{}, wrap(ErrMalformed, "payload overlaps fixed fields")
	}
	var err error
	if m.LMResponse, err = lm.bytesIn(b, fixedEnd, "LmChallengeResponse"); err != nil {
		return Authenticate{}, err
	}
	if m.NTResponse, err = nt.bytesIn(b, fixedEnd, "NtChallengeResponse"); err != nil {
		return Authenticate{}, err
	}
	domB, err := dom.bytesIn(b, fixedEnd, "DomainName")
	if err != nil {
		return Authenticate{}, err
	}
	userB, err := user.bytesIn(b, fixedEnd, "UserName")
	if err != nil {
		return Authenticate{}, err
	}
	wsB, err := ws.bytesIn(b, fixedEnd, "Workstation")
	if err != nil {
		return Authenticate{}, err
	}
	if m.EncryptedSessionKey, err = key.bytesIn(b, fixedEnd, "EncryptedRandomSessionKey"); err != nil {
		return Authenticate{}, err
	}
	if m.Flags&FlagVersion != 0 && fixedEnd >= auMIC {
		m.Version, m.HasVersion = parseVersion(b[auVersion:]), true
	}

	var stack [256]byte
	anyOdd := (len(domB)|len(userB)|len(wsB))%2 == 1
	text, d := addText(stack[:0], domB, authUnicode(m.Flags, domB, anyOdd))
	text, u := addText(text, userB, authUnicode(m.Flags, userB, anyOdd))
	text, w := addText(text, wsB, authUnicode(m.Flags, wsB, anyOdd))
	var names avNames
	if ntr := m.NTResponse; len(ntr) >= v2AvPairs && ntr[v2RespType] == 1 && ntr[v2RespType+1] == 1 {
		withPairs, err := parseAVPairs(ntr[v2AvPairs:], text, &m.ClientInfo, &names)
		if err == nil {
			text, m.HasClientInfo = withPairs, true
		} else {
			m.ClientInfo, names = AVPairs{}, avNames{}
		}
	}
	all := string(text)
	m.Domain, m.User, m.Workstation = d.of(all), u.of(all), w.of(all)
	m.ClientInfo.setNames(all, &names)

	if m.HasClientInfo && m.ClientInfo.Flags&AvFlagMIC != 0 && fixedEnd >= auPayload {
		copy(m.MIC[:], b[auMIC:auPayload])
		m.HasMIC = true
	}
	return m, nil
}

// authUnicode decides per string whether an AUTHENTICATE string is UTF-16LE
// (see ParseAuthenticate).
func authUnicode(f Flags, s []byte, anyOdd bool) bool {
	switch {
	case len(s)%2 == 1:
		return false // UTF-16 has no odd lengths
	case f&FlagUnicode != 0 && !anyOdd:
		return true
	case f&FlagUnicode == 0 && f&FlagOEM != 0:
		return false
	}
	// No flag, or FlagUnicode contradicted by an odd-length sibling: judge by
	// looks (ASCII text as UTF-16LE has every high byte zero).
	for i := 1; i < len(s); i += 2 {
		if s[i] != 0 {
			return false
		}
	}
	return len(s) > 0
}

// Kind is the authentication protocol of an AUTHENTICATE [MS-NLMP 3.3],
// as written to the output.
type Kind string

// Kinds. KindUnknown is a response shape none of the others describes
// (e.g. an NT response of 1-23 bytes).
const (
	KindNTLMv2    Kind = "NTLMv2"
	KindNTLMv1ESS Kind = "NTLMv1-ESS"
	KindNTLMv1    Kind = "NTLMv1"
	KindLM        Kind = "LM"
	KindAnonymous Kind = "anonymous"
	KindUnknown   Kind = ""
)

// Kind classifies the response by its shape [MS-NLMP 3.3.1, 3.3.2, 3.2.5.1.2]:
//   - anonymous: empty user, empty NT response, LM response empty or Z(1);
//   - NTLMv2: NT response longer than 24 bytes;
//   - NTLMv1-ESS: 24-byte NT response and the LM field is an 8-byte non-zero
//     client challenge followed by 16 zero bytes;
//   - NTLMv1: any other 24-byte NT response;
//   - LM: empty NT response, 24-byte LM response, non-empty user.
//
// FlagAnonymous is not consulted: the server decides by the same shape, and
// messages with the flag have it.
func (a *Authenticate) Kind() Kind {
	switch nt := len(a.NTResponse); {
	case nt > 24:
		return KindNTLMv2
	case nt == 24:
		if essShape(a.LMResponse) {
			return KindNTLMv1ESS
		}
		return KindNTLMv1
	case nt == 0:
		lm := a.LMResponse
		if a.User == "" && (len(lm) == 0 || (len(lm) == 1 && lm[0] == 0)) {
			return KindAnonymous
		}
		if a.User != "" && len(lm) == 24 {
			return KindLM
		}
	}
	return KindUnknown
}

// essShape: LM field of NTLM2 session response [MS-NLMP 3.3.1]:
// ClientChallenge(8) || Z(16).
func essShape(lm []byte) bool {
	return len(lm) == 24 && isZero(lm[8:]) && !isZero(lm[:8])
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// RealLMResponse reports whether LMResponse is a genuine LM response
// (DES of the LM hash, crackable): for Kind LM, and for NTLMv1 when the LM
// field is 24 bytes, not all zero and not a copy of the NT response (which
// clients send when LM is disabled). ESS and the LMv2 beside NTLMv2 are
// never one.
func (a *Authenticate) RealLMResponse() bool {
	switch a.Kind() {
	case KindLM:
		return true
	case KindNTLMv1:
		lm := a.LMResponse
		return len(lm) == 24 && !isZero(lm) && !bytes.Equal(lm, a.NTResponse) && !essShape(lm)
	}
	return false
}
