package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"ntlmsensor/findings"
)

// Sink sends findings to Elasticsearch. Write never waits for the network:
// it queues the document in memory (at most BufferBytes), or appends it to
// the spool when no node answers, when the memory queue is full, or while
// older findings still wait in the spool (so that they stay in order).
// Without a spool, Write waits for room in memory instead.
//
// One goroutine, the shipper, hands findings to the bulk indexer: first the
// ones to retry, then the memory queue, then the spool, oldest first.
type Sink struct {
	cfg    Config
	client *elasticsearch.Client
	rt     http.RoundTripper
	bi     esutil.BulkIndexer
	tr     *transport
	namer  *indexNamer
	spool  *spool
	dlq    *deadLetter

	mu          sync.Mutex
	cond        *sync.Cond
	mem         []*item // FIFO from memHead
	memHead     int
	memBytes    int
	retry       []*item // handed back by the indexer: delivered before anything else
	inflight    int     // handed to the indexer, outcome not yet known
	unflushed   bool    // added to the indexer since its last Flush
	spoolSeq    []*item // spool records in flight, in spool order (commit their done prefix)
	spoolHead   int
	pending     int64 // findings in the spool not yet delivered
	down        bool  // the last delivery failed: no node answers
	downUntil   time.Time
	downWait    time.Duration
	closing     bool // Close called: deliver what is buffered, then stop
	closeProbed bool // closing while down: one delivery was tried
	closed      bool // Write refuses
	stopped     bool // give up: what is left is spooled
	fullSaid    bool
	scratch     []byte

	stopCtx context.Context
	stop    context.CancelFunc
	shipped chan struct{}

	sent, failed, retried, spooled, deadLettered atomic.Uint64
	damaged                                      atomic.Uint64
}

// item is one finding on its way.
type item struct {
	doc       []byte
	fromSpool bool
	end       spoolPos // fromSpool: position just after it
	done      bool     // fromSpool: delivered or dead-lettered
}

// Stats are the sink's counters.
type Stats struct {
	Sent         uint64 // acknowledged by Elasticsearch
	Retried      uint64 // sent again after a failed attempt (one per finding per retry)
	Spooled      uint64 // written to the spool
	DeadLettered uint64 // refused for their content, written to the dead-letter file
	Failed       uint64 // lost: neither delivered, nor spooled, nor dead-lettered
	InSpool      int64  // waiting in the spool
	SpoolErrors  uint64 // appends to the spool that failed (disk full): the segment was cut back, the finding counted in Failed
	Damaged      uint64 // spool lines that were not a document: dead-lettered raw (a whole document glued after one is delivered)
}

func (s Stats) String() string {
	str := fmt.Sprintf("%d sent, %d retried, %d spooled, %d dead-lettered, %d failed, %d waiting in the spool",
		s.Sent, s.Retried, s.Spooled, s.DeadLettered, s.Failed, s.InSpool)
	if s.SpoolErrors > 0 || s.Damaged > 0 {
		str += fmt.Sprintf(" (%d spool write errors, %d damaged spool lines)", s.SpoolErrors, s.Damaged)
	}
	return str
}

var errClosed = errors.New("elasticsearch: sink closed")

// MemoryBound is the most live heap the sink may use, in bytes: the memory
// queue, the shipper's batch, and per bulk worker its request buffer (the
// indexer's buffer may double), the documents it holds, the transport's copy
// and the compressed body, the decoded answer (a Go map per item, some
// 1.7 KB each, several times the document), and the gzip writer's state.
// The spool is on disk. Measured by TestMemoryBound*.
func MemoryBound(c Config) int64 {
	return int64(c.BufferBytes) + int64(c.FlushBytes) + int64(c.Workers)*(12*int64(c.FlushBytes)+1<<20)
}

