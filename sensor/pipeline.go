package sensor

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"ntlmsensor/sensor/auth"
	"ntlmsensor/sensor/capture"
)

// Pipeline reads sources, decodes link layers, and spreads packets over
// workers so that every packet of a connection reaches the same worker and
// no lock is taken per packet. Two ways:
//   - NewPipeline: one reader (ReadSource: files, a libpcap handle) hashes
//     each packet's flow symmetrically and hands it to its worker in
//     batches. With one worker it runs inline, copying nothing.
//   - NewFanoutPipeline: every worker reads its own source (ReadSources:
//     the rings of an AF_PACKET fanout group, where the kernel already sent
//     both directions of a connection to the same ring) and decodes for
//     itself: no reader in between.
//
// While it runs, each goroutine publishes its counters (every 1024 packets
// and at least once a second of packet or wall time); Snapshot sums them.
type Pipeline struct {
	cfg     Config
	dec     *capture.Decoder
	filter  *capture.Filter
	workers []*worker
	emitMu  sync.Mutex
	emit    func(*auth.Finding)
	fanout  bool // workers read their own sources

	// the reader's counters (ReadSource)
	read, bytes uint64
	rn          int
	nextPub     time.Time
	pub         published

	nextMark time.Time // when the workers next get a clock mark
	last     time.Time // time of the last packet routed
}

// worker owns one Sensor. It is fed batches of copied packets
// (NewPipeline, more than one worker), or called inline, or reads its own
// source (NewFanoutPipeline).
type worker struct {
	s    *Sensor
	in   chan *batch
	free chan *batch
	cur  *batch
	done chan struct{}

	// reading its own source (fanout)
	dec         *capture.Decoder
	read, bytes uint64
	live        capture.LiveSource
	nextStats   time.Time

	n       int // packets since the last publication
	nextPub time.Time
	pub     published
}

// published is what one goroutine last made visible to Snapshot.
type published struct {
	mu          sync.Mutex
	s           Stats
	flows       int
	buffered    int
	read, bytes uint64
	dec         capture.DecoderStats
	live        capture.LiveStats
}

const (
	batchPackets = 256
	batchBytes   = 256 << 10
	batchesEach  = 8 // in flight per worker: bounds the queue memory

	publishEvery = 1024 // packets between publications of a worker's counters
)

// QueueBytes is the memory the batches between the reader and the workers
// can hold, per worker (NewPipeline with more than one worker).
const QueueBytes = batchesEach * batchBytes

// batch is a reusable group of packets whose payloads live in one slab.
type batch struct {
	pkts []capture.Packet
	slab []byte
	tick time.Time // after the packets: advance the clock to this time
}

// NewPipeline makes a pipeline with n workers (n < 1 means 1) fed by
// ReadSource or Packet.
func NewPipeline(cfg Config, n int, filter *capture.Filter) *Pipeline {
	return newPipeline(cfg, n, filter, false)
}

// NewFanoutPipeline makes a pipeline of n workers that each read their own
// source: ReadSources with n sources, each of which must deliver every
// packet of a connection it delivers any of (AF_PACKET fanout by flow
// hash). Filtering is the sources' business (a kernel filter).
func NewFanoutPipeline(cfg Config, n int) *Pipeline {
	return newPipeline(cfg, n, nil, true)
}

func newPipeline(cfg Config, n int, filter *capture.Filter, fanout bool) *Pipeline {
	if n < 1 {
		n = 1
	}
	p := &Pipeline{cfg: cfg, dec: capture.NewDecoder(capture.DefaultFragmentLimits), filter: filter, emit: cfg.Emit, fanout: fanout}
	wcfg := cfg
	if n > 1 {
		// findings come from several goroutines: serialise them
		wcfg.Emit = p.emitLocked
		if wcfg.MaxFlows > 0 {
			wcfg.MaxFlows = max(1, wcfg.MaxFlows/n)
		}
		if wcfg.MaxBuffered > 0 {
			wcfg.MaxBuffered = max(1, wcfg.MaxBuffered/n)
		}
	}
	for i := 0; i < n; i++ {
		w := &worker{s: New(wcfg)}
		switch {
		case fanout:
			w.dec = capture.NewDecoder(capture.DefaultFragmentLimits)
		case n > 1:
			w.in = make(chan *batch, batchesEach)
			w.free = make(chan *batch, batchesEach)
			for j := 0; j < batchesEach; j++ {
				w.free <- &batch{pkts: make([]capture.Packet, 0, batchPackets), slab: make([]byte, 0, batchBytes)}
			}
			w.done = make(chan struct{})
			go w.run()
		}
		p.workers = append(p.workers, w)
	}
	return p
}

