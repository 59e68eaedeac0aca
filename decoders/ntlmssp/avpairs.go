package ntlmssp

import "encoding/binary"

// AVPairs is an AV_PAIR list [MS-NLMP 2.2.2.1]: the CHALLENGE's TargetInfo,
// or the AV pairs of the NTLMv2 client blob in an AUTHENTICATE. Only the
// pairs a sensor reports are kept; unknown AvIds are skipped.
type AVPairs struct {
	NbComputer, NbDomain, DNSComputer, DNSDomain, DNSTree string
	// TargetName is MsvAvTargetName: the SPN the client used (client blob only).
	TargetName string
	// Timestamp is MsvAvTimestamp, a FILETIME (100 ns ticks since 1601-01-01 UTC).
	Timestamp    uint64
	HasTimestamp bool
	// Flags is MsvAvFlags (0x1 account constrained, 0x2 MIC present, 0x4 SPN untrusted).
	Flags    uint32
	HasFlags bool
	// ChannelBindings is MsvAvChannelBindings, the MD5 of gss_channel_bindings_struct
	// (all zero when the client has none to offer).
	ChannelBindings    [16]byte
	HasChannelBindings bool
	// SingleHost is set when MsvAvSingleHost (Single_Host_Data, 2.2.2.2) is present.
	SingleHost bool
}

// MsvAvFlags bits [MS-NLMP 2.2.2.1].
const (
	AvFlagAccountConstrained uint32 = 0x1
	AvFlagMIC                uint32 = 0x2
	AvFlagSPNUntrusted       uint32 = 0x4
)

// AvId values [MS-NLMP 2.2.2.1].
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avDNSTreeName     = 5
	avFlags           = 6
	avTimestamp       = 7
	avSingleHost      = 8
	avTargetName      = 9
	avChannelBindings = 10
)

// avNames holds the spans of the text pairs, indexed by AvId-1 for ids 1-5 and
// slot 5 for MsvAvTargetName.
type avNames [6]span

// parseAVPairs fills av from b, appending the (always UTF-16LE) names to text.
// The list ends at MsvAvEOL or, tolerated, at the end of b (Zeek's
// ntlm-unterminated/empty-av-sequence traces). A pair header or value that
// does not fit is ErrTruncated; pairs before it are kept. A fixed-size pair
// of the wrong size is ErrMalformed. If an id repeats, the last one wins.
func parseAVPairs(b, text []byte, av *AVPairs, names *avNames) ([]byte, error) {
	for len(b) > 0 {
		// MS-NLMP 2.2.2.1 AV_PAIR: AvId(2) AvLen(2) Value(AvLen)
		if len(b) < 4 {
			return text, wrap(ErrTruncated, "AV_PAIR header")
		}
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return text, nil
		}
		if len(b)-4 < n {
			return text, wrap(ErrTruncated, "AV_PAIR value")
		}
		v := b[4 : 4+n]
		b = b[4+n:]
		switch id {
		case avNbComputerName, avNbDomainName, avDNSComputerName, avDNSDomainName, avDNSTreeName:
			text, names[id-1] = addText(text, v, true)
		case avTargetName:
			text, names[5] = addText(text, v, true)
		case avFlags:
			if n != 4 {
				return text, wrap(ErrMalformed, "MsvAvFlags length")
			}
			av.Flags, av.HasFlags = binary.LittleEndian.Uint32(v), true
		case avTimestamp:
			if n != 8 {
				return text, wrap(ErrMalformed, "MsvAvTimestamp length")
			}
			av.Timestamp, av.HasTimestamp = binary.LittleEndian.Uint64(v), true
		case avChannelBindings:
			if n != 16 {
				return text, wrap(ErrMalformed, "MsvAvChannelBindings length")
			}
			copy(av.ChannelBindings[:], v)
			av.HasChannelBindings = true
		case avSingleHost:
			av.SingleHost = true // contents (machine ID) are not reported
		}
	}
	return text, nil
}

// setNames points the text fields into all, the message's decoded text.
func (av *AVPairs) setNames(all string, names *avNames) {
	av.NbComputer = names[avNbComputerName-1].of(all)
	av.NbDomain = names[avNbDomainName-1].of(all)
	av.DNSComputer = names[avDNSComputerName-1].of(all)
	av.DNSDomain = names[avDNSDomainName-1].of(all)
	av.DNSTree = names[avDNSTreeName-1].of(all)
	av.TargetName = names[5].of(all)
}
