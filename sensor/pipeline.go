package sensor

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/internal/prefetch"
)

// Pipeline reads sources, decodes link layers, and spreads packets over
// workers so that every packet of a connection reaches the same worker and
// no lock is taken per packet. Two ways:
//   - NewPipeline: one reader (ReadSource: files, a libpcap handle) reads
//     batches of records (straight from the file where it can, see
//     capture.BatchReader), reads the flow of each frame (capture.Peek)
//     and hashes it symmetrically, and hands the whole batch to every
//     worker with the list of frames that are its own: no packet is
//     copied, and each worker decodes its frames from the shared bytes.
//     Only uncommon frames (tunnels, fragments, ...) are decoded by the
//     reader. With one worker it runs inline. (Workers that read the
//     file in turn, with no reader goroutine, were measured: the read,
//     serial either way, then left both cores waiting on it.)
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
	emit    func(*findings.Finding)
	fanout  bool // workers read their own sources

	free   chan *batch // batches the workers are done with
	parts  uint64      // parts of files read by several readers at once (parts.go)
	reread uint64      // of them, read again: their first record was guessed wrong

	// the reader's counters (ReadSource)
	read, bytes uint64
	rn          int
	nextPub     time.Time
	nextPubNs   int64 // nextPub, Unix ns
	pub         published
	live        capture.LiveSource

	nextMark int64 // Unix ns: when the workers next get a clock mark
	markSet  bool
	last     int64 // Unix ns: time of the last packet routed
	routed   bool
	latest   int64 // Unix ns: the latest packet read since the last trace break
	file     string
	breaks   sync.WaitGroup // workers not done with a trace break
}

// worker owns one Sensor. It is fed shared batches (NewPipeline, more than
// one worker), or called inline, or reads its own source
// (NewFanoutPipeline).
type worker struct {
	s     *Sensor
	index int
	in    chan *batch
	free  chan<- *batch
	done  chan struct{}
	pkt   capture.Packet

	breaks *sync.WaitGroup // Pipeline.breaks

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
	parts       uint64
	reread      uint64
	dec         capture.DecoderStats
	live        capture.LiveStats
}

const (
	batchBytes   = 512 << 10 // a read of this size goes from the file into the batch directly
	batchFrames  = 4096
	batchesEach  = 3                      // in flight per worker: bounds the queue memory
	publishEvery = 1024                   // packets between publications of a worker's counters
	handOver     = 100 * time.Millisecond // a live link's batch waits no longer
)

// QueueBytes is the memory the batches between the reader and the workers
// can hold, per worker (NewPipeline with more than one worker): the
// records (at most a part of a file and its slack, capture.PartBytes), the
// frame index, the flows found by the part readers and the workers'
// lists. A part of empty records (a 16-byte header each) has the most
// frames.
const QueueBytes = batchesEach * (capture.PartBytes + maxFrames*(frameSize+flowRefSize+entrySize))

const (
	maxFrames   = capture.PartBytes / 16
	frameSize   = 24 // capture.Frame
	flowRefSize = 16 // flowRef
	entrySize   = 16 // entry
)

// batch is a capture.Batch on its way through the pipeline: the reader
// found the flow of its frames and listed for each worker the ones that
// are its own, in order, with their flow hash and the clock marks among
// them.
type batch struct {
	capture.Batch
	lists   [][]entry
	extra   []capture.Packet // packets the reader decoded itself (tunnels, fragments, other link types)
	side    []byte           // their payloads, when reassembled from fragments
	pending atomic.Int32     // workers not done with it
	tick    time.Time        // after the packets: advance the clock to this time
	end     int64            // Unix ns, when endSet: the time of the trace's last packet, before the flush
	endSet  bool
	brk     bool   // a trace break: end every connection (after end)
	file    string // the file its frames come from

	// read by a part reader (parts.go)
	span   capture.Span
	flows  []flowRef // the flow of each frame
	peeked bool      // flows is the batch's
}