func (p *Pipeline) emitLocked(f *auth.Finding) {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	if p.emit != nil {
		p.emit(f)
	}
}

func (w *worker) run() {
	defer close(w.done)
	for b := range w.in {
		for i := range b.pkts {
			if pkt := &b.pkts[i]; pkt.Proto == markClock {
				w.mark(pkt)
			} else {
				w.packet(pkt)
			}
		}
		if !b.tick.IsZero() {
			w.s.advance(b.tick)
			w.publish(b.tick)
			b.tick = time.Time{}
		}
		b.pkts, b.slab = b.pkts[:0], b.slab[:0]
		w.free <- b
	}
	w.s.Flush()
	w.publish(time.Time{})
}

// Clock marks travel among the packets of every worker's batches (Proto
// markClock, never a decoded packet's), so that each worker's clock moves
// as a single sensor's would over the whole trace: idle connections are
// closed at the same moments, and a flush at the end stamps what it emits
// with the time of the last packet, whichever worker saw it. With them N
// workers give exactly the findings of one.
const (
	markClock = 0
	markSweep = 0 // TCPFlags: the moment a single sensor would look for idle connections
	markEnd   = 1 // TCPFlags: the time of the trace's last packet, before the flush
)

func (w *worker) mark(m *capture.Packet) {
	if m.TCPFlags == markEnd {
		w.s.now, w.s.nowNs = m.Time, m.Time.UnixNano()
		return
	}
	w.s.clock(m.Time)
}

// packet hands one packet to the worker's sensor; every publishEvery
// packets, or when a second of packet time has passed, the counters are
// published.
func (w *worker) packet(pkt *capture.Packet) {
	w.s.Packet(pkt)
	w.n++
	if w.n >= publishEvery || pkt.Time.After(w.nextPub) {
		w.publish(pkt.Time)
	}
}

// publish makes the worker's counters visible to Snapshot. A zero now
// (the end) leaves the schedule alone.
func (w *worker) publish(now time.Time) {
	w.n = 0
	if !now.IsZero() {
		w.nextPub = now.Add(time.Second)
	}
	var ls capture.LiveStats
	pollLive := w.live != nil && (now.IsZero() || now.After(w.nextStats))
	if pollLive {
		// a system call: once a second is enough
		w.nextStats = now.Add(time.Second)
		ls, _ = w.live.Stats()
	}
	w.pub.mu.Lock()
	w.pub.s = w.s.stats
	w.pub.flows = w.s.table.count
	w.pub.buffered = w.s.buffered
	if w.dec != nil {
		w.pub.read, w.pub.bytes = w.read, w.bytes
		w.pub.dec = w.dec.Stats()
	}
	if pollLive && ls.Seen >= w.pub.live.Seen {
		w.pub.live = ls
	}
	w.pub.mu.Unlock()
}

// advance moves the sensor's clock to now when no packet did (a quiet
// live link) and closes the connections idle since.
func (s *Sensor) advance(now time.Time) {
	if !now.After(s.now) {
		return
	}
	s.now, s.nowNs = now, now.UnixNano()
	if !s.sweepSet || s.nowNs > s.nextSweep {
		s.sweep()
		s.nextSweep, s.sweepSet = s.nowNs+int64(time.Second), true
	}
}

// ErrNothingRead is returned by Close when no source yielded a packet.
var ErrNothingRead = errors.New("no packets could be read")

// ReadSource feeds every packet of src through the pipeline. A read error
// ends the source and is returned (the packets before it are processed).
// A live source (capture.LiveSource) is read until it is stopped; while
// it is quiet the workers' clocks advance with the wall clock, and packets
// waiting in a batch are handed over at least every 100 ms.
func (p *Pipeline) ReadSource(src capture.Source) error {
	if p.fanout {
		return fmt.Errorf("%s: a fanout pipeline reads with ReadSources", src.Name())
	}
	live, _ := src.(capture.LiveSource)
	var pkt capture.Packet
	var nextHandOver time.Time
	defer p.publishReader(live, time.Time{})
	for {
		data, ci, err := src.ReadPacket()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, capture.ErrTimeout) {
			now := time.Now()
			p.tick(now)
			p.publishReader(live, now)
			continue
		}
		if err != nil {
			return err
		}
		p.read++
		p.bytes += wireLen(data, ci.Length)
		p.rn++
		if p.rn >= publishEvery || ci.Timestamp.After(p.nextPub) {
			p.publishReader(live, ci.Timestamp)
		}
		if live != nil && len(p.workers) > 1 && ci.Timestamp.After(nextHandOver) {
			// a slow link must not leave packets waiting for a full batch
			nextHandOver = ci.Timestamp.Add(100 * time.Millisecond)
			p.tick(time.Time{})
		}
		lt := src.LinkType()
		if p.filter != nil && !p.filter.Match(ci, data) {
			continue
		}
		if p.dec.Decode(lt, data, ci, &pkt) != capture.Decoded {
			continue
		}
		p.Packet(&pkt)
	}
}

