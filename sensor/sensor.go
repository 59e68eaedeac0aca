// Package sensor is the pipeline: packets in, findings out. It keeps the
// flow table, reassembles TCP, decides per connection from its first bytes
// which carrier (SMB, HTTP, ...) it is, and feeds that carrier's handler.
// Connections no carrier wants are marked ignored and cost one table lookup
// per packet from then on.
package sensor

import (
	"net/netip"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/decoders/carrier"
	"ntlmsensor/findings"
)

// Config bounds and wires one Sensor.
type Config struct {
	Carriers []*carrier.Carrier
	Emit     func(*findings.Finding) // called for every finding, from the sensor's goroutine
	Observer string                  // observer.name
	// Clock, when set, is told by each worker (its index) that its clock
	// has reached now: at least every second of trace time, and with the
	// wall clock on a quiet live link. The audit stage orders the findings
	// of several workers with it (audit.Stage.Clock).
	Clock func(worker int, now time.Time)
	// Observations: Emit also gets the observations carriers make for the
	// audit stage (findings.Finding.Observation: coercing RPC calls for its
	// detectors, KDC exchanges awaiting the client's retry), which are not
	// findings and must not reach a sink. Off, they are dropped here; an
	// audit stage wants them on.
	Observations bool
	// OnTraceBreak is called at a trace break (Pipeline.TraceBreak), after
	// every finding from before it was emitted and before any from after:
	// stages after the workers reset their time windows there.
	OnTraceBreak func()

	MaxFlows        int           // flows tracked at once; the least recently seen goes first
	MaxBuffered     int           // bytes all streams may hold together
	MaxStreamBuffer int           // unconsumed bytes kept per direction
	MaxOutOfOrder   int           // early segments kept per direction
	MaxOutOfOrderB  int           // early bytes kept per direction
	TCPIdle         time.Duration // a TCP connection silent this long is closed
	UDPIdle         time.Duration // a UDP conversation silent this long is closed
	DetectBytes     int           // bytes per direction looked at before a flow is ignored
}

// DefaultConfig is sized for a sensor on a busy link: at most a few hundred
// MiB of state whatever arrives (see README "Memory").
func DefaultConfig() Config {
	return Config{
		MaxFlows:        200_000,
		MaxBuffered:     128 << 20,
		MaxStreamBuffer: 256 << 10,
		MaxOutOfOrder:   64,
		MaxOutOfOrderB:  256 << 10,
		TCPIdle:         5 * time.Minute,
		UDPIdle:         30 * time.Second,
		DetectBytes:     512,
	}
}

// Stats counts what the sensor did, and every limit it hit.
type Stats struct {
	Packets, TCP, UDP   uint64
	Flows               uint64 // flows created
	FlowsIgnored        uint64 // flows no carrier wanted
	UDPIgnored          uint64 // datagrams of UDP conversations no carrier wanted (kept as no flow)
	FlowsEvicted        uint64 // flows dropped because MaxFlows was reached
	FlowsIdle           uint64 // flows closed by idle timeout
	Findings            uint64
	Retransmitted       uint64
	OutOfOrder          uint64
	OutOfOrderLimitHits uint64
	BufferLimitHits     uint64
	MemoryLimitHits     uint64 // streams dropped because all streams together held MaxBuffered
	Gaps                uint64
	SkippedBytes        uint64
}

// Sensor is one pipeline worker. It is not safe for concurrent use: each
// worker goroutine owns one, with its own flows.
type Sensor struct {
	cfg       Config
	lim       limits
	table     flowTable
	lru       flowList   // tracked flows (detected or followed), least recently seen first
	holders   holderList // flows holding buffered bytes, oldest first
	arena     []*flow    // tracked flows by id (arena[0] unused)
	freeIDs   []uint32   // ids of closed flows, for reuse
	now       time.Time
	nowNs     int64 // now, Unix ns
	nextSweep int64 // Unix ns; valid when sweepSet
	sweepSet  bool
	ports     [1 << 10]uint64 // bit set of the well-known server ports of all carriers
	buffered  int             // bytes all streams hold
	stats     Stats
	file      string // the capture file being read (log.file.path), set by the pipeline
}

