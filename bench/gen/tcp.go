package gen

import (
	"math/rand/v2"
)

// message is what one side sends in one go: head, then bodyLen bytes of
// filler from the pool, then tail.
type message struct {
	fromClient bool
	cont       bool // follows the previous message of the same sender without a pause
	head       []byte
	bodyLen    int
	bodyOff    int // where the body starts in the filler pool
	tail       []byte
	think      int64 // ns of silence before the message starts
}

func (m *message) size() int { return len(m.head) + m.bodyLen + len(m.tail) }

// copyAt copies the message's bytes from off into dst and returns how many.
func (m *message) copyAt(dst []byte, off int, pool []byte) int {
	n := 0
	if off < len(m.head) {
		k := copy(dst, m.head[off:])
		n += k
		off += k
	}
	off -= len(m.head)
	for n < len(dst) && off < m.bodyLen {
		want := min(len(dst)-n, m.bodyLen-off)
		p := (m.bodyOff + off) % len(pool)
		k := copy(dst[n:n+want], pool[p:])
		n += k
		off += k
	}
	off -= m.bodyLen
	if n < len(dst) && off < len(m.tail) {
		n += copy(dst[n:], m.tail[off:])
	}
	return n
}

// script produces the messages of one TCP connection, lazily.
type script interface {
	next(c *tcpConn) (message, bool)
}

// queue is a FIFO of messages scripts fill a few at a time.
type queue struct {
	q []message
	i int
}

func (q *queue) push(m message) { q.q = append(q.q, m) }

func (q *queue) pop() (message, bool) {
	if q.i == len(q.q) {
		q.q, q.i = q.q[:0], 0
		return message{}, false
	}
	m := q.q[q.i]
	q.q[q.i] = message{}
	q.i++
	return m, true
}

func (q *queue) empty() bool { return q.i == len(q.q) }

// How a TCP connection ends.
const (
	endFIN     = iota // FIN from the client, FIN from the server, last ACK
	endRST            // the client resets
	endCut            // the capture ends first: no more packets
	endRefused        // SYN answered by RST (no connection)
	endSilent         // SYN, retransmitted SYN, nothing else (filtered)
)

const (
	stSyn = iota
	stSynAck
	stHandshakeAck
	stData
	stFin1
	stFin2
	stFin3
	stDone
)

// tcpConn plays one TCP connection: handshake, the script's messages cut
// into MSS-sized segments with correct sequence and acknowledgement
// numbers, delayed ACKs, a rare retransmission or reordering, the close.
type tcpConn struct {
	at      int64
	rng     *rand.Rand
	h       [2]host   // 0 client, 1 server
	port    [2]uint16 // 0 client, 1 server
	mss     int
	ts      bool
	tsBase  [2]uint32
	ipid    [2]uint16
	seq     [2]uint32 // next sequence number each side sends
	win     [2]uint16
	rtt     int64
	nsPerB  float64 // pacing of a message's segments
	state   int
	end     int
	scr     script
	more    bool      // the script may have more messages
	q       []message // q[0] is being sent; more are looked ahead for continuation
	off     int       // bytes of q[0] sent
	unack   int       // data segments the receiver has not acknowledged
	ackOwe  int       // side owing a pure ACK, or -1
	ready   int64     // earliest time of the next data segment
	held    []byte    // a segment held back to be sent after the next one (reordering)
	dup     []byte    // a segment to be sent again (retransmission)
	hidden  int       // packets before the capture began: generated, not written
	synSent int
	stats   *classStats
}

