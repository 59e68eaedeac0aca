package sensor

import (
	"errors"
	"io"
	"sync"

	"github.com/cespare/xxhash/v2"

	"ntlmsensor/sensor/auth"
	"ntlmsensor/sensor/capture"
)

// Pipeline reads sources, decodes link layers, and spreads packets over
// workers by a symmetric flow hash, so that every packet of a connection
// reaches the same worker and no lock is taken per packet. With one worker
// it runs inline, copying nothing.
type Pipeline struct {
	cfg     Config
	dec     *capture.Decoder
	filter  *capture.Filter
	workers []*worker
	emitMu  sync.Mutex
	emit    func(*auth.Finding)
	read    uint64 // frames read from all sources
}

// worker owns one Sensor and is fed batches of copied packets.
type worker struct {
	s    *Sensor
	in   chan *batch
	free chan *batch
	cur  *batch
	done chan struct{}
}

const (
	batchPackets = 256
	batchBytes   = 256 << 10
	batchesEach  = 8 // in flight per worker: bounds the queue memory
)

// batch is a reusable group of packets whose payloads live in one slab.
type batch struct {
	pkts []capture.Packet
	slab []byte
}

// NewPipeline makes a pipeline with n workers (n < 1 means 1).
func NewPipeline(cfg Config, n int, filter *capture.Filter) *Pipeline {
	if n < 1 {
		n = 1
	}
	p := &Pipeline{cfg: cfg, dec: capture.NewDecoder(capture.DefaultFragmentLimits), filter: filter, emit: cfg.Emit}
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
		if n > 1 {
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
			w.s.Packet(&b.pkts[i])
		}
		b.pkts, b.slab = b.pkts[:0], b.slab[:0]
		w.free <- b
	}
	w.s.Flush()
}

// ErrNothingRead is returned by Close when no source yielded a packet.
var ErrNothingRead = errors.New("no packets could be read")

// ReadSource feeds every packet of src through the pipeline. A read error
// ends the source and is returned (the packets before it are processed).
func (p *Pipeline) ReadSource(src capture.Source) error {
	var pkt capture.Packet
	for {
		data, ci, err := src.ReadPacket()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p.read++
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

// Packet routes one decoded packet to its worker.
func (p *Pipeline) Packet(pkt *capture.Packet) {
	if len(p.workers) == 1 {
		p.workers[0].s.Packet(pkt)
		return
	}
	w := p.workers[flowHash(pkt)%uint64(len(p.workers))]
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
	var buf [37]byte
	copy(buf[0:16], k.a[:])
	copy(buf[16:32], k.b[:])
	buf[32], buf[33] = byte(k.ap>>8), byte(k.ap)
	buf[34], buf[35] = byte(k.bp>>8), byte(k.bp)
	buf[36] = k.proto
	return xxhash.Sum64(buf[:])
}

// Close ends the input: every flow is closed and its pending attempts are
// emitted. It returns ErrNothingRead when no packet was read at all.
func (p *Pipeline) Close() error {
	if len(p.workers) == 1 {
		p.workers[0].s.Flush()
	} else {
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
	if p.read == 0 {
		return ErrNothingRead
	}
	return nil
}

// Stats sums the workers' counters (call after Close).
func (p *Pipeline) Stats() (Stats, capture.DecoderStats) {
	var t Stats
	for _, w := range p.workers {
		s := w.s.Stats()
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
	return t, p.dec.Stats()
}

// Read is the number of frames read from all sources.
func (p *Pipeline) Read() uint64 { return p.read }
