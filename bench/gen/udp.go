package gen

import (
	"encoding/binary"
	"math/rand/v2"
)

// udpScript produces the datagrams of one UDP conversation; think is the
// delay before each.
type udpScript interface {
	next(c *udpConn) (message, bool)
}

// udpConn plays one UDP conversation (same ports throughout).
type udpConn struct {
	at    int64
	rng   *rand.Rand
	h     [2]host
	port  [2]uint16
	ipid  [2]uint16
	scr   udpScript
	m     message
	have  bool // m is the next datagram
	stats *classStats
}

func (c *udpConn) init(rng *rand.Rand, cli, srv host, cport, sport uint16, scr udpScript) {
	c.rng = rng
	c.h = [2]host{cli, srv}
	c.port = [2]uint16{cport, sport}
	c.ipid = [2]uint16{uint16(rng.Uint32()), uint16(rng.Uint32())}
	c.scr = scr
}

func (c *udpConn) time() int64 { return c.at }

func (c *udpConn) emit(g *Gen) bool {
	m := &c.m
	s := side(m.fromClient)
	n := m.size()
	src, dst := &c.h[s], &c.h[1-s]
	b := g.frame[:14+ipHeaderLen(src.ip.Is6())+8+n]
	l4 := buildIP(b, src, dst, 17, 8+n, c.ipid[s])
	c.ipid[s]++
	u := b[l4:]
	binary.BigEndian.PutUint16(u[0:], c.port[s])
	binary.BigEndian.PutUint16(u[2:], c.port[1-s])
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	m.copyAt(u[8:], 0, g.pool)
	transportChecksum(b, l4, src, dst, 17)
	g.write(c.at, b, c.stats)
	next, ok := c.scr.next(c)
	if !ok {
		return false
	}
	c.m = next
	c.at += next.think
	return true
}

// arp is one ARP request, and its reply when the target answers.
type arp struct {
	at      int64
	who     host
	target  host
	replied bool
	answer  bool
	stats   *classStats
}

func (a *arp) time() int64 { return a.at }

func (a *arp) emit(g *Gen) bool {
	b := g.frame[:60]
	clear(b)
	src, dst := &a.who, &a.target
	op := uint16(1)
	if a.replied {
		src, dst, op = &a.target, &a.who, 2
		copy(b[0:6], dst.mac[:])
	} else {
		copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	copy(b[6:12], src.mac[:])
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:], 1)
	binary.BigEndian.PutUint16(p[2:], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], op)
	copy(p[8:14], src.mac[:])
	s4, d4 := src.ip.As4(), dst.ip.As4()
	copy(p[14:18], s4[:])
	if op == 2 {
		copy(p[18:24], dst.mac[:])
	}
	copy(p[24:28], d4[:])
	g.write(a.at, b, a.stats)
	if a.replied || !a.answer {
		return false
	}
	a.replied = true
	a.at += 50_000
	return true
}