func wireLen(data []byte, length int) uint64 {
	if length > len(data) {
		return uint64(length)
	}
	return uint64(len(data))
}

// tick hands every worker the packets waiting in its batch and, when now
// is not zero, moves its clock to now.
func (p *Pipeline) tick(now time.Time) {
	if len(p.workers) == 1 {
		if !now.IsZero() {
			p.workers[0].s.advance(now)
			p.workers[0].publish(now)
		}
		return
	}
	for _, w := range p.workers {
		if now.IsZero() && (w.cur == nil || len(w.cur.pkts) == 0) {
			continue
		}
		if w.cur == nil {
			w.cur = <-w.free
		}
		w.cur.tick = now
		w.in <- w.cur
		w.cur = nil
	}
}

// publishReader makes the reader's counters visible to Snapshot; the
// kernel counters of a live source are read at most once a second.
func (p *Pipeline) publishReader(live capture.LiveSource, now time.Time) {
	p.rn = 0
	var ls capture.LiveStats
	pollLive := live != nil && (now.IsZero() || now.After(p.nextPub))
	if pollLive {
		ls, _ = live.Stats()
	}
	if !now.IsZero() && now.After(p.nextPub) {
		p.nextPub = now.Add(time.Second)
	}
	p.pub.mu.Lock()
	p.pub.read, p.pub.bytes = p.read, p.bytes
	p.pub.dec = p.dec.Stats()
	if pollLive && ls.Seen >= p.pub.live.Seen {
		p.pub.live = ls
	}
	p.pub.mu.Unlock()
}