// entry is one item of a worker's list: a frame of the batch, a packet of
// extra (a packet the reader decoded), or a clock mark at a frame's time.
//
// Clock marks travel among the packets of every worker's list, so that
// each worker's clock moves as a single sensor's would over the whole
// trace: idle connections are closed at the same moments, and a flush at
// the end stamps what it emits with the time of the last packet, whichever
// worker saw it. With them N workers give exactly the findings of one.
type entry struct {
	hash uint64
	idx  uint32 // frame index, or a kind bit and an index
}

const (
	extraBit = 1 << 31 // idx names a packet of batch.extra
	markBit  = 1 << 30 // a clock mark at the time of frame idx
	idxMask  = markBit - 1
)

// NewPipeline makes a pipeline with n workers (n < 1 means 1) fed by
// ReadSource.
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
	batches := 1
	if !fanout && n > 1 {
		batches = batchesEach * n
	}
	p.free = make(chan *batch, batches)
	if !fanout {
		for j := 0; j < batches; j++ {
			b := &batch{Batch: *capture.NewBatch(batchBytes, batchFrames), lists: make([][]entry, n)}
			if n > 1 {
				// room for a part of a file (parts.go) and its flows
				b.Data = make([]byte, 0, capture.PartBytes)
				b.flows = make([]flowRef, 0, batchFrames)
			}
			p.free <- b
		}
	}
	for i := 0; i < n; i++ {
		w := &worker{s: New(wcfg), index: i, breaks: &p.breaks}
		switch {
		case fanout:
			w.dec = capture.NewDecoder(capture.DefaultFragmentLimits)
		case n > 1:
			// decodes the frames of shared batches; its counters add to the reader's
			w.dec = capture.NewDecoder(capture.DefaultFragmentLimits)
			w.in = make(chan *batch, batches)
			w.free = p.free
			w.done = make(chan struct{})
			go w.run()
		}
		p.workers = append(p.workers, w)
	}
	return p
}

func (p *Pipeline) emitLocked(f *findings.Finding) {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	if p.emit != nil {
		p.emit(f)
	}
}

func (w *worker) run() {
	defer close(w.done)
	for b := range w.in {
		brk := b.brk
		w.batch(b)
		if b.pending.Add(-1) == 0 {
			w.free <- b
		}
		if brk {
			w.breaks.Done()
		}
	}
	w.s.Flush()
	w.publish(time.Time{})
}

// batch works through the worker's own packets of a shared batch.
func (w *worker) batch(b *batch) {
	list := b.lists[w.index]
	w.s.file = b.file
	// the slots and frame headers of the packets ahead are read before they
	// are needed: their cache misses (the frames were written on the
	// reader's core) overlap instead of coming one after the other
	const ahead = 8
	for k := 0; k < min(ahead, len(list)); k++ {
		w.prefetch(b, list[k])
	}
	for k, e := range list {
		if k+ahead < len(list) {
			w.prefetch(b, list[k+ahead])
		}
		i := int(e.idx & idxMask)
		var pkt *capture.Packet
		switch {
		case e.idx&markBit != 0:
			w.s.clock(time.Unix(0, b.Frames[i].TS))
			w.tellClock()
			continue
		case e.idx&extraBit != 0:
			pkt = &b.extra[i]
		default:
			f := &b.Frames[i]
			pkt = &w.pkt
			if w.dec.Decode(f.Link, b.Bytes(i), f.CaptureInfo(), pkt) != capture.Decoded {
				continue // cannot be: capture.Peek read it
			}
		}
		w.s.packet(pkt, e.hash)
		w.count(pkt.Time)
	}
	if b.endSet {
		w.s.now, w.s.nowNs = time.Unix(0, b.end), b.end
	}
	if b.brk {
		w.traceBreak()
	}
	if !b.tick.IsZero() {
		w.s.advance(b.tick)
		w.publish(b.tick)
	}
}

// traceBreak ends every connection and restarts the clock.
func (w *worker) traceBreak() {
	w.s.Flush()
	w.s.restart()
	w.nextPub = time.Time{}
	w.publish(time.Time{})
}

func (w *worker) prefetch(b *batch, e entry) {
	w.s.table.prefetch(e.hash)
	if e.idx&(extraBit|markBit) == 0 {
		// the headers: Ethernet, IP, TCP span two cache lines at worst
		off := b.Frames[e.idx].Off
		prefetch.Byte(&b.Data[off])
		prefetch.Byte(&b.Data[min(off+64, uint32(len(b.Data)-1))])
	}
}

