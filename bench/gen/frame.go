package gen

import (
	"bufio"
	"encoding/binary"
	"io"
	"net/netip"
)

// pcapWriter writes classic libpcap records (microsecond timestamps,
// Ethernet) [draft-ietf-opsawg-pcap sections 4 and 5].
type pcapWriter struct {
	w       *bufio.Writer
	bytes   int64 // file bytes written, headers included
	packets int64
	last    int64 // time of the last record, ns
}

const snaplen = 262144

func newPcapWriter(w io.Writer) (*pcapWriter, error) {
	p := &pcapWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	_, err := p.w.Write(h[:])
	p.bytes = 24
	return p, err
}

// record writes one frame captured at ts (ns since the epoch). Times never
// go backwards in the file.
func (p *pcapWriter) record(ts int64, frame []byte) error {
	if ts < p.last {
		ts = p.last
	}
	p.last = ts
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(ts/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts%1e9/1e3))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(frame)))
	if _, err := p.w.Write(h[:]); err != nil {
		return err
	}
	_, err := p.w.Write(frame)
	p.bytes += int64(16 + len(frame))
	p.packets++
	return err
}

func (p *pcapWriter) flush() error { return p.w.Flush() }

// host is one end of a conversation as it appears on the wire.
type host struct {
	ip  netip.Addr
	mac [6]byte
	ttl uint8
}

func newHost(ip netip.Addr, ttl uint8) host {
	h := host{ip: ip, ttl: ttl}
	// a locally administered unicast MAC derived from the address
	b := ip.As16()
	h.mac = [6]byte{0x02, b[11] ^ b[7], b[12], b[13], b[14], b[15]}
	return h
}

// ipHeaderLen is the IP header length for a family.
func ipHeaderLen(v6 bool) int {
	if v6 {
		return 40
	}
	return 20
}

// buildIP writes Ethernet and IP headers for a transport segment of tlen
// bytes (transport header + payload) into b[0:14+iplen], and returns the
// offset where the transport header goes.
func buildIP(b []byte, src, dst *host, proto uint8, tlen int, ipid uint16) int {
	copy(b[0:6], dst.mac[:])
	copy(b[6:12], src.mac[:])
	if src.ip.Is6() {
		binary.BigEndian.PutUint16(b[12:], 0x86dd)
		ip := b[14:54]
		binary.BigEndian.PutUint32(ip[0:], 6<<28)
		binary.BigEndian.PutUint16(ip[4:], uint16(tlen))
		ip[6] = proto
		ip[7] = src.ttl
		s, d := src.ip.As16(), dst.ip.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		return 54
	}
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+tlen))
	binary.BigEndian.PutUint16(ip[4:], ipid)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = src.ttl
	ip[9] = proto
	ip[10], ip[11] = 0, 0
	s, d := src.ip.As4(), dst.ip.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
	return 34
}

// transportChecksum fills the TCP or UDP checksum of the segment at
// b[off:] (RFC 9293 3.1, RFC 768, RFC 8200 8.1 pseudo-headers).
func transportChecksum(b []byte, off int, src, dst *host, proto uint8) {
	seg := b[off:]
	var s uint64
	if src.ip.Is6() {
		x, y := src.ip.As16(), dst.ip.As16()
		s = sum(x[:], s)
		s = sum(y[:], s)
	} else {
		x, y := src.ip.As4(), dst.ip.As4()
		s = sum(x[:], s)
		s = sum(y[:], s)
	}
	s += uint64(proto) + uint64(len(seg))
	at := 16 // TCP
	if proto == 17 {
		at = 6
	}
	seg[at], seg[at+1] = 0, 0
	c := ^fold(sum(seg, s))
	if proto == 17 && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[at:], c)
}

// sum adds b as big-endian 16-bit words to s (one's complement, deferred
// carries).
func sum(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v >> 32
		s += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// TCP flags.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

// tcpOpts are the options of one segment.
type tcpOpts struct {
	synOpts bool // MSS, SACK permitted, window scale (SYN and SYN-ACK)
	mss     uint16
	ts      bool // timestamps [RFC 7323]
	tsval   uint32
	tsecr   uint32
}

func (o *tcpOpts) len() int {
	n := 0
	if o.synOpts {
		n += 4 + 2 + 3 + 1 // MSS, SACK_PERM, WS, NOP
	}
	if o.ts {
		n += 2 + 10 // NOP NOP TS
	}
	return (n + 3) &^ 3
}

// putTCP writes a TCP header with options at b and returns its length.
func putTCP(b []byte, sport, dport uint16, seq, ackn uint32, flags uint8, win uint16, o *tcpOpts) int {
	hl := 20 + o.len()
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ackn)
	b[12] = byte(hl/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], win)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	p := b[20:hl]
	i := 0
	if o.synOpts {
		p[0], p[1] = 2, 4
		binary.BigEndian.PutUint16(p[2:], o.mss)
		p[4], p[5] = 4, 2 // SACK permitted
		p[6], p[7], p[8] = 3, 3, 7
		p[9] = 1
		i = 10
	}
	if o.ts {
		p[i], p[i+1] = 1, 1
		p[i+2], p[i+3] = 8, 10
		binary.BigEndian.PutUint32(p[i+4:], o.tsval)
		binary.BigEndian.PutUint32(p[i+8:], o.tsecr)
		i += 12
	}
	for ; i < len(p); i++ {
		p[i] = 0 // end of options
	}
	return hl
}