// ReadSources reads srcs[i] in worker i, all at once, until every source
// ends (io.EOF: a stopped live source). When one fails, the live ones are
// stopped too (a capture missing a ring's share of the connections must
// not go on unnoticed); the errors are returned together.
func (p *Pipeline) ReadSources(srcs []capture.Source) error {
	if !p.fanout || len(srcs) != len(p.workers) {
		return fmt.Errorf("ReadSources: %d sources for %d fanout workers", len(srcs), len(p.workers))
	}
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = w.readOwn(srcs[i]); errs[i] != nil {
				for _, s := range srcs {
					if l, ok := s.(capture.LiveSource); ok {
						l.Stop()
					}
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readOwn is a fanout worker's loop: read, decode, track, all in one
// goroutine, nothing copied.
func (w *worker) readOwn(src capture.Source) error {
	w.live, _ = src.(capture.LiveSource)
	defer w.publish(time.Time{})
	var pkt capture.Packet
	for {
		data, ci, err := src.ReadPacket()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, capture.ErrTimeout) {
			now := time.Now()
			w.s.advance(now)
			w.publish(now)
			continue
		}
		if err != nil {
			return err
		}
		w.read++
		w.bytes += wireLen(data, ci.Length)
		if w.dec.Decode(src.LinkType(), data, ci, &pkt) == capture.Decoded {
			w.packet(&pkt)
		} else if ci.Timestamp.After(w.nextPub) {
			w.publish(ci.Timestamp)
		}
	}
}

// Packet routes one decoded packet to its worker.
func (p *Pipeline) Packet(pkt *capture.Packet) {
	if len(p.workers) == 1 {
		p.workers[0].packet(pkt)
		return
	}
	if p.nextMark.IsZero() || pkt.Time.After(p.nextMark) {
		// a single sensor would look for idle connections now (the rule
		// of Sensor.clock): so does every worker, before this packet
		p.nextMark = pkt.Time.Add(time.Second)
		p.broadcast(capture.Packet{Proto: markClock, TCPFlags: markSweep, Time: pkt.Time})
	}
	p.last = pkt.Time
	p.enqueue(p.workers[flowHash(pkt)%uint64(len(p.workers))], pkt)
}

func (p *Pipeline) broadcast(m capture.Packet) {
	for _, w := range p.workers {
		p.enqueue(w, &m)
	}
}

// enqueue copies a packet into the worker's current batch, handing the
// batch over when it is full.
func (p *Pipeline) enqueue(w *worker, pkt *capture.Packet) {
	if w.cur == nil {
		w.cur = <-w.free
	}
	b := w.cur
	if len(b.pkts) == cap(b.pkts) || len(b.slab)+len(pkt.Payload) > cap(b.slab) {
		w.in <- b
		b = <-w.free
		w.cur = b
	}
	c := *pkt
	if len(pkt.Payload) <= cap(b.slab)-len(b.slab) {
		start := len(b.slab)
		b.slab = append(b.slab, pkt.Payload...)
		c.Payload = b.slab[start:len(b.slab):len(b.slab)]
	} else {
		c.Payload = append([]byte(nil), pkt.Payload...) // larger than a slab: rare (reassembled datagrams)
	}
	b.pkts = append(b.pkts, c)
}

// flowHash is symmetric: both directions of a connection hash alike.
func flowHash(p *capture.Packet) uint64 {
	k, _ := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto)
	return k.hash()
}

// Close ends the input: every flow is closed and its pending attempts are
// emitted. It returns ErrNothingRead when no packet was read at all.
func (p *Pipeline) Close() error {
	switch {
	case len(p.workers) == 1 || p.fanout:
		for _, w := range p.workers {
			w.s.Flush()
			w.publish(time.Time{})
		}
	default:
		if !p.last.IsZero() {
			p.broadcast(capture.Packet{Proto: markClock, TCPFlags: markEnd, Time: p.last})
		}
		for _, w := range p.workers {
			if w.cur != nil && len(w.cur.pkts) > 0 {
				w.in <- w.cur
			}
			w.cur = nil
			close(w.in)
		}
		for _, w := range p.workers {
			<-w.done
		}
	}
	if p.Read() == 0 {
		return ErrNothingRead
	}
	return nil
}

// Stats sums the workers' counters (call after Close).
func (p *Pipeline) Stats() (Stats, capture.DecoderStats) {
	var t Stats
	ds := p.dec.Stats()
	for _, w := range p.workers {
		t.add(w.s.Stats())
		if w.dec != nil {
			addDecoderStats(&ds, w.dec.Stats())
		}
	}
	return t, ds
}

func (t *Stats) add(s Stats) {
	t.Packets += s.Packets
	t.TCP += s.TCP
	t.UDP += s.UDP
	t.Flows += s.Flows
	t.FlowsIgnored += s.FlowsIgnored
	t.FlowsEvicted += s.FlowsEvicted
	t.FlowsIdle += s.FlowsIdle
	t.Findings += s.Findings
	t.Retransmitted += s.Retransmitted
	t.OutOfOrder += s.OutOfOrder
	t.OutOfOrderLimitHits += s.OutOfOrderLimitHits
	t.BufferLimitHits += s.BufferLimitHits
	t.MemoryLimitHits += s.MemoryLimitHits
	t.Gaps += s.Gaps
	t.SkippedBytes += s.SkippedBytes
}

func addDecoderStats(t *capture.DecoderStats, s capture.DecoderStats) {
	t.Packets += s.Packets
	t.Decoded += s.Decoded
	t.Skipped += s.Skipped
	t.Held += s.Held
	t.Malformed += s.Malformed
	t.Truncated += s.Truncated
	t.Fragments += s.Fragments
	t.Reassembled += s.Reassembled
	t.FragmentsDropped += s.FragmentsDropped
	t.UnsupportedLink += s.UnsupportedLink
}

// Read is the number of frames read from all sources.
func (p *Pipeline) Read() uint64 {
	n := p.read
	for _, w := range p.workers {
		n += w.read
	}
	return n
}

// Workers is the number of workers.
func (p *Pipeline) Workers() int { return len(p.workers) }

// Snapshot is what the pipeline has done so far, as its goroutines last
// published it.
type Snapshot struct {
	Read, Bytes uint64               // frames and bytes (as on the wire) read from the sources
	Capture     capture.LiveStats    // kernel counters of live sources
	Decoder     capture.DecoderStats // link-layer decoding
	Sensor      Stats                // flows, reassembly, findings, limits hit
	Flows       int                  // connections tracked now
	Buffered    int                  // bytes the streams hold now
}

// Snapshot sums the counters last published; safe to call from any
// goroutine while the pipeline runs. After Close it is exact.
func (p *Pipeline) Snapshot() Snapshot {
	var sn Snapshot
	add := func(pub *published) {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		sn.Read += pub.read
		sn.Bytes += pub.bytes
		sn.Capture.Add(pub.live)
		addDecoderStats(&sn.Decoder, pub.dec)
		sn.Sensor.add(pub.s)
		sn.Flows += pub.flows
		sn.Buffered += pub.buffered
	}
	add(&p.pub)
	for _, w := range p.workers {
		add(&w.pub)
	}
	return sn
}