// packet hands one packet to the worker's sensor; every publishEvery
// packets, or when a second of packet time has passed, the counters are
// published.
func (w *worker) packet(pkt *capture.Packet) {
	w.s.Packet(pkt)
	w.count(pkt.Time)
}

func (w *worker) count(t time.Time) {
	w.n++
	if w.n >= publishEvery || t.After(w.nextPub) {
		w.publish(t)
	}
}

// publish makes the worker's counters visible to Snapshot. A zero now
// (the end) leaves the schedule alone.
func (w *worker) publish(now time.Time) {
	w.tellClock()
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

// tellClock hands the worker's clock to Config.Clock.
func (w *worker) tellClock() {
	if c := w.s.cfg.Clock; c != nil && !w.s.now.IsZero() {
		c(w.index, w.s.now)
	}
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
	p.live, _ = src.(capture.LiveSource)
	defer func() { p.publishReader(time.Time{}); p.live = nil }()
	br, direct := src.(capture.BatchReader)
	if sp, ok := src.(capture.Splitter); ok && direct && p.live == nil && len(p.workers) > 1 {
		if parts, ok := sp.Split(); ok {
			if err := p.readParts(parts); err != nil {
				return err
			}
		}
	}
	var nextHandOver time.Time
	for {
		b := <-p.free
		b.tick, b.endSet, b.brk, b.file, b.peeked = time.Time{}, false, false, p.file, false
		var err error
		if direct && p.live == nil {
			err = br.ReadBatch(&b.Batch)
		} else {
			// a source that reuses its buffer: copy its packets
			b.Reset()
			for !b.Full() {
				data, ci, e := src.ReadPacket()
				if errors.Is(e, capture.ErrTimeout) {
					b.tick = time.Now()
					break
				}
				if e != nil {
					err = e
					break
				}
				b.Append(data, ci, src.LinkType())
				if p.live != nil && ci.Timestamp.After(nextHandOver) {
					// a slow link must not leave packets waiting for a full batch
					nextHandOver = ci.Timestamp.Add(handOver)
					break
				}
			}
		}
		p.dispatch(b)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// dispatch counts, filters and decodes the frames of a batch, and runs
// them inline (one worker) or lists each for its worker and hands the
// batch to all of them.
func (p *Pipeline) dispatch(b *batch) {
	n := len(p.workers)
	for w := range b.lists {
		b.lists[w] = b.lists[w][:0]
	}
	b.extra, b.side = b.extra[:0], b.side[:0]
	var scratch capture.Packet
	for i := range b.Frames {
		f := &b.Frames[i]
		data := b.Bytes(i)
		p.latest = max(p.latest, f.TS)
		p.read++
		p.bytes += wireLen(data, int(f.OrigLen))
		p.rn++
		if p.rn >= publishEvery || f.TS > p.nextPubNs {
			p.publishReader(time.Unix(0, f.TS))
		}
		if p.filter != nil && !p.filter.Match(f.CaptureInfo(), data) {
			continue
		}
		if n == 1 {
			p.workers[0].s.file = b.file
			if p.dec.Decode(f.Link, data, f.CaptureInfo(), &scratch) == capture.Decoded {
				p.workers[0].packet(&scratch)
			}
			continue
		}
		idx := uint32(i)
		var h uint64
		var ok bool
		if b.peeked {
			h, ok = b.flows[i].hash, b.flows[i].ok
		} else {
			h, ok = peekHash(f.Link, data)
		}
		if !ok {
			// the reader decodes the others itself
			pkt := &scratch
			if p.dec.Decode(f.Link, data, f.CaptureInfo(), pkt) != capture.Decoded {
				continue
			}
			if pkt.Reassembled {
				// the decoder's buffer is reused at the next frame: the
				// worker gets a copy
				start := len(b.side)
				b.side = append(b.side, pkt.Payload...)
				pkt.Payload = b.side[start:len(b.side):len(b.side)]
			}
			idx = extraBit | uint32(len(b.extra))
			b.extra = append(b.extra, *pkt)
			h = flowHash(pkt)
		}
		if ts := f.TS; !p.markSet || ts > p.nextMark {
			// a single sensor would look for idle connections now (the
			// rule of Sensor.clock): so does every worker, before this packet
			p.nextMark, p.markSet = ts+int64(time.Second), true
			for w := range b.lists {
				b.lists[w] = append(b.lists[w], entry{idx: uint32(i) | markBit})
			}
		}
		p.last, p.routed = f.TS, true
		w := h % uint64(n)
		b.lists[w] = append(b.lists[w], entry{hash: h, idx: idx})
	}
	if !b.tick.IsZero() {
		p.publishReader(b.tick)
	}
	if n > 1 {
		p.handOut(b)
		return
	}
	w := p.workers[0]
	if !b.tick.IsZero() {
		w.s.advance(b.tick)
		w.publish(b.tick)
	}
	p.free <- b
}

// handOut gives a batch to every worker; the last one done frees it.
func (p *Pipeline) handOut(b *batch) {
	b.pending.Store(int32(len(p.workers)))
	for _, w := range p.workers {
		w.in <- b
	}
}

func wireLen(data []byte, length int) uint64 {
	if length > len(data) {
		return uint64(length)
	}
	return uint64(len(data))
}

// publishReader makes the reader's counters visible to Snapshot; the
// kernel counters of a live source are read at most once a second.
func (p *Pipeline) publishReader(now time.Time) {
	p.rn = 0
	var ls capture.LiveStats
	pollLive := p.live != nil && (now.IsZero() || now.After(p.nextPub))
	if pollLive {
		ls, _ = p.live.Stats()
	}
	if !now.IsZero() && now.After(p.nextPub) {
		p.nextPub = now.Add(time.Second)
		p.nextPubNs = p.nextPub.UnixNano()
	}
	p.pub.mu.Lock()
	p.pub.read, p.pub.bytes, p.pub.parts, p.pub.reread = p.read, p.bytes, p.parts, p.reread
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

// SetFile names the file the next ReadSource reads: log.file.path of the
// findings that its packets complete ("" for none: live capture).
func (p *Pipeline) SetFile(path string) { p.file = path }

// Latest is the time of the latest packet read since the start or the
// last trace break (zero: none).
func (p *Pipeline) Latest() time.Time {
	if p.latest == 0 {
		return time.Time{}
	}
	return time.Unix(0, p.latest)
}

// TraceBreak ends every connection, as at the end of the input (pending
// attempts are emitted, stamped as their own packets say), and restarts
// the clocks: what is read next is an unrelated capture whose time may go
// backwards, and shares nothing with what was read. Then Config.OnTraceBreak
// is called. Call it between two ReadSource calls (not on a fanout
// pipeline).
func (p *Pipeline) TraceBreak() {
	switch {
	case p.fanout:
	case len(p.workers) == 1:
		p.workers[0].traceBreak()
	case p.routed:
		// in band, after every batch before it; wait until all are done, so
		// that OnTraceBreak falls between the findings of the two traces
		b := <-p.free
		b.Reset()
		for w := range b.lists {
			b.lists[w] = b.lists[w][:0]
		}
		b.tick, b.end, b.endSet, b.brk, b.file = time.Time{}, p.last, true, true, p.file
		p.breaks.Add(len(p.workers))
		p.handOut(b)
		p.breaks.Wait()
	}
	p.markSet, p.routed, p.latest = false, false, 0
	p.nextPub, p.nextPubNs = time.Time{}, 0
	if p.cfg.OnTraceBreak != nil {
		p.cfg.OnTraceBreak()
	}
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
		if p.routed {
			// every worker's clock ends at the trace's last packet
			b := <-p.free
			b.Reset()
			for w := range b.lists {
				b.lists[w] = b.lists[w][:0]
			}
			b.tick, b.end, b.endSet, b.brk = time.Time{}, p.last, true, false
			p.handOut(b)
		}
		for _, w := range p.workers {
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
	t.UDPIgnored += s.UDPIgnored
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
	Parts       uint64               // parts of files read by several readers at once (capture.Parts)
	Reread      uint64               // of them, read again: a wrong guess of their first record (capture.Parts)
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
		sn.Parts += pub.parts
		sn.Reread += pub.reread
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
