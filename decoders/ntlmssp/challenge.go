package ntlmssp

import "encoding/binary"

// Challenge is a CHALLENGE_MESSAGE [MS-NLMP 2.2.1.2], server to client.
type Challenge struct {
	Flags Flags
	// TargetName is the server's domain or computer name (FlagTargetType*).
	TargetName      string
	ServerChallenge [8]byte
	// TargetInfo holds the server's names and time. HasTargetInfo is set when
	// the message declares a non-empty TargetInfo buffer, even if it holds no
	// pairs.
	TargetInfo    AVPairs
	HasTargetInfo bool
	Version       Version
	HasVersion    bool
}

// MS-NLMP 2.2.1.2 CHALLENGE_MESSAGE:
//
//	0 Signature(8) 8 MessageType(4) 12 TargetNameFields(8) 20 NegotiateFlags(4)
//	24 ServerChallenge(8) 32 Reserved(8) 40 TargetInfoFields(8) 48 Version(8) 56 Payload
//
// NT4-era servers stop after ServerChallenge (32) or Reserved (40).
const (
	chTargetName = 12
	chFlags      = 20
	chChallenge  = 24
	chTargetInfo = 40
	chVersion    = 48
	chMin        = 32
)

// ParseChallenge decodes a CHALLENGE_MESSAGE. Bytes after the payload are ignored.
//
// A TargetInfo buffer that runs past the end of the message is clamped to it
// rather than rejected: servers have been seen declaring the MsvAvEOL they
// did not send (Zeek's ntlm-unterminated-av-sequence and
// ntlm-empty-av-sequence traces). Its offset must still lie in the message.
// On error the result still holds what was decoded before it: Flags and
// ServerChallenge once the fixed fields are there, and for a broken pair
// list also TargetName and the pairs before the bad one (a sensor can still
// report the server).
func ParseChallenge(b []byte) (Challenge, error) {
	var m Challenge
	if err := checkHeader(b, ChallengeType, chMin); err != nil {
		return m, err
	}
	m.Flags = Flags(binary.LittleEndian.Uint32(b[chFlags:]))
	copy(m.ServerChallenge[:], b[chChallenge:chChallenge+8])

	tn := readSecBuf(b, chTargetName)
	var ti secBuf
	fixedMin := chMin
	if dataStart(b, tn) >= chTargetInfo+8 {
		ti, fixedMin = readSecBuf(b, chTargetInfo), chTargetInfo+8
	}
	// The fixed part ends at the first payload byte, at most at VERSION's end.
	fixedEnd := min(dataStart(b, tn, ti), chVersion+8)
	if fixedEnd < fixedMin {
		return m, wrap(ErrMalformed, "payload overlaps fixed fields")
	}
	tnB, err := tn.bytesIn(b, fixedEnd, "TargetName")
	if err != nil {
		return m, err
	}
	var tiB []byte
	if ti.len != 0 {
		if ti.off < uint32(fixedEnd) || ti.off > uint32(len(b)) {
			return m, wrap(ErrMalformed, "TargetInfo offset")
		}
		end := min(uint64(ti.off)+uint64(ti.len), uint64(len(b)))
		tiB, m.HasTargetInfo = b[ti.off:end:end], true
	}
	if m.Flags&FlagVersion != 0 && fixedEnd >= chVersion+8 {
		m.Version, m.HasVersion = parseVersion(b[chVersion:]), true
	}

	var stack [256]byte
	// TargetName is OEM or Unicode per the flags [MS-NLMP 2.2.1.2].
	text, tnSpan := addText(stack[:0], tnB, m.Flags&FlagUnicode != 0)
	var names avNames
	text, avErr := parseAVPairs(tiB, text, &m.TargetInfo, &names)
	all := string(text)
	m.TargetName = tnSpan.of(all)
	m.TargetInfo.setNames(all, &names)
	if avErr != nil {
		return m, avErr
	}
	return m, nil
}
