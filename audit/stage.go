// Package audit is the stage between the sensor's workers and the sinks:
// it puts the findings of every worker back in capture-time order, sets
// each NTLM logon's cause (ntlm.cause, ntlm.causes, ntlm.cause_evidence)
// from what it saw of the client shortly before, counts the logon in the
// inventory of NTLM (and Kerberos RC4) dependencies, hands the finding to
// the analyzers, and then to the sinks.
package audit

import (
	"bytes"
	"cmp"
	"container/heap"
	"maps"
	"sync"
	"time"

	"ntlmsensor/findings"
)

// An Analyzer sees every finding in capture-time order, after its cause is set.
type Analyzer interface {
	Observe(f *findings.Finding, emit func(findings.Document))
	Flush(emit func(findings.Document)) // end of input / trace break / shutdown
}

// Config sizes a Stage.
type Config struct {
	// Workers is how many clocks (Stage.Clock) the stage waits for before
	// it releases a finding; 0: none, findings are held until Close, a
	// trace break, or MaxHeld.
	Workers int
	// Delay: a finding is released once every worker's clock is this far
	// past its time. A worker emits a finding after its time: an SMB or
	// LDAP success waits for the next messages, an unanswered attempt for
	// the connection's idle timeout; Delay must cover that for the order to
	// be exact (DefaultDelay does for the sensor's defaults).
	Delay time.Duration
	// Window is how far back "shortly before" reaches (DefaultWindow).
	Window time.Duration
	// Bounds: findings held for ordering, clients and servers remembered,
	// inventory rows.
	MaxHeld, MaxClients, MaxServers, MaxRows int
	Analyzers                                []Analyzer
	// Emit takes every document the stage releases: findings, the
	// analyzers' documents, inventory rows. Called with the stage locked,
	// from one goroutine at a time.
	Emit func(findings.Document)
}

// Defaults.
const (
	DefaultDelay      = 5*time.Minute + 30*time.Second // the sensor's TCP idle timeout, and a margin
	DefaultMaxHeld    = 200000
	DefaultMaxClients = 100000
	DefaultMaxServers = 100000
)

// Stats counts what the stage did and every limit it hit.
type Stats struct {
	Findings       uint64           // findings released
	Caused         uint64           // NTLM logons given a cause
	ByCause        map[Cause]uint64 // NTLM logons by the cause set (ntlm.cause)
	Late           uint64           // findings that arrived after a later one was released: out of order
	ForcedReleases uint64           // findings released early because MaxHeld was reached
	ClientsEvicted uint64           // client memories evicted (MaxClients)
	ServersEvicted uint64           // server name memories evicted (MaxServers)
	Rows           int              // inventory rows held
	RowsEvicted    uint64           // inventory rows evicted (MaxRows)
	// KDC exchanges awaiting a retry (retry.go): retried (dropped), not
	// retried (released as findings), and held requests not indexed
	Retried, NotRetried, RetryLimitHits uint64
}

// Stage orders, explains and inventories findings. Its methods may be
// called from several goroutines.
type Stage struct {
	mu       sync.Mutex
	cfg      Config
	held     heldHeap
	clocks   []time.Time
	clockSet []bool
	released time.Time // time of the last finding released
	anyOut   bool
	corr     *correlator
	inv      *Inventory
	retries  retries
	stats    Stats
	byCause  map[Cause]uint64
}

// New makes a stage.
func New(cfg Config) *Stage {
	if cfg.Delay <= 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = DefaultMaxHeld
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.MaxServers <= 0 {
		cfg.MaxServers = DefaultMaxServers
	}
	return &Stage{cfg: cfg, clocks: make([]time.Time, cfg.Workers), clockSet: make([]bool, cfg.Workers),
		corr: newCorrelator(cfg.Window, cfg.MaxClients, cfg.MaxServers), inv: NewInventory(cfg.MaxRows), byCause: map[Cause]uint64{}}
}

// Finding takes a finding from a worker; the stage keeps it.
func (s *Stage) Finding(f *findings.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.anyOut && f.Time.Before(s.released) {
		s.stats.Late++
	}
	s.retries.add(f, &s.stats)
	heap.Push(&s.held, f)
	for s.held.Len() > s.cfg.MaxHeld {
		s.stats.ForcedReleases++
		s.release(heap.Pop(&s.held).(*findings.Finding))
	}
	s.releaseReady()
}

