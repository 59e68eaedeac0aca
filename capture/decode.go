package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types some systems write for raw IP instead of LINKTYPE_RAW (101).
const (
	linkTypeRawBSD     layers.LinkType = 12 // DLT_RAW on most BSDs
	linkTypeRawOpenBSD layers.LinkType = 14 // DLT_RAW on BSD/OS and early OpenBSD
)

// EtherTypes and IP protocol numbers the decoder follows.
const (
	etherTypeIPv4         = 0x0800
	etherTypeIPv6         = 0x86dd
	etherTypeDot1Q        = 0x8100
	etherTypeQinQ         = 0x88a8 // 802.1ad S-tag
	etherTypeQinQOld      = 0x9100 // pre-standard QinQ
	etherTypeTEB          = 0x6558 // transparent Ethernet bridging (RFC 1701)
	etherTypeERSPAN2      = 0x88be // ERSPAN type I (no header) or II
	etherTypeERSPAN3      = 0x22eb
	ipProtoHopByHop       = 0
	ipProtoIPIP           = 4
	ipProtoTCP            = 6
	ipProtoUDP            = 17
	ipProtoIPv6           = 41
	ipProtoRouting        = 43
	ipProtoFragment       = 44
	ipProtoGRE            = 47
	ipProtoAH             = 51
	ipProtoNoNext         = 59
	ipProtoDstOpts        = 60
	arphrdNetlink         = 824 // Linux cooked capture of netlink: not an EtherType
	maxVLANTags           = 4
	maxEncapsulation      = 4 // tunnels inside the outermost IP header
	maxExtensionHeaders   = 16
	maxReassembleDepth    = maxEncapsulation + 1
	bsdAFInet             = 2
	bsdAFInet6NetBSD      = 24 // also OpenBSD and BSD/OS
	bsdAFInet6FreeBSD     = 28
	bsdAFInet6Darwin      = 30
	bsdAFInet6Windows     = 23 // Npcap loopback adapter
	linuxSLLHeaderLength  = 16
	linuxSLL2HeaderLength = 20
)

// SupportedLinkType reports whether the decoder understands lt.
func SupportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		layers.LinkTypeNull, layers.LinkTypeLoop:
		return true
	}
	return false
}

// Decoder turns link-layer frames into Packets. Not safe for concurrent
// use; one per goroutine. It allocates nothing per packet in steady state:
// headers are parsed in place with explicit bounds checks (measured faster
// than gopacket's DecodingLayerParser, see BenchmarkDecode*), and fragment
// reassembly reuses its buffers.
type Decoder struct {
	stats   DecoderStats
	frag    reassembler
	vlanSet bool // the outermost VLAN tag of the current frame is recorded
	now     int64
}

// NewDecoder returns a Decoder that reassembles IP fragments within limits.
func NewDecoder(limits FragmentLimits) *Decoder {
	d := &Decoder{}
	d.frag.init(limits)
	return d
}

// Stats returns the counters so far.
func (d *Decoder) Stats() DecoderStats {
	s := d.stats
	s.FragmentsDropped = d.frag.dropped
	return s
}

// Decode decodes one frame of link type lt into p, overwriting all of p.
// p.Payload may point into data or into the Decoder's reassembly buffers;
// either way it is valid until the next Decode.
func (d *Decoder) Decode(lt layers.LinkType, data []byte, ci gopacket.CaptureInfo, p *Packet) Result {
	*p = Packet{Time: ci.Timestamp}
	d.vlanSet = false
	d.now = ci.Timestamp.UnixNano()
	d.stats.Packets++
	if d.frag.oldest != nil {
		d.frag.expire(d.now)
	}
	r := d.link(lt, data, p)
	switch r {
	case Decoded:
		d.stats.Decoded++
	case Skipped:
		d.stats.Skipped++
	case Held:
		d.stats.Held++
	default:
		d.stats.Malformed++
	}
	if p.Truncated {
		d.stats.Truncated++
	}
	return r
}

