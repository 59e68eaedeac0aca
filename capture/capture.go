// Package capture reads packets from pcap/pcapng files and decodes their link,
// network and transport headers into Packets, the input of the flow table.
//
// The Decoder is the sensor's hot path: hand-written, bounds-checked parsing
// that fills a caller-owned Packet in place and allocates nothing per packet
// in steady state. It unwraps VLAN tags, GRE and ERSPAN (SPAN sessions),
// IP-in-IP, IPv6 extension headers, and reassembles IPv4/IPv6 fragments.
package capture

import (
	"net/netip"
	"time"
)

// Packet is one decoded TCP or UDP packet. The Decoder fills it in place;
// its fields are meaningful only when Decode returned Decoded. For tunnelled
// traffic (GRE, ERSPAN, IP-in-IP) the addresses and ports are the innermost.
type Packet struct {
	Time             time.Time
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8 // 6 TCP, 17 UDP
	TCPFlags         uint8 // FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 (URG 0x20, ECE 0x40, CWR 0x80)
	Seq, Ack         uint32
	// Payload is the transport payload: a sub-slice of the frame, or of the
	// Decoder's reassembly buffer. Valid until the next Decode.
	Payload []byte
	// Truncated: the capture is shorter than the IP datagram says (snaplen
	// cut). Payload is what was captured.
	Truncated bool
	// Reassembled: the packet was put together from IP fragments; Payload
	// lies in the Decoder's buffer, not in the frame.
	Reassembled bool
	VLAN        uint16 // outermost VLAN id (802.1Q/802.1ad tag), 0 if none
}

// Protocol numbers found in Packet.Proto.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// TCP flag bits found in Packet.TCPFlags.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
)

// Result says what Decode made of a frame.
type Result uint8

const (
	// Decoded: a TCP or UDP packet is in the Packet.
	Decoded Result = iota
	// Skipped: not IP/TCP/UDP (ARP, ICMP, SCTP, LLC, ...) or an unsupported link type.
	Skipped
	// Held: an IP fragment kept for reassembly; nothing to deliver yet.
	Held
	// Malformed: a header is cut short or inconsistent (counted in Stats).
	Malformed
)

func (r Result) String() string {
	switch r {
	case Decoded:
		return "decoded"
	case Skipped:
		return "skipped"
	case Held:
		return "held"
	case Malformed:
		return "malformed"
	}
	return "invalid"
}

// DecoderStats counts what a Decoder saw. Packets = Decoded + Skipped + Held + Malformed.
type DecoderStats struct {
	Packets   uint64 // frames given to Decode
	Decoded   uint64 // TCP/UDP packets delivered (a reassembled datagram counts once)
	Skipped   uint64 // not TCP/UDP, or unsupported link type
	Held      uint64 // fragments kept for reassembly
	Malformed uint64 // bad or cut headers, overlapping or inconsistent fragments
	Truncated uint64 // frames shorter than their IP datagram (snaplen cut)

	Fragments        uint64 // IP fragments seen
	Reassembled      uint64 // datagrams completed from fragments
	FragmentsDropped uint64 // fragments discarded: limit hit, timeout, overlap, duplicate, snaplen cut

	UnsupportedLink uint64 // frames of a link type the decoder does not know (also counted in Skipped)
}

// FragmentLimits bounds IP reassembly. Zero fields take the value from
// DefaultFragmentLimits; MaxDatagrams < 0 disables reassembly (fragments are
// counted and dropped).
type FragmentLimits struct {
	MaxDatagrams int           // datagrams under reassembly at once; the oldest is evicted
	MaxBytes     int           // buffer bytes held by datagrams under reassembly
	Timeout      time.Duration // measured in packet time from a datagram's first fragment
}

// DefaultFragmentLimits are Linux-like: 30 s timeout, a few MiB of buffers.
var DefaultFragmentLimits = FragmentLimits{
	MaxDatagrams: 1024,
	MaxBytes:     8 << 20,
	Timeout:      30 * time.Second,
}
