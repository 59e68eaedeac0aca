package ntlmssp

import "encoding/binary"

// Negotiate is a NEGOTIATE_MESSAGE [MS-NLMP 2.2.1.1], client to server.
type Negotiate struct {
	Flags Flags
	// Domain and Workstation are what the client volunteers (often empty).
	// They are OEM strings whatever the flags say [MS-NLMP 2.2.1.1].
	Domain, Workstation string
	Version             Version
	HasVersion          bool
}

// MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE:
//
//	0 Signature(8) 8 MessageType(4) 12 NegotiateFlags(4)
//	16 DomainNameFields(8) 24 WorkstationFields(8) 32 Version(8) 40 Payload
//
// Old clients stop after the flags (16 bytes) or the two fields (32 bytes).
const (
	negFlags       = 12
	negDomain      = 16
	negWorkstation = 24
	negVersion     = 32
	negMin         = 16
)

// ParseNegotiate decodes a NEGOTIATE_MESSAGE. Bytes after the payload are ignored.
func ParseNegotiate(b []byte) (Negotiate, error) {
	var m Negotiate
	if err := checkHeader(b, NegotiateType, negMin); err != nil {
		return Negotiate{}, err
	}
	m.Flags = Flags(binary.LittleEndian.Uint32(b[negFlags:]))
	if len(b) < negVersion {
		return m, nil // 16-byte form: flags only
	}
	dom, ws := readSecBuf(b, negDomain), readSecBuf(b, negWorkstation)
	domB, err := dom.bytesIn(b, negVersion, "DomainName")
	if err != nil {
		return Negotiate{}, err
	}
	wsB, err := ws.bytesIn(b, negVersion, "Workstation")
	if err != nil {
		return Negotiate{}, err
	}
	// VERSION is there only if the flag says so and the payload leaves room.
	if m.Flags&FlagVersion != 0 && dataStart(b, dom, ws) >= negVersion+8 {
		m.Version, m.HasVersion = parseVersion(b[negVersion:]), true
	}
	if len(domB)+len(wsB) > 0 {
		var stack [64]byte
		text, d := addText(stack[:0], domB, false)
		text, w := addText(text, wsB, false)
		all := string(text)
		m.Domain, m.Workstation = d.of(all), w.of(all)
	}
	return m, nil
}