func (d *Decoder) link(lt layers.LinkType, b []byte, p *Packet) Result {
	switch lt {
	case layers.LinkTypeEthernet:
		return d.ethernet(b, p, 0)
	case layers.LinkTypeLinuxSLL:
		// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): packet type, ARPHRD
		// type, address length, 8 address bytes, protocol.
		if len(b) < linuxSLLHeaderLength {
			return Malformed
		}
		if binary.BigEndian.Uint16(b[2:]) == arphrdNetlink {
			return Skipped
		}
		return d.etherType(binary.BigEndian.Uint16(b[14:]), b[linuxSLLHeaderLength:], p, 0)
	case layers.LinkTypeLinuxSLL2:
		// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol, reserved,
		// interface index, ARPHRD type, packet type, address length, 8 address bytes.
		if len(b) < linuxSLL2HeaderLength {
			return Malformed
		}
		if binary.BigEndian.Uint16(b[8:]) == arphrdNetlink {
			return Skipped
		}
		return d.etherType(binary.BigEndian.Uint16(b), b[linuxSLL2HeaderLength:], p, 0)
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD:
		return d.ip(b, p, 0)
	case layers.LinkTypeIPv4:
		return d.ipv4(b, p, 0)
	case layers.LinkTypeIPv6:
		return d.ipv6(b, p, 0)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// BSD loopback (LINKTYPE_NULL): a 4-byte address family in the
		// capturing host's byte order; OpenBSD loop (LINKTYPE_LOOP): the
		// same in network order. Families are small, so the order shows.
		if len(b) < 4 {
			return Malformed
		}
		af := binary.LittleEndian.Uint32(b)
		if af > 0xffff {
			af = binary.BigEndian.Uint32(b)
		}
		switch af {
		case bsdAFInet:
			return d.ipv4(b[4:], p, 0)
		case bsdAFInet6NetBSD, bsdAFInet6FreeBSD, bsdAFInet6Darwin, bsdAFInet6Windows:
			return d.ipv6(b[4:], p, 0)
		}
		return Skipped
	}
	d.stats.UnsupportedLink++
	return Skipped
}

// ethernet decodes an Ethernet II frame: destination, source, EtherType
// (IEEE 802.3 clause 3.2.6). A length instead of a type is an 802.3/LLC frame.
func (d *Decoder) ethernet(b []byte, p *Packet, depth int) Result {
	if len(b) < 14 {
		return Malformed
	}
	et := binary.BigEndian.Uint16(b[12:])
	if et < 0x0600 {
		return Skipped
	}
	return d.etherType(et, b[14:], p, depth)
}

// etherType dispatches on an EtherType, first unwrapping VLAN tags: each
// IEEE 802.1Q tag is a 16-bit TCI (PCP, DEI, 12-bit VLAN id) and the next
// EtherType; 802.1ad S-tags have the same layout.
func (d *Decoder) etherType(et uint16, b []byte, p *Packet, depth int) Result {
	for tags := 0; ; tags++ {
		switch et {
		case etherTypeIPv4:
			return d.ipv4(b, p, depth)
		case etherTypeIPv6:
			return d.ipv6(b, p, depth)
		case etherTypeDot1Q, etherTypeQinQ, etherTypeQinQOld:
			if tags == maxVLANTags || len(b) < 4 {
				return Malformed
			}
			if !d.vlanSet {
				p.VLAN = binary.BigEndian.Uint16(b) & 0x0fff
				d.vlanSet = true
			}
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		default:
			return Skipped
		}
	}
}

// ip decodes an IPv4 or IPv6 header, told apart by the version nibble.
func (d *Decoder) ip(b []byte, p *Packet, depth int) Result {
	if len(b) == 0 {
		return Malformed
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	}
	return Malformed
}

// ipv4 decodes an IPv4 header (RFC 791 section 3.1): version/IHL, TOS,
// total length, identification, flags/fragment offset, TTL, protocol,
// checksum (not verified), source, destination, options (skipped via IHL).
func (d *Decoder) ipv4(b []byte, p *Packet, depth int) Result {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Malformed
	}
	hl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total == 0 {
		// TCP segmentation offload on the capturing host leaves 0 here:
		// the datagram is what was captured (Wireshark does the same).
		total = len(b)
	}
	if hl < 20 || len(b) < hl || total < hl {
		return Malformed
	}
	if total > len(b) {
		total = len(b)
		p.Truncated = true
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	proto := b[9]
	payload := b[hl:total]
	// Flags: reserved, DF, MF; then the offset in 8-byte units.
	ff := binary.BigEndian.Uint16(b[6:])
	if ff&0x3fff != 0 {
		k := fragKey{src: p.Src, dst: p.Dst, id: uint32(binary.BigEndian.Uint16(b[4:])), proto: proto}
		return d.fragment(k, int(ff&0x1fff)*8, ff&0x2000 != 0, payload, proto, p, depth)
	}
	return d.transport(proto, payload, p, depth)
}