func (c *tcpConn) init(g *Gen, rng *rand.Rand, cli, srv host, cport, sport uint16, scr script) {
	c.rng = rng
	c.h = [2]host{cli, srv}
	c.port = [2]uint16{cport, sport}
	c.mss = 1460
	c.ts = rng.IntN(3) != 0 // Linux and macOS use timestamps, Windows does not
	if c.ts {
		c.mss = 1448
	}
	if cli.ip.Is6() {
		c.mss -= 20
	}
	c.tsBase = [2]uint32{rng.Uint32(), rng.Uint32()}
	c.ipid = [2]uint16{uint16(rng.Uint32()), uint16(rng.Uint32())}
	c.seq = [2]uint32{rng.Uint32(), rng.Uint32()}
	c.win = [2]uint16{uint16(500 + rng.IntN(4000)), uint16(500 + rng.IntN(4000))}
	c.rtt = 100_000
	c.nsPerB = 8e9 / 200e6
	c.scr = scr
	c.more = true
	c.ackOwe = -1
}

func (c *tcpConn) time() int64 { return c.at }

func side(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

// frame builds a segment from side s with room for n payload bytes in
// g.frame and returns the frame and its payload.
func (c *tcpConn) frame(g *Gen, s int, flags uint8, n int, synOpts bool) (frame, payload []byte, l4 int) {
	o := tcpOpts{synOpts: synOpts, mss: uint16(c.mss), ts: c.ts}
	if c.ts {
		ms := uint32(c.at / 1e6)
		o.tsval = c.tsBase[s] + ms
		if flags&syn == 0 || flags&ack != 0 {
			o.tsecr = c.tsBase[1-s] + ms
		}
	}
	src, dst := &c.h[s], &c.h[1-s]
	tl := 20 + o.len() + n
	b := g.frame[:ipHeaderLen(src.ip.Is6())+14+tl]
	l4 = buildIP(b, src, dst, 6, tl, c.ipid[s])
	c.ipid[s]++
	var ackn uint32
	if flags&ack != 0 {
		ackn = c.seq[1-s]
	}
	hl := putTCP(b[l4:], c.port[s], c.port[1-s], c.seq[s], ackn, flags, c.win[s], &o)
	return b, b[l4+hl:], l4
}

func (c *tcpConn) finish(g *Gen, s int, b []byte, l4 int) []byte {
	transportChecksum(b, l4, &c.h[s], &c.h[1-s], 6)
	return b
}

// bare sends a segment without payload.
func (c *tcpConn) bare(g *Gen, s int, flags uint8, synOpts bool) []byte {
	b, _, l4 := c.frame(g, s, flags, 0, synOpts)
	return c.finish(g, s, b, l4)
}

// emit writes the connection's next packet and schedules the one after;
// false when the connection has ended.
func (c *tcpConn) emit(g *Gen) bool {
	t := c.at
	f, ok := c.step(g)
	if !ok {
		return false
	}
	if f != nil {
		if c.hidden > 0 {
			c.hidden--
		} else {
			g.write(t, f, c.stats)
		}
	}
	return true
}

// step makes the next packet (nil when a step sends none) and advances time.
func (c *tcpConn) step(g *Gen) ([]byte, bool) {
	t := c.at
	switch c.state {
	case stSyn:
		f := c.bare(g, 0, syn, true)
		c.seq[0]++
		c.synSent++
		switch c.end {
		case endSilent:
			if c.synSent == 1 { // a retransmitted SYN after 1 s, once
				c.seq[0]--
				c.at = t + 1e9
				return f, true
			}
			c.state = stDone
		default:
			c.state = stSynAck
			c.at = t + c.rtt
		}
		return f, true
	case stSynAck:
		if c.end == endRefused {
			c.state = stDone
			return c.bare(g, 1, rst|ack, false), true
		}
		f := c.bare(g, 1, syn|ack, true)
		c.seq[1]++
		c.state = stHandshakeAck
		c.at = t + c.rtt/8 + 1000
		return f, true
	case stHandshakeAck:
		f := c.bare(g, 0, ack, false)
		c.state = stData
		c.ready = t + 1000
		c.at = c.ready
		return f, true
	case stData:
		return c.data(g, t)
	case stFin1:
		f := c.bare(g, 0, fin|ack, false)
		c.seq[0]++
		c.state = stFin2
		c.at = t + c.rtt/2 + 1000
		return f, true
	case stFin2:
		f := c.bare(g, 1, fin|ack, false)
		c.seq[1]++
		c.state = stFin3
		c.at = t + c.rtt/2 + 1000
		return f, true
	case stFin3:
		f := c.bare(g, 0, ack, false)
		c.state = stDone
		return f, true
	}
	return nil, false
}

func (c *tcpConn) data(g *Gen, t int64) ([]byte, bool) {
	if c.held != nil {
		f := append(g.frame[:0], c.held...)
		c.held = nil
		c.at = t + 2000
		return f, true
	}
	if c.dup != nil {
		f := append(g.frame[:0], c.dup...)
		c.dup = nil
		c.at = max(t+c.rtt, c.ready)
		c.ready = c.at
		return f, true
	}
	if c.ackOwe >= 0 {
		s := c.ackOwe
		c.ackOwe = -1
		c.unack = 0
		f := c.bare(g, s, ack, false)
		c.at = max(t+1000, c.ready)
		return f, true
	}
	if !c.look(1) {
		switch c.end {
		case endFIN:
			c.state = stFin1
		case endRST:
			c.state = stDone
			return c.bare(g, 0, rst|ack, false), true
		default:
			c.state = stDone
			return nil, false
		}
		c.at = t + 1000
		return nil, true
	}
	f := c.segment(g)
	// reorder or retransmit, rarely
	if r := c.rng.IntN(4096); r == 0 && c.off != 0 {
		c.held = append(c.held[:0], f...)
		f2 := c.segment(g)
		return f2, true
	} else if r == 1 {
		c.dup = append(c.dup[:0], f...)
	}
	return f, true
}

// look makes sure n messages are queued (fewer when the script ends).
func (c *tcpConn) look(n int) bool {
	for len(c.q) < n && c.more {
		m, ok := c.scr.next(c)
		if !ok {
			c.more = false
			break
		}
		c.q = append(c.q, m)
	}
	return len(c.q) >= n
}

// segment cuts the next segment from the queued messages and schedules
// what follows: the next segment, the receiver's ACK, the next message.
func (c *tcpConn) segment(g *Gen) []byte {
	fromClient := c.q[0].fromClient
	s := side(fromClient)
	// bytes available: this message and the ones that continue it
	n := c.q[0].size() - c.off
	for i := 1; n < c.mss && c.look(i+1) && c.q[i].cont && c.q[i].fromClient == fromClient; i++ {
		n += c.q[i].size()
	}
	n = min(n, c.mss)
	b, pay, l4 := c.frame(g, s, ack, n, false)
	for k := 0; k < n; {
		m := &c.q[0]
		w := m.copyAt(pay[k:n], c.off, g.pool)
		k += w
		c.off += w
		if c.off == m.size() {
			c.q = append(c.q[:0], c.q[1:]...)
			c.off = 0
		}
	}
	c.seq[s] += uint32(n)
	c.unack++
	t := c.at
	c.ready = t + int64(float64(n)*c.nsPerB) + 1000
	more := c.look(1)
	runEnd := c.off == 0 && (!more || !c.q[0].cont || c.q[0].fromClient != fromClient)
	if runEnd {
		b[l4+13] |= psh
		nextFromPeer := more && c.q[0].fromClient != fromClient
		if c.unack >= 2 || !nextFromPeer {
			c.ackOwe = 1 - s
		} else {
			c.unack = 0 // the reply carries the acknowledgement
		}
		if more {
			c.ready = t + 1000 + c.q[0].think
		}
	} else if c.unack >= 2 {
		c.ackOwe = 1 - s
	}
	if c.ackOwe >= 0 {
		c.at = t + 1000 + int64(c.rng.IntN(20_000))
	} else {
		c.at = c.ready
	}
	return c.finish(g, s, b, l4)
}