// New makes a sensor.
func New(cfg Config) *Sensor {
	d := DefaultConfig()
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = d.MaxFlows
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = d.MaxBuffered
	}
	if cfg.MaxStreamBuffer <= 0 {
		cfg.MaxStreamBuffer = d.MaxStreamBuffer
	}
	if cfg.MaxOutOfOrder <= 0 {
		cfg.MaxOutOfOrder = d.MaxOutOfOrder
	}
	if cfg.MaxOutOfOrderB <= 0 {
		cfg.MaxOutOfOrderB = d.MaxOutOfOrderB
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = d.TCPIdle
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = d.UDPIdle
	}
	if cfg.DetectBytes <= 0 {
		cfg.DetectBytes = d.DetectBytes
	}
	s := &Sensor{
		cfg:   cfg,
		lim:   limits{maxBuffer: cfg.MaxStreamBuffer, maxOOOSegs: cfg.MaxOutOfOrder, maxOOOBytes: cfg.MaxOutOfOrderB},
		arena: []*flow{nil},
	}
	s.table.init(cfg.MaxFlows)
	for _, c := range cfg.Carriers {
		for _, p := range c.Ports {
			s.ports[p>>6] |= 1 << (p & 63)
		}
	}
	return s
}

func (s *Sensor) wellKnown(port uint16) bool { return s.ports[port>>6]&(1<<(port&63)) != 0 }

// clock moves the sensor's time to t; a second after the last look it
// closes the connections idle for longer than their timeout.
func (s *Sensor) clock(t time.Time) {
	s.now, s.nowNs = t, t.UnixNano()
	if s.sweepSet && s.nowNs > s.nextSweep {
		s.sweep()
	}
	if !s.sweepSet || s.nowNs > s.nextSweep {
		s.nextSweep, s.sweepSet = s.nowNs+int64(time.Second), true
	}
}

// Stats returns the counters so far.
func (s *Sensor) Stats() Stats { return s.stats }

// Packet processes one decoded TCP or UDP packet.
func (s *Sensor) Packet(p *capture.Packet) { s.packet(p, 0) }

// packet is Packet with the flow's hash when the caller has it (0: not).
func (s *Sensor) packet(p *capture.Packet, h uint64) {
	s.stats.Packets++
	s.clock(p.Time)
	udp := p.Proto == 17
	if udp {
		s.stats.UDP++
	} else {
		s.stats.TCP++
	}
	key, srcIsA := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto)
	if h == 0 {
		h = key.hash()
	}
	i, found := s.table.find(h, &key)
	var f *flow
	switch {
	case found && s.table.slots[i].id == 0:
		// ignored: its slot is all there is
		if !udp && p.TCPFlags&(flagFIN|flagRST) != 0 {
			s.table.removeAt(i)
			return
		}
		s.table.slots[i].last = s.nowNs
		return
	case found:
		f = s.arena[s.table.slots[i].id]
		if s.nowNs-f.moved >= int64(time.Second) {
			// the idle list is kept in order to the second, not to the
			// packet: moving a flow writes to its neighbours, which costs on
			// every packet
			s.lru.touch(f)
			f.moved = s.nowNs
		}
	case udp && !s.udpWanted(p):
		// a datagram of a conversation no carrier follows (DNS, QUIC,
		// syslog...) leaves no state: the next one is asked again, which
		// costs less than remembering the conversation
		s.stats.UDPIgnored++
		return
	default:
		if len(p.Payload) == 0 && !udp && p.TCPFlags&(flagSYN) == 0 {
			return // a bare ACK or FIN of a connection we never saw: nothing to learn
		}
		f = s.newFlow(h, &key, srcIsA, p)
	}
	f.last = s.nowNs
	s.track(f, p, srcIsA, udp)
	if f.state == ignored {
		s.forget(f)
	}
}

// track follows one packet of a detected or followed flow.
func (s *Sensor) track(f *flow, p *capture.Packet, srcIsA, udp bool) {
	if f.state == ignored {
		if !udp && p.TCPFlags&(flagFIN|flagRST) != 0 {
			s.close(f)
		}
		return
	}
	toServer := srcIsA == f.aIsClient
	d := 1
	if toServer {
		d = 0
	}
	if udp {
		if len(p.Payload) > 0 {
			s.deliver(f, toServer, p.Payload, p.Time)
		}
		return
	}
	st := &f.dir[d]
	if p.TCPFlags&flagACK != 0 && f.dir[1-d].seqKnown {
		f.dir[1-d].ack(p.Ack, p.Time, &s.lim, &s.stats, consumer{s, f, !toServer})
		if f.held > 0 {
			s.account(f)
		}
	}
	if p.TCPFlags&flagSYN != 0 {
		st.next, st.seqKnown = p.Seq+1, true
	}
	if len(p.Payload) > 0 {
		st.segment(p.Seq, p.Payload, p.Time, &s.lim, &s.stats, consumer{s, f, toServer})
		s.account(f)
		if s.buffered > s.cfg.MaxBuffered && st.held() > 0 {
			s.relieve(f, d, p.Time)
		}
		if p.Truncated {
			// the rest of this segment was not captured: resynchronise on
			// the next one
			st.seqKnown = false
			s.gap(f, toServer, p.Time)
		}
	}
	if p.TCPFlags&flagRST != 0 {
		s.close(f)
		return
	}
	if p.TCPFlags&flagFIN != 0 {
		f.finRst |= 1 << d
		if f.finRst == 3 {
			s.close(f)
		}
	}
}