// ipv6 decodes an IPv6 header (RFC 8200 section 3): version/traffic
// class/flow label, payload length, next header, hop limit, source,
// destination; then the extension header chain.
func (d *Decoder) ipv6(b []byte, p *Packet, depth int) Result {
	if len(b) < 40 || b[0]>>4 != 6 {
		return Malformed
	}
	end := 40 + int(binary.BigEndian.Uint16(b[4:]))
	if end == 40 {
		// Jumbogram (RFC 2675) or segmentation offload: use what was captured.
		end = len(b)
	}
	if end > len(b) {
		end = len(b)
		p.Truncated = true
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	return d.ipv6Headers(b[6], b[40:end], p, depth, true)
}

// ipv6Headers walks the extension header chain (RFC 8200 section 4) from
// next header nh to the upper-layer header. canFragment is false inside a
// reassembled datagram, where a second Fragment header is invalid.
func (d *Decoder) ipv6Headers(nh uint8, b []byte, p *Packet, depth int, canFragment bool) Result {
	for range maxExtensionHeaders {
		switch nh {
		case ipProtoHopByHop, ipProtoRouting, ipProtoDstOpts:
			// RFC 8200 4.3-4.6: next header, length in 8-octet units not
			// counting the first 8.
			if len(b) < 8 {
				return Malformed
			}
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return Malformed
			}
			nh, b = b[0], b[n:]
		case ipProtoAH:
			// RFC 4302 2.2: next header, payload length in 4-octet units minus 2.
			if len(b) < 8 {
				return Malformed
			}
			n := (int(b[1]) + 2) * 4
			if n > len(b) {
				return Malformed
			}
			nh, b = b[0], b[n:]
		case ipProtoFragment:
			// RFC 8200 4.5: next header, reserved, offset (13 bits, 8-octet
			// units)/res/M, identification.
			if len(b) < 8 {
				return Malformed
			}
			om := binary.BigEndian.Uint16(b[2:])
			off, more := int(om&0xfff8), om&1 != 0
			if off == 0 && !more {
				// Atomic fragment (RFC 6946): process as a whole datagram.
				nh, b = b[0], b[8:]
				continue
			}
			if !canFragment {
				return Malformed
			}
			k := fragKey{src: p.Src, dst: p.Dst, id: binary.BigEndian.Uint32(b[4:]), v6: true}
			return d.fragment(k, off, more, b[8:], b[0], p, depth)
		case ipProtoNoNext:
			return Skipped
		default:
			return d.transport(nh, b, p, depth)
		}
	}
	return Malformed
}

// transport decodes the upper-layer protocol of an IP datagram: TCP, UDP,
// or a tunnel (GRE, IP-in-IP, IPv6-in-IP) that is followed to its inner packet.
func (d *Decoder) transport(proto uint8, b []byte, p *Packet, depth int) Result {
	switch proto {
	case ipProtoTCP:
		return d.tcp(b, p)
	case ipProtoUDP:
		return d.udp(b, p)
	case ipProtoGRE:
		if depth == maxEncapsulation {
			return Malformed
		}
		return d.gre(b, p, depth+1)
	case ipProtoIPIP:
		if depth == maxEncapsulation {
			return Malformed
		}
		return d.ipv4(b, p, depth+1)
	case ipProtoIPv6:
		if depth == maxEncapsulation {
			return Malformed
		}
		return d.ipv6(b, p, depth+1)
	case ipProtoAH:
		// IPv4 carries AH too (RFC 4302); IPv6 handles it in its chain.
		if len(b) < 8 {
			return Malformed
		}
		n := (int(b[1]) + 2) * 4
		if n > len(b) || b[0] == ipProtoAH {
			return Malformed
		}
		return d.transport(b[0], b[n:], p, depth)
	}
	return Skipped
}

