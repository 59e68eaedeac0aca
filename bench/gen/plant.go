package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"

	"github.com/gopacket/gopacket/layers"

	"ntlmsensor/capture"
)

// original is a small capture of real authentications, loaded whole, to be
// replayed under new addresses, ports and times.
type original struct {
	name    string
	frames  []oframe
	first   int64                   // time of the first frame, ns
	clients map[netip.AddrPort]bool // endpoints that opened a connection
	ips     []netip.Addr            // every address, sorted
}

// oframe is one frame of an original with its headers located.
type oframe struct {
	ts     int64
	data   []byte
	ip, l4 int // offsets of the IPv4 and TCP/UDP headers; ip 0: not IPv4 TCP/UDP
	pay    int // offset of the payload
	proto  uint8
	src    netip.AddrPort
	dst    netip.AddrPort
}

// Originals lists the captures of dir that Generate plants (*.pcap, sorted).
func Originals(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no captures in %s", dir)
	}
	sort.Strings(m)
	return m, nil
}

func loadOriginal(path string) (*original, error) {
	src, err := capture.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	o := &original{name: filepath.Base(path), clients: map[netip.AddrPort]bool{}}
	ips := map[netip.Addr]bool{}
	for {
		data, ci, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if src.LinkType() != layers.LinkTypeEthernet {
			return nil, fmt.Errorf("%s: link type %v, want Ethernet", path, src.LinkType())
		}
		f := oframe{ts: ci.Timestamp.UnixNano(), data: slices.Clone(data)}
		parseFrame(&f)
		if len(o.frames) == 0 {
			o.first = f.ts
		}
		if f.ip != 0 {
			ips[f.src.Addr()] = true
			ips[f.dst.Addr()] = true
			if f.proto == 6 && f.data[f.l4+13]&(syn|ack) == syn {
				o.clients[f.src] = true
			}
		}
		o.frames = append(o.frames, f)
	}
	if len(o.frames) == 0 {
		return nil, fmt.Errorf("%s: no packets", path)
	}
	// UDP, or TCP without a SYN: the higher port is the client's
	for _, f := range o.frames {
		if f.ip != 0 && !o.clients[f.src] && !o.clients[f.dst] {
			if f.src.Port() > f.dst.Port() {
				o.clients[f.src] = true
			} else {
				o.clients[f.dst] = true
			}
		}
	}
	for ip := range ips {
		o.ips = append(o.ips, ip)
	}
	slices.SortFunc(o.ips, netip.Addr.Compare)
	return o, nil
}

// parseFrame finds the IPv4 and TCP/UDP headers of an Ethernet frame.
func parseFrame(f *oframe) {
	b := f.data
	if len(b) < 14+20 || binary.BigEndian.Uint16(b[12:]) != 0x0800 {
		return
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || len(ip) < ihl+8 || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total < ihl || 14+total > len(b) {
		return
	}
	proto := ip[9]
	l4 := 14 + ihl
	var pay int
	switch proto {
	case 6:
		if len(b) < l4+20 {
			return
		}
		pay = l4 + int(b[l4+12]>>4)*4
	case 17:
		pay = l4 + 8
	default:
		return
	}
	if pay > 14+total {
		return
	}
	f.data = b[:14+total] // drop Ethernet padding
	f.ip, f.l4, f.pay, f.proto = 14, l4, pay, proto
	s, _ := netip.AddrFromSlice(ip[12:16])
	d, _ := netip.AddrFromSlice(ip[16:20])
	f.src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(b[l4:]))
	f.dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(b[l4+2:]))
}

// Replica says how one original was planted: every address and client
// port rewritten, every time shifted.
type Replica struct {
	Original string            `json:"original"`
	Shift    int64             `json:"shift_ns"` // added to every timestamp of the original
	Addrs    map[string]string `json:"addrs"`    // original address → planted address
	Ports    map[string]uint16 `json:"ports"`    // original client endpoint "ip:port" → planted port
}

// MapEndpoint gives the planted address and port of an original endpoint.
func (r *Replica) MapEndpoint(ip string, port uint16) (string, uint16) {
	p := port
	if np, ok := r.Ports[netip.AddrPortFrom(netip.MustParseAddr(ip), port).String()]; ok {
		p = np
	}
	if a, ok := r.Addrs[ip]; ok {
		ip = a
	}
	return ip, p
}

// replay plays a replica into the capture.
type replay struct {
	at    int64
	o     *original
	shift int64
	ip    map[netip.Addr]host
	port  map[netip.AddrPort]uint16
	i     int // frame
	off   int // payload bytes of frame i already sent (MSS pieces)
	stats *classStats
}

func (p *replay) time() int64 { return p.at }