const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

func (s *Sensor) newFlow(h uint64, key *flowKey, srcIsA bool, p *capture.Packet) *flow {
	if s.table.count >= s.cfg.MaxFlows {
		// make room: a connection that keeps nothing goes first, else
		// the tracked flow least recently seen
		s.stats.FlowsEvicted++
		if !s.table.evictIgnored(64) && s.lru.head != nil {
			s.close(s.lru.head)
		}
	}
	s.stats.Flows++
	var f *flow
	if n := len(s.freeIDs); n > 0 {
		id := s.freeIDs[n-1]
		s.freeIDs = s.freeIDs[:n-1]
		f = s.arena[id]
		*f = flow{id: id}
	} else {
		f = &flow{id: uint32(len(s.arena))}
		s.arena = append(s.arena, f)
	}
	f.key, f.hash, f.udp, f.last, f.moved = *key, h, p.Proto == 17, s.nowNs, s.nowNs
	f.aIsClient = s.srcIsClient(p) == srcIsA
	i, _ := s.table.find(h, key) // again: an eviction may have moved slots
	s.table.insert(i, h, key, f.id, s.nowNs)
	s.lru.pushBack(f)
	return f
}

// srcIsClient tells who is the client of a new flow: the SYN's sender;
// else the side not on a well-known port; else the higher port.
func (s *Sensor) srcIsClient(p *capture.Packet) bool {
	switch {
	case p.Proto == 6 && p.TCPFlags&flagSYN != 0:
		return p.TCPFlags&flagACK == 0
	case s.wellKnown(p.DstPort) != s.wellKnown(p.SrcPort):
		return s.wellKnown(p.DstPort)
	}
	return p.SrcPort >= p.DstPort
}

// udpWanted reports whether a UDP carrier recognises the datagram that
// begins a conversation: any datagram of one not followed yet may.
func (s *Sensor) udpWanted(p *capture.Packet) bool {
	if len(p.Payload) == 0 {
		return false
	}
	toServer := s.srcIsClient(p)
	for _, c := range s.cfg.Carriers {
		if c.UDP && c.Detect(toServer, p.Payload) == carrier.Yes {
			return true
		}
	}
	return false
}

// forget turns a tracked flow that became ignored into a bare slot and
// recycles its state.
func (s *Sensor) forget(f *flow) {
	if i, ok := s.table.find(f.hash, &f.key); ok {
		s.table.slots[i].id = 0
		s.table.slots[i].last = f.last
	}
	s.lru.remove(f)
	s.release(f)
	s.recycle(f)
}

// recycle keeps a closed flow's struct for the next flow (the arena holds
// as many as were ever tracked at once: MaxFlows at most).
func (s *Sensor) recycle(f *flow) {
	id := f.id
	*f = flow{state: closed, id: id}
	s.freeIDs = append(s.freeIDs, id)
}

// endpoints returns client and server of a flow.
func (f *flow) endpoints() (client, server netip.AddrPort) {
	a := netip.AddrPortFrom(netip.AddrFrom16(f.key.a).Unmap(), f.key.ap)
	b := netip.AddrPortFrom(netip.AddrFrom16(f.key.b).Unmap(), f.key.bp)
	if f.aIsClient {
		return a, b
	}
	return b, a
}

// deliver hands in-order bytes to the flow's handler, choosing the carrier
// first while the flow is still being detected.
func (s *Sensor) deliver(f *flow, toServer bool, b []byte, ts time.Time) int {
	if f.state == detecting {
		switch s.detect(f, toServer, b) {
		case waitMore:
			return 0 // keep the bytes until the carriers can tell
		case discard:
			return len(b)
		}
	}
	if f.state != active {
		return len(b)
	}
	f.conn.Fed(toServer, ts, s.file)
	n := f.handler.Feed(toServer, b, ts)
	if f.conn.IsDone() {
		f.handler.Close(ts)
		s.ignore(f)
		return len(b)
	}
	return n
}

type detection uint8

const (
	taken detection = iota
	waitMore
	discard
)