// Open connects nothing yet (the first bulk request does), opens the spool
// and the dead-letter file, and starts delivering what a previous run left
// in the spool.
func Open(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Minute
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	client, rt, err := cfg.newClient()
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, client: client, rt: rt, shipped: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	if cfg.DataStream == "" {
		s.namer, _ = newIndexNamer(cfg.Index)
		s.namer.ingest = cfg.IndexTime == "ingest"
	}
	if cfg.Spool != "" {
		if s.spool, err = openSpool(cfg.Spool, cfg.SpoolMaxBytes); err != nil {
			return nil, err
		}
		if s.pending, err = countRecords(s.spool); err != nil {
			s.spool.Close()
			return nil, err
		}
	}
	dlqPath := cfg.DeadLetter
	if dlqPath == "" && cfg.Spool != "" {
		dlqPath = filepath.Join(cfg.Spool, "dead-letter.jsonl")
	}
	if s.dlq, err = openDeadLetter(dlqPath, cfg.DLQWriter); err != nil {
		if s.spool != nil {
			s.spool.Close()
		}
		return nil, err
	}
	s.tr = &transport{
		next:       client,
		retries:    cfg.Retries,
		backoffMin: cfg.BackoffMin,
		backoffMax: cfg.BackoffMax,
		retryAfter: cfg.RetryAfter,
		timeout:    cfg.Timeout,
		giveUpFast: s.closingWithSpool,
		retried:    &s.retried,
	}
	index := cfg.DataStream
	if index == "" && !s.namer.dated {
		index = s.namer.name(nil)
	}
	s.bi, err = esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		NumWorkers:    cfg.Workers,
		FlushBytes:    cfg.FlushBytes,
		FlushInterval: cfg.FlushInterval,
		Client:        s.tr,
		Decoder:       decoder{},
		Index:         index,
		OnFlushStart:  func(context.Context) context.Context { return s.stopCtx },
		OnError: func(_ context.Context, err error) {
			if !errors.Is(err, context.Canceled) {
				s.cfg.logf("elasticsearch: %v", err)
			}
		},
	})
	if err != nil {
		s.dlq.Close()
		if s.spool != nil {
			s.spool.Close()
		}
		return nil, err
	}
	go s.ship()
	return s, nil
}

func countRecords(sp *spool) (int64, error) {
	n, err := SpoolPending(sp.dir)
	return int64(n), err
}

func (s *Sink) closingWithSpool() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing && s.spool != nil
}

// Write queues one document. It does not keep d.
func (s *Sink) Write(d findings.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.failed.Add(1)
		return errClosed
	}
	s.scratch = d.AppendJSON(s.scratch[:0])
	return s.enqueueLocked(bytes.Clone(s.scratch))
}

// WriteDoc queues one document already in the contract's shape (one line).
func (s *Sink) WriteDoc(doc []byte) error {
	if bytes.IndexByte(doc, '\n') >= 0 {
		return errors.New("elasticsearch: document holds a newline")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.failed.Add(1)
		return errClosed
	}
	return s.enqueueLocked(bytes.Clone(doc))
}

func (s *Sink) enqueueLocked(doc []byte) error {
	if s.spool != nil && (s.down || s.spool.Unread() || s.memBytes+len(doc) > s.cfg.BufferBytes) {
		return s.spoolLocked(doc)
	}
	for s.spool == nil && s.memBytes > 0 && s.memBytes+len(doc) > s.cfg.BufferBytes && !s.stopped {
		s.cond.Wait() // no spool: the sensor waits for the network
	}
	s.mem = append(s.mem, &item{doc: doc})
	s.memBytes += len(doc)
	s.cond.Broadcast()
	return nil
}

func (s *Sink) spoolLocked(doc []byte) error {
	if err := s.spool.Append(doc); err != nil {
		s.failed.Add(1)
		if !s.fullSaid {
			s.fullSaid = true
			s.cfg.logf("elasticsearch: finding dropped: %v (%d MiB in %s; -spool-max-bytes)", err, s.spool.Bytes()>>20, s.spool.dir)
		}
		return fmt.Errorf("elasticsearch: finding dropped: %w", err)
	}
	s.fullSaid = false
	s.pending++
	s.spooled.Add(1)
	s.cond.Broadcast()
	return nil
}

// ship is the shipper goroutine.
func (s *Sink) ship() {
	defer close(s.shipped)
	for {
		batch, flush, ok := s.next()
		if !ok {
			return
		}
		for i, it := range batch {
			if err := s.add(it); err != nil {
				s.mu.Lock()
				for _, it := range batch[i:] {
					s.inflight--
					s.requeueLocked(it)
				}
				s.mu.Unlock()
				break
			}
		}
		if flush {
			s.mu.Lock()
			s.unflushed = false
			s.mu.Unlock()
			s.bi.Flush(s.stopCtx)
		}
	}
}