// plant starts a replica of the next original at time t.
func (g *Gen) plant(t int64) {
	if len(g.originals) == 0 {
		return
	}
	if g.orderPos == len(g.order) {
		g.rng.Shuffle(len(g.order), func(i, j int) { g.order[i], g.order[j] = g.order[j], g.order[i] })
		g.orderPos = 0
	}
	o := g.originals[g.order[g.orderPos]]
	g.orderPos++
	k := len(g.manifest.Replicas)
	r := rand.New(rand.NewPCG(g.rng.Uint64(), uint64(k)))
	t0 := (t/1000 + 1) * 1000 // on a microsecond, as the file's timestamps are
	p := &replay{at: t0, o: o, shift: t0 - o.first, ip: map[netip.Addr]host{}, port: map[netip.AddrPort]uint16{}, stats: g.class("planted")}
	rep := Replica{Original: o.name, Shift: p.shift, Addrs: map[string]string{}, Ports: map[string]uint16{}}
	isClient := map[netip.Addr]bool{}
	for ep := range o.clients {
		isClient[ep.Addr()] = true
	}
	nc := 0
	for _, ip := range o.ips {
		var n netip.Addr
		if isClient[ip] {
			// a block of four addresses per replica in 10.64.0.0/12
			v := uint32(10<<24|64<<16) + uint32(k*4+nc+1)%(1<<20)
			n = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			nc++
		} else {
			// servers keep their host number in the servers' network
			last := ip.As16()[15]
			n = netip.AddrFrom4([4]byte{10, 0, 0, last})
		}
		ttl := uint8(64)
		if r.IntN(2) == 0 {
			ttl = 128
		}
		p.ip[ip] = newHost(n, ttl)
		rep.Addrs[ip.String()] = n.String()
	}
	eps := make([]netip.AddrPort, 0, len(o.clients))
	for ep := range o.clients {
		eps = append(eps, ep)
	}
	slices.SortFunc(eps, netip.AddrPort.Compare)
	used := map[uint16]bool{}
	for _, ep := range eps {
		np := uint16(32768 + r.IntN(28232))
		for used[np] {
			np++
		}
		used[np] = true
		p.port[ep] = np
		rep.Ports[ep.String()] = np
	}
	g.manifest.Replicas = append(g.manifest.Replicas, rep)
	p.stats.Connections += int64(len(eps))
	g.live++
	g.push(p)
}

// emit writes the next frame (or the next MSS-sized piece of it: loopback
// captures carry 64 KiB segments a real link never shows).
func (p *replay) emit(g *Gen) bool {
	f := &p.o.frames[p.i]
	if f.ip == 0 {
		g.write(p.at, f.data, p.stats)
		return p.advance(g)
	}
	src, dst := p.ip[f.src.Addr()], p.ip[f.dst.Addr()]
	hdr := f.pay - f.ip
	payload := f.data[f.pay:]
	n := len(payload) - p.off
	last := true
	if f.proto == 6 {
		mss := 1500 - hdr
		if n > mss {
			n, last = mss, false
		}
	}
	b := g.frame[:14+hdr+n]
	copy(b[0:6], dst.mac[:])
	copy(b[6:12], src.mac[:])
	copy(b[12:f.pay], f.data[12:f.pay])
	copy(b[f.pay:], payload[p.off:p.off+n])
	ip := b[14:]
	binary.BigEndian.PutUint16(ip[2:], uint16(hdr+n))
	binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(f.data[18:])+uint16(p.off/1400))
	ip[8] = src.ttl
	s4, d4 := src.ip.As4(), dst.ip.As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	ip[10], ip[11] = 0, 0
	ihl := int(ip[0]&0x0f) * 4
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip[:ihl], 0)))
	l4 := b[f.l4:]
	if np, ok := p.port[f.src]; ok {
		binary.BigEndian.PutUint16(l4[0:], np)
	}
	if np, ok := p.port[f.dst]; ok {
		binary.BigEndian.PutUint16(l4[2:], np)
	}
	if f.proto == 6 {
		binary.BigEndian.PutUint32(l4[4:], binary.BigEndian.Uint32(l4[4:])+uint32(p.off))
		if !last {
			l4[13] &^= psh | fin
		}
	}
	transportChecksum(b, f.l4, &src, &dst, f.proto)
	g.write(p.at, b, p.stats)
	if !last {
		p.off += n
		return true
	}
	p.off = 0
	return p.advance(g)
}

func (p *replay) advance(g *Gen) bool {
	p.i++
	if p.i == len(p.o.frames) {
		g.live--
		return false
	}
	p.at = p.o.frames[p.i].ts + p.shift
	return true
}