// tcp decodes a TCP header (RFC 9293 section 3.1): ports, sequence and
// acknowledgment numbers, data offset, flags, window, checksum, urgent
// pointer, options (skipped via the data offset).
func (d *Decoder) tcp(b []byte, p *Packet) Result {
	if len(b) < 20 {
		return Malformed
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		return Malformed
	}
	p.Proto = ipProtoTCP
	p.SrcPort = binary.BigEndian.Uint16(b)
	p.DstPort = binary.BigEndian.Uint16(b[2:])
	p.Seq = binary.BigEndian.Uint32(b[4:])
	p.Ack = binary.BigEndian.Uint32(b[8:])
	p.TCPFlags = b[13]
	p.Payload = b[off:]
	return Decoded
}

// udp decodes a UDP header (RFC 768): ports, length, checksum. Length 0 is
// a jumbogram (RFC 2675) or offloaded segmentation: the IP length rules.
func (d *Decoder) udp(b []byte, p *Packet) Result {
	if len(b) < 8 {
		return Malformed
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	switch {
	case n == 0:
		n = len(b)
	case n < 8:
		return Malformed
	case n > len(b):
		if !p.Truncated {
			return Malformed
		}
		n = len(b)
	}
	p.Proto = ipProtoUDP
	p.SrcPort = binary.BigEndian.Uint16(b)
	p.DstPort = binary.BigEndian.Uint16(b[2:])
	p.Payload = b[8:n]
	return Decoded
}

// gre decodes a GRE header (RFC 2784 section 2.1, key and sequence number
// from RFC 2890 section 2; routing from RFC 1701): flags/version, protocol
// type, then checksum+reserved (C or R), key (K), sequence (S), routing (R).
func (d *Decoder) gre(b []byte, p *Packet, depth int) Result {
	if len(b) < 4 {
		return Malformed
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	if flags&0x0007 != 0 {
		return Skipped // version 1 is PPTP's enhanced GRE
	}
	n := 4
	if flags&0xc000 != 0 {
		n += 4
	}
	if flags&0x2000 != 0 {
		n += 4
	}
	seq := flags&0x1000 != 0
	if seq {
		n += 4
	}
	if n > len(b) {
		return Malformed
	}
	if flags&0x4000 != 0 {
		// RFC 1701 Source Route Entries: address family, SRE offset, SRE
		// length, routing information; a NULL entry (family 0, length 0) ends the list.
		for {
			if n+4 > len(b) {
				return Malformed
			}
			af, l := binary.BigEndian.Uint16(b[n:]), int(b[n+3])
			n += 4 + l
			if n > len(b) {
				return Malformed
			}
			if af == 0 && l == 0 {
				break
			}
		}
	}
	b = b[n:]
	switch proto {
	case etherTypeIPv4:
		return d.ipv4(b, p, depth)
	case etherTypeIPv6:
		return d.ipv6(b, p, depth)
	case etherTypeTEB:
		return d.ethernet(b, p, depth)
	case etherTypeERSPAN2:
		if !seq {
			// ERSPAN type I: no ERSPAN header, the mirrored frame follows.
			return d.ethernet(b, p, depth)
		}
		// ERSPAN type II (draft-foschiano-erspan 4.1): version/VLAN,
		// COS/En/T/session id, reserved/index.
		if len(b) < 8 {
			return Malformed
		}
		return d.ethernet(b[8:], p, depth)
	case etherTypeERSPAN3:
		// ERSPAN type III (draft-foschiano-erspan 4.2): version/VLAN,
		// COS/BSO/T/session id, timestamp, SGT/P/FT/HW id/D/Gra/O, then an
		// 8-byte platform-specific subheader when O is set.
		if len(b) < 12 {
			return Malformed
		}
		n := 12
		if b[11]&0x01 != 0 {
			n += 8
		}
		if n > len(b) {
			return Malformed
		}
		switch ft := (b[10] >> 2) & 0x1f; ft {
		case 0: // Ethernet frame
			return d.ethernet(b[n:], p, depth)
		case 2: // IP packet
			return d.ip(b[n:], p, depth)
		}
		return Skipped
	}
	return Skipped
}
