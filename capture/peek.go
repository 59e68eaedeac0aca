package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Flow is the connection a frame belongs to, as Peek reads it.
type Flow struct {
	Src, Dst         [16]byte // IPv4 as IPv4-mapped IPv6, as netip.Addr.As16 gives it
	SrcPort, DstPort uint16
	Proto            uint8
}

// Peek reads the flow of the common frame without decoding it whole:
// Ethernet with at most one 802.1Q tag, IPv4 not fragmented or IPv6 with
// TCP or UDP right after its header, the datagram whole, and a valid TCP
// or UDP header. It is for a reader that has only to pick the goroutine
// that will decode the frame. ok is false for anything else (tunnels,
// fragments, extension headers, other link types, cut or malformed
// headers): Decode tells those. A frame Peek reads, Decode decodes to a
// TCP or UDP packet of this flow (TestPeekAgreesWithDecode and FuzzDecode
// hold them to it).
func Peek(lt layers.LinkType, b []byte) (f Flow, ok bool) {
	if lt != layers.LinkTypeEthernet || len(b) < 14 {
		return f, false
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	if et == etherTypeDot1Q {
		if len(b) < 4 {
			return f, false
		}
		et = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	var proto uint8
	switch et {
	case etherTypeIPv4:
		// RFC 791 3.1, with Decoder.ipv4's rules
		if len(b) < 20 || b[0]>>4 != 4 {
			return f, false
		}
		hl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if total == 0 {
			total = len(b)
		}
		if hl < 20 || total < hl || total > len(b) || binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
			return f, false
		}
		f.Src[10], f.Src[11], f.Dst[10], f.Dst[11] = 0xff, 0xff, 0xff, 0xff
		copy(f.Src[12:], b[12:16])
		copy(f.Dst[12:], b[16:20])
		proto, b = b[9], b[hl:total]
	case etherTypeIPv6:
		// RFC 8200 3, with Decoder.ipv6's rules
		if len(b) < 40 || b[0]>>4 != 6 {
			return f, false
		}
		end := 40 + int(binary.BigEndian.Uint16(b[4:]))
		if end == 40 {
			end = len(b)
		}
		if end > len(b) {
			return f, false
		}
		f.Src, f.Dst = [16]byte(b[8:24]), [16]byte(b[24:40])
		proto, b = b[6], b[40:end]
	default:
		return f, false
	}
	switch proto {
	case ipProtoTCP:
		// RFC 9293 3.1, with Decoder.tcp's rules
		if len(b) < 20 {
			return f, false
		}
		if off := int(b[12]>>4) * 4; off < 20 || off > len(b) {
			return f, false
		}
	case ipProtoUDP:
		// RFC 768, with Decoder.udp's rules (the datagram is whole)
		if len(b) < 8 {
			return f, false
		}
		if n := int(binary.BigEndian.Uint16(b[4:])); n != 0 && (n < 8 || n > len(b)) {
			return f, false
		}
	default:
		return f, false
	}
	f.SrcPort, f.DstPort, f.Proto = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), proto
	return f, true
}