// Clock says worker w's clock has reached now: every finding it emits
// from here on is stamped no earlier than now less Delay.
func (s *Stage) Clock(w int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w < 0 || w >= len(s.clocks) {
		return
	}
	if !s.clockSet[w] || now.After(s.clocks[w]) {
		s.clocks[w], s.clockSet[w] = now, true
	}
	s.releaseReady()
}

// releaseReady releases, in order, the findings every worker's clock has
// passed by Delay.
func (s *Stage) releaseReady() {
	if len(s.clocks) == 0 {
		return
	}
	wm := s.clocks[0]
	for i, t := range s.clocks {
		if !s.clockSet[i] {
			return
		}
		if t.Before(wm) {
			wm = t
		}
	}
	limit := wm.Add(-s.cfg.Delay)
	for s.held.Len() > 0 && !s.held[0].Time.After(limit) {
		s.release(heap.Pop(&s.held).(*findings.Finding))
	}
}

// release explains, inventories, analyses and emits one finding.
func (s *Stage) release(f *findings.Finding) {
	if !s.step(f) {
		return // a KDC error the client retried: the retry is the exchange
	}
	s.released, s.anyOut = f.Time, true
	if f.Observation() {
		// for the detectors only: never explained, counted nor written
		for _, a := range s.cfg.Analyzers {
			a.Observe(f, s.emit)
		}
		return
	}
	s.stats.Findings++
	if isNTLM(f) {
		causes, ev := s.corr.decide(f)
		f.Causes = f.Causes[:0]
		for _, c := range causes {
			f.Causes = append(f.Causes, string(c))
		}
		f.Cause, f.CauseEvidence = string(causes[0]), ev
		s.stats.Caused++
		s.byCause[causes[0]]++
	}
	s.corr.observe(f)
	s.inv.Add(f)
	for _, a := range s.cfg.Analyzers {
		a.Observe(f, s.emit)
	}
	s.emit(f)
}

func (s *Stage) emit(d findings.Document) {
	if s.cfg.Emit != nil {
		s.cfg.Emit(d)
	}
}

// drain releases everything held, in order, and flushes the analyzers.
func (s *Stage) drain() {
	for s.held.Len() > 0 {
		s.release(heap.Pop(&s.held).(*findings.Finding))
	}
	for _, a := range s.cfg.Analyzers {
		a.Flush(s.emit)
	}
}

// TraceBreak releases what the stage holds and starts its time windows
// and clocks afresh: the next capture file jumps back in time. The
// inventory persists.
func (s *Stage) TraceBreak() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drain()
	clear(s.clockSet)
	s.anyOut = false
	s.corr.reset()
}

// Close ends the input: everything held is released and the analyzers
// flushed. The inventory stays for WriteInventory.
func (s *Stage) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drain()
}

// WriteInventory emits every inventory row, stamped now, in the order of
// Inventory.Rows.
func (s *Stage) WriteInventory(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.inv.Rows() {
		r.Written = now
		s.emit(&r)
	}
}

// Rows returns the inventory's rows, ordered by what to fix first.
func (s *Stage) Rows() []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inv.Rows()
}

// Stats returns the counters so far.
func (s *Stage) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByCause = maps.Clone(s.byCause)
	st.ClientsEvicted, st.ServersEvicted = s.corr.clients.evicted, s.corr.servers.evicted
	st.Rows, st.RowsEvicted = s.inv.Len(), s.inv.Evicted()
	return st
}

// heldHeap orders findings by capture time, ties broken by the finding's
// content so the order never depends on which worker emitted first.
type heldHeap []*findings.Finding

func (h heldHeap) Len() int           { return len(h) }
func (h heldHeap) Less(i, j int) bool { return compareFindings(h[i], h[j]) < 0 }
func (h heldHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)        { *h = append(*h, x.(*findings.Finding)) }
func (h *heldHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}

func compareFindings(a, b *findings.Finding) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := cmp.Or(a.Client.Compare(b.Client), a.Server.Compare(b.Server)); c != 0 {
		return c
	}
	return bytes.Compare(a.AppendJSON(nil), b.AppendJSON(nil))
}