// next picks what to hand the indexer, and whether to flush it at once.
func (s *Sink) next() (batch []*item, flush, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopped {
			return nil, false, false
		}
		if s.closing && s.down && s.spool != nil && s.closeProbed {
			return nil, false, false // no node answers: Close spools the rest
		}
		if s.down && !(s.closing && s.spool != nil) { // at exit with a spool: one try at once
			if wait := time.Until(s.downUntil); wait > 0 {
				s.sleepLocked(wait)
				continue
			}
		}
		probe := s.down
		switch {
		case len(s.retry) > 0:
			batch = takeBytes(&s.retry, s.cfg.FlushBytes)
			flush = true
		case s.memHead < len(s.mem):
			n, size := s.memHead, 0
			for n < len(s.mem) && (size == 0 || size+len(s.mem[n].doc) <= s.cfg.FlushBytes) {
				size += len(s.mem[n].doc)
				n++
			}
			batch = append(batch, s.mem[s.memHead:n]...)
			clear(s.mem[s.memHead:n])
			s.memHead, s.memBytes = n, s.memBytes-size
			if s.memHead == len(s.mem) {
				s.mem, s.memHead = s.mem[:0], 0
			} else if s.memHead > 1024 && s.memHead > len(s.mem)/2 {
				s.mem = append(s.mem[:0], s.mem[s.memHead:]...)
				s.memHead = 0
			}
			s.cond.Broadcast() // room for a waiting Write
			flush = probe || s.closing
		case s.spool != nil && s.spool.Unread():
			recs, err := s.spool.Read(s.cfg.FlushBytes)
			if err != nil {
				s.cfg.logf("elasticsearch: %v", err)
				s.sleepLocked(time.Second)
				continue
			}
			for _, r := range recs {
				it := &item{doc: r.doc, fromSpool: true, end: r.end}
				if !json.Valid(r.doc) {
					// a damaged line (a spool of an older version cut by a
					// full disk): one bad document must not make the bulk
					// request refused as a whole
					it.doc = s.damagedLocked(r.doc)
					if it.doc == nil {
						it.done = true
						s.inflight++ // finished at once below
					}
				}
				s.spoolSeq = append(s.spoolSeq, it)
				if it.done {
					s.finishLocked(it)
					continue
				}
				batch = append(batch, it)
			}
			flush = probe || s.closing || !s.spool.Unread()
		case s.closing && s.inflight == 0:
			return nil, false, false // all delivered
		case s.closing && s.unflushed:
			return nil, true, true // push out what the indexer holds
		default:
			s.cond.Wait()
			continue
		}
		if len(batch) == 0 {
			continue
		}
		if probe && s.closing {
			s.closeProbed = true // one try at exit, then the spool keeps the rest
		}
		s.inflight += len(batch)
		s.unflushed = true
		return batch, flush, true
	}
}

func takeBytes(q *[]*item, limit int) []*item {
	n, size := 0, 0
	for n < len(*q) && (size == 0 || size+len((*q)[n].doc) <= limit) {
		size += len((*q)[n].doc)
		n++
	}
	batch := append([]*item(nil), (*q)[:n]...)
	*q = append((*q)[:0], (*q)[n:]...)
	return batch
}

// sleepLocked waits d, or less when something changes.
func (s *Sink) sleepLocked(d time.Duration) {
	t := time.AfterFunc(d, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	s.cond.Wait()
	t.Stop()
}

func (s *Sink) add(it *item) error {
	bi := esutil.BulkIndexerItem{
		Action: "create",
		Body:   bytes.NewReader(it.doc),
		OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
			s.succeeded(it)
		},
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
			s.rejected(it, r, err)
		},
	}
	if s.namer != nil && s.namer.dated {
		bi.Index = s.namer.name(it.doc)
	}
	return s.bi.Add(s.stopCtx, bi)
}

func (s *Sink) succeeded(it *item) {
	s.sent.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upLocked()
	s.finishLocked(it)
}

// rejected: an item the indexer reports failed. Transient failures (the
// transport gave up, 429, 5xx) are delivered again later; anything else is
// the server refusing the document: a dead letter.
func (s *Sink) rejected(it *item, r esutil.BulkIndexerResponseItem, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || r.Error.Type == typeUndelivered || r.Status == http.StatusTooManyRequests || r.Status >= 500 {
		reason := describe(r)
		if err != nil {
			reason = err.Error()
		}
		s.downLocked(reason)
		s.inflight--
		s.requeueLocked(it)
		return
	}
	s.upLocked() // the server answered
	if werr := s.dlq.write(r.Status, describe(r), it.doc); werr != nil {
		s.failed.Add(1)
		s.cfg.logf("%v", werr)
	} else {
		s.deadLettered.Add(1)
	}
	s.finishLocked(it)
}