// detect asks each carrier, in order, about the first bytes of a
// direction. The first to say yes takes the flow, unless a carrier before
// it still needs more bytes to tell: order is priority.
func (s *Sensor) detect(f *flow, toServer bool, b []byte) detection {
	maybe := false
	for _, c := range s.cfg.Carriers {
		if f.udp && !c.UDP {
			continue // DNS, QUIC, syslog...: nothing but Kerberos carries logons over UDP here
		}
		switch c.Detect(toServer, b) {
		case carrier.Yes:
			if maybe && len(b) < s.cfg.DetectBytes && !f.udp {
				return waitMore
			}
			f.carrier = c
			client, server := f.endpoints()
			f.conn = carrier.NewConn(client, server, f.udp, c.Protocol, s.cfg.Observer, s.emit)
			f.handler = c.New(f.conn)
			f.state = active
			return taken
		case carrier.Maybe:
			maybe = true
		}
	}
	if maybe && len(b) < s.cfg.DetectBytes && !f.udp {
		return waitMore
	}
	// The client's first bytes decide. A server that speaks first (a
	// greeting) no carrier knows is passed over; the client may still be
	// recognised.
	if toServer || f.udp {
		s.ignore(f)
	}
	return discard
}

func (s *Sensor) ignore(f *flow) {
	f.state = ignored
	s.stats.FlowsIgnored++
	s.release(f)
}

// relieve brings the bytes held back under MaxBuffered: the flows that
// have held bytes longest give them up first; the stream that pushed the
// total over gives up its own only when nothing else is left. Each stream
// dropped counts once in MemoryLimitHits.
func (s *Sensor) relieve(cur *flow, curDir int, ts time.Time) {
	for old := s.holders.head; old != nil && s.buffered > s.cfg.MaxBuffered; {
		next := old.hnext
		if old != cur {
			for d := range old.dir {
				if old.dir[d].held() > 0 {
					s.stats.MemoryLimitHits++
					old.dir[d].drop(ts, &s.stats, consumer{s, old, d == 0})
				}
			}
			s.account(old)
		}
		old = next
	}
	if s.buffered > s.cfg.MaxBuffered {
		s.stats.MemoryLimitHits++
		cur.dir[curDir].drop(ts, &s.stats, consumer{s, cur, curDir == 0})
		s.account(cur)
	}
}

// release frees a flow's buffers and takes them off the account.
func (s *Sensor) release(f *flow) {
	f.dir[0].release()
	f.dir[1].release()
	s.account(f)
}

// account brings the memory account up to date with what the flow holds.
func (s *Sensor) account(f *flow) {
	h := f.dir[0].held() + f.dir[1].held()
	switch {
	case f.held == 0 && h > 0:
		s.holders.pushBack(f)
	case f.held > 0 && h == 0:
		s.holders.remove(f)
	}
	s.buffered += h - f.held
	f.held = h
}

func (s *Sensor) gap(f *flow, toServer bool, ts time.Time) {
	if f.state == active {
		f.handler.Gap(toServer, ts)
	}
}

func (s *Sensor) emit(fd *findings.Finding) {
	if fd.Observation() {
		if s.cfg.Observations && s.cfg.Emit != nil {
			s.cfg.Emit(fd)
		}
		return
	}
	s.stats.Findings++
	if s.cfg.Emit != nil {
		s.cfg.Emit(fd)
	}
}

// close ends a flow: bytes still waiting after a gap are delivered, then
// the handler emits what is pending.
func (s *Sensor) close(f *flow) {
	if f.state == active {
		f.conn.Closing()
		for d := range f.dir {
			f.dir[d].flushGap(s.now, &s.lim, &s.stats, consumer{s, f, d == 0})
		}
		f.handler.Close(s.now)
	}
	s.release(f)
	if i, ok := s.table.find(f.hash, &f.key); ok {
		s.table.removeAt(i)
	}
	s.lru.remove(f)
	s.recycle(f)
}

// sweep closes tracked flows idle for longer than their timeout, and
// removes an eighth of the table's ignored connections that are: each of
// those is looked at every 8 s of packet time.
func (s *Sensor) sweep() {
	tcpIdle, udpIdle := int64(s.cfg.TCPIdle), int64(s.cfg.UDPIdle)
	shortest := min(tcpIdle, udpIdle)
	for f := s.lru.head; f != nil; {
		age := s.nowNs - f.last
		if age < shortest {
			break // the list is in time order (to the second): the rest are younger
		}
		next := f.next
		if age >= tcpIdle || (f.udp && age >= udpIdle) {
			s.stats.FlowsIdle++
			s.close(f)
		}
		f = next
	}
	n := s.table.expireIgnored(len(s.table.slots)/8, s.nowNs, tcpIdle, udpIdle)
	s.stats.FlowsIdle += uint64(n)
}

// Flush closes every flow, as at the end of a capture.
func (s *Sensor) Flush() {
	for s.lru.head != nil {
		s.close(s.lru.head)
	}
	s.table.clear()
}

// restart forgets the clock's schedule after a Flush: the next packet,
// however early, sets the time afresh (a trace break).
func (s *Sensor) restart() {
	s.sweepSet = false
}