// damagedLocked takes a spool line that is not a JSON document: the part
// that is not is dead-lettered (raw, counted), and a whole document glued
// after it — a line torn by a full disk, then the next one appended — is
// kept and returned. nil: nothing to deliver.
func (s *Sink) damagedLocked(line []byte) []byte {
	s.damaged.Add(1)
	var keep []byte
	for i := 1; i < len(line); i++ {
		j := bytes.Index(line[i:], docStart)
		if j < 0 {
			break
		}
		i += j
		if json.Valid(line[i:]) {
			keep, line = line[i:], line[:i]
			break
		}
	}
	if err := s.dlq.write(0, "damaged spool line (not a JSON document)", line); err != nil {
		s.failed.Add(1)
		s.cfg.logf("%v", err)
	} else {
		s.deadLettered.Add(1)
	}
	return keep
}

// docStart begins every document (findings.Document.AppendJSON).
var docStart = []byte(`{"@timestamp":`)

func (s *Sink) finishLocked(it *item) {
	s.inflight--
	if it.fromSpool {
		it.done = true
		n := s.spoolHead
		var end spoolPos
		for n < len(s.spoolSeq) && s.spoolSeq[n].done {
			end = s.spoolSeq[n].end
			s.spoolSeq[n] = nil
			n++
		}
		if n > s.spoolHead {
			s.spool.Commit(end)
			s.pending -= int64(n - s.spoolHead)
			s.spoolHead = n
			if n == len(s.spoolSeq) {
				s.spoolSeq, s.spoolHead = s.spoolSeq[:0], 0
			} else if n > 1024 && n > len(s.spoolSeq)/2 {
				s.spoolSeq = append(s.spoolSeq[:0], s.spoolSeq[n:]...)
				s.spoolHead = 0
			}
		}
	}
	s.cond.Broadcast()
}

// requeueLocked puts back a finding that could not be delivered now. A
// spool record is still in the spool (not committed): it waits in memory for
// the next attempt. A finding from memory goes to the spool, or without one
// waits in memory.
func (s *Sink) requeueLocked(it *item) {
	switch {
	case it.fromSpool:
		s.retry = append(s.retry, it)
	case s.spool != nil:
		s.spoolLocked(it.doc)
	default:
		s.retry = append(s.retry, it)
	}
	s.cond.Broadcast()
}

func (s *Sink) downLocked(reason string) {
	now := time.Now()
	if !s.down {
		s.down = true
		s.downWait = 2 * s.cfg.BackoffMin
		s.downUntil = now.Add(s.downWait)
		where := "waiting in memory"
		if s.spool != nil {
			where = "spooling to " + s.spool.dir
		}
		s.cfg.logf("elasticsearch: delivery failed (%s); %s", reason, where)
	} else if !now.Before(s.downUntil) {
		s.downWait = min(2*s.downWait, s.cfg.BackoffMax)
		s.downUntil = now.Add(s.downWait)
	}
}

func (s *Sink) upLocked() {
	if s.down {
		s.down = false
		s.cfg.logf("elasticsearch: delivering again (%d findings waiting in the spool)", s.pending)
		s.cond.Broadcast()
	}
}

func (s *Sink) abort() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.stop()
}

// Close delivers what is buffered (for at most DrainTimeout, and not at all
// while no node answers), spools what could not be delivered, and releases
// the spool. It returns an error when findings were lost.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.closing = true, true
	s.cond.Broadcast()
	s.mu.Unlock()

	timer := time.AfterFunc(s.cfg.DrainTimeout, s.abort)
	<-s.shipped
	s.abort() // what is still in flight fails at once, and is spooled
	s.bi.Close(context.Background())
	timer.Stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	left := s.mem[s.memHead:]
	for _, it := range s.retry {
		if !it.fromSpool { // spool records stay in the spool
			left = append(left, it)
		}
	}
	for _, it := range left {
		if s.spool != nil {
			s.spoolLocked(it.doc)
		} else {
			s.failed.Add(1)
		}
	}
	s.mem, s.retry, s.memBytes = nil, nil, 0
	var errs []error
	if s.spool != nil {
		errs = append(errs, s.spool.Close())
	}
	errs = append(errs, s.dlq.Close())
	if t, ok := s.rt.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	if n := s.failed.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("elasticsearch: %d findings neither delivered nor spooled", n))
	}
	return errors.Join(errs...)
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	pending := s.pending
	var spoolErrors uint64
	if s.spool != nil {
		spoolErrors = s.spool.appendErrors
	}
	s.mu.Unlock()
	return Stats{
		SpoolErrors:  spoolErrors,
		Damaged:      s.damaged.Load(),
		Sent:         s.sent.Load(),
		Retried:      s.retried.Load(),
		Spooled:      s.spooled.Load(),
		DeadLettered: s.deadLettered.Load(),
		Failed:       s.failed.Load(),
		InSpool:      pending,
	}
}

// Down reports whether the last delivery attempt failed (no node answers).
func (s *Sink) Down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}
