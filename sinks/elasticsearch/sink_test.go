package elasticsearch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The exact AppendJSON document goes out, one "create" per finding, in the
// index of the finding's own day, gzip-compressed.
func TestSendsExactDocuments(t *testing.T) {
	es := newFakeES(t)
	cfg := testConfig(t, es.URL)
	s := openSink(t, cfg)
	const n = 600
	writeN(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, es.storedDocs(), n)
	es.mu.Lock()
	defer es.mu.Unlock()
	for i, d := range es.stored {
		day := strings.TrimPrefix(string(d), `{"@timestamp":"2024-03-`)[:2]
		if want := `{"create":{"_index":"ntlmsensor-2024.03.` + day + `"}}`; es.metas[i] != want {
			t.Fatalf("action line %q, want %q", es.metas[i], want)
		}
	}
	for _, h := range es.headers {
		if h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("request not gzipped: %v", h)
		}
	}
	if st := s.Stats(); st.Sent != n || st.Failed != 0 || st.Spooled != 0 || st.Retried != 0 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDataStreamAndHeaders(t *testing.T) {
	es := newFakeES(t)
	cfg := testConfig(t, es.URL)
	cfg.DataStream = "logs-ntlmsensor-default"
	cfg.Gzip = false
	cfg.Headers = []string{"VL-Time-Field: @timestamp", "X-Test: yes"}
	s := openSink(t, cfg)
	writeN(t, s, 0, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, es.storedDocs(), 10)
	es.mu.Lock()
	defer es.mu.Unlock()
	for _, m := range es.metas {
		if m != `{"create":{}}` {
			t.Fatalf("action %q (the index is in the URL)", m)
		}
	}
	h := es.headers[0]
	if h.Get("X-Test") != "yes" || h.Get("VL-Time-Field") != "@timestamp" || h.Get("Content-Encoding") != "" {
		t.Fatalf("headers %v", h)
	}
}

// 429 with Retry-After: the client waits at least that long, then resends.
func TestRetryAfter429(t *testing.T) {
	es := newFakeES(t)
	var mu sync.Mutex
	var times []time.Time
	es.setRespond(func(call int, docs [][]byte) verdict {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if call == 1 {
			return verdict{status: 429, header: http.Header{"Retry-After": {"1"}}}
		}
		return verdict{}
	})
	cfg := testConfig(t, es.URL)
	cfg.Workers = 1
	s := openSink(t, cfg)
	writeN(t, s, 0, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, es.storedDocs(), 50)
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Fatalf("retried after %v, Retry-After said 1s", gap)
	}
	if st := s.Stats(); st.Retried == 0 || st.Sent != 50 || st.Spooled != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetries5xx(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			es := newFakeES(t)
			es.setRespond(func(call int, docs [][]byte) verdict {
				if call <= 2 {
					return verdict{status: status}
				}
				return verdict{}
			})
			s := openSink(t, testConfig(t, es.URL))
			writeN(t, s, 0, 100)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			checkAllOnce(t, es.storedDocs(), 100)
			if st := s.Stats(); st.Retried == 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// Items refused for their content go to the dead-letter file with the
// server's reason; items refused with 429 are resent alone; the others are
// stored once.
func TestItemRejections(t *testing.T) {
	es := newFakeES(t)
	rejectedOnce := map[string]bool{}
	var mu sync.Mutex
	es.setRespond(func(call int, docs [][]byte) verdict {
		mu.Lock()
		defer mu.Unlock()
		v := verdict{items: make([]int, len(docs))}
		for i, d := range docs {
			u := userOf(t, d)
			k, _ := strconv.Atoi(strings.TrimPrefix(u, "user"))
			switch {
			case k%7 == 0:
				v.items[i] = 400
			case k%5 == 0 && !rejectedOnce[u]:
				rejectedOnce[u] = true
				v.items[i] = 429
			case k%11 == 0 && !rejectedOnce[u]:
				rejectedOnce[u] = true
				v.items[i] = 503
			}
		}
		return v
	})
	dir := t.TempDir()
	cfg := testConfig(t, es.URL)
	cfg.DeadLetter = filepath.Join(dir, "dead.jsonl")
	s := openSink(t, cfg)
	const n = 700
	writeN(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// dead letters: every 7th, with the reason and the document unchanged
	f, err := os.Open(cfg.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dead := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Status  int             `json:"status"`
			Reason  string          `json:"reason"`
			Finding json.RawMessage `json:"finding"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("dead letter %q: %v", sc.Text(), err)
		}
		if l.Status != 400 || !strings.Contains(l.Reason, "mapper_parsing_exception") || !strings.Contains(l.Reason, "not an IP string literal") {
			t.Fatalf("dead letter without the reason: %s", sc.Text())
		}
		dead[string(l.Finding)] = true
	}
	wantDead := 0
	for i := 0; i < n; i++ {
		if i%7 == 0 {
			wantDead++
			if !dead[string(docOf(i))] {
				t.Fatalf("finding %d not in the dead-letter file unchanged", i)
			}
		}
	}
	if len(dead) != wantDead {
		t.Fatalf("%d dead letters, want %d", len(dead), wantDead)
	}
	// the rest stored exactly once; the server saw a 429'd item twice, an accepted one once
	stored := map[string]int{}
	for _, d := range es.storedDocs() {
		stored[string(d)]++
	}
	for i := 0; i < n; i++ {
		d := docOf(i)
		want := 1
		if i%7 == 0 {
			want = 0
		}
		if stored[string(d)] != want {
			t.Fatalf("finding %d stored %d times, want %d", i, stored[string(d)], want)
		}
		recv := 1
		if i%7 != 0 && (i%5 == 0 || i%11 == 0) {
			recv = 2
		}
		es.mu.Lock()
		got := es.received[string(d)]
		es.mu.Unlock()
		if got != recv {
			t.Fatalf("finding %d sent %d times, want %d", i, got, recv)
		}
	}
	st := s.Stats()
	if st.DeadLettered != uint64(wantDead) || st.Sent != uint64(n-wantDead) || st.Failed != 0 || st.Spooled != 0 || st.Retried == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A request refused as a whole for its content (400, 413) dead-letters its
// findings; one refused for authentication (401) keeps them (spool).
func TestWholeRequestRefused(t *testing.T) {
	for _, status := range []int{400, 413} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			es := newFakeES(t)
			es.setRespond(func(int, [][]byte) verdict { return verdict{status: status} })
			s := openSink(t, testConfig(t, es.URL))
			writeN(t, s, 0, 20)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.DeadLettered != 20 || st.Sent != 0 || st.Retried != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
	t.Run("401", func(t *testing.T) {
		es := newFakeES(t)
		es.setRespond(func(int, [][]byte) verdict { return verdict{status: 401} })
		cfg := testConfig(t, es.URL)
		cfg.Spool = t.TempDir()
		s := openSink(t, cfg)
		writeN(t, s, 0, 20)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.DeadLettered != 0 || st.Sent != 0 || st.InSpool != 20 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// A server slower than -es-timeout: the request is sent again. The server
// did store the first one: that duplicate is what at-least-once allows
// (README), and nothing is lost.
func TestSlowServer(t *testing.T) {
	es := newFakeES(t)
	es.setRespond(func(call int, docs [][]byte) verdict {
		if call == 1 {
			return verdict{delay: 700 * time.Millisecond}
		}
		return verdict{}
	})
	cfg := testConfig(t, es.URL)
	cfg.Timeout = 300 * time.Millisecond
	cfg.Workers = 1
	s := openSink(t, cfg)
	writeN(t, s, 0, 40)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// the slow answer completes: the first request is stored too
	waitFor(t, 10*time.Second, "the slow request to be stored", func() bool { return len(es.storedDocs()) > 40 })
	seen := map[string]int{}
	for _, d := range es.storedDocs() {
		seen[string(d)]++
	}
	dups := 0
	for i := 0; i < 40; i++ {
		switch seen[string(docOf(i))] {
		case 0:
			t.Fatalf("finding %d lost", i)
		case 2:
			dups++
		}
	}
	if dups == 0 {
		t.Fatalf("expected the timed-out request to be stored twice")
	}
	if st := s.Stats(); st.Sent != 40 || st.Retried == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Connections closed without an answer are retried; nothing is stored twice
// (the server never processed them).
func TestDroppedConnections(t *testing.T) {
	es := newFakeES(t)
	es.setRespond(func(call int, docs [][]byte) verdict { return verdict{drop: call <= 3} })
	s := openSink(t, testConfig(t, es.URL))
	writeN(t, s, 0, 100)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, es.storedDocs(), 100)
}

// No answer makes the sink panic, drop a finding or count it delivered: a
// wrong answer is retried, then the findings are spooled.
func TestGarbageAnswers(t *testing.T) {
	items := func(n int, item string) string {
		return `{"took":1,"errors":false,"items":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
	}
	for _, tc := range []struct {
		name string
		v    func(docs [][]byte) verdict
	}{
		{"not JSON", func([][]byte) verdict { return verdict{body: "<html>proxy error</html>"} }},
		{"empty", func([][]byte) verdict { return verdict{body: " "} }},
		{"no items", func([][]byte) verdict { return verdict{body: `{"took":1,"errors":false}`} }},
		{"fewer items", func(d [][]byte) verdict {
			return verdict{body: items(len(d)-1, `{"create":{"status":201}}`)}
		}},
		{"more items", func(d [][]byte) verdict {
			return verdict{body: items(len(d)+5, `{"create":{"status":201}}`)}
		}},
		{"empty item", func(d [][]byte) verdict { return verdict{body: items(len(d), `{}`)} }},
		{"two actions", func(d [][]byte) verdict {
			return verdict{body: items(len(d), `{"create":{"status":201},"index":{"status":201}}`)}
		}},
		{"status 0", func(d [][]byte) verdict { return verdict{body: items(len(d), `{"create":{}}`)} }},
		{"status 999", func(d [][]byte) verdict { return verdict{body: items(len(d), `{"create":{"status":999}}`)} }},
		{"wrong types", func(d [][]byte) verdict { return verdict{body: items(len(d), `{"create":{"status":"201"}}`)} }},
		{"null", func([][]byte) verdict { return verdict{body: `null`} }},
		{"huge", func([][]byte) verdict { return verdict{body: `{"x":"` + strings.Repeat("a", 3<<20) + `"}`} }},
		{"redirect", func([][]byte) verdict { return verdict{status: 302} }},
		{"Retry-After garbage", func([][]byte) verdict {
			return verdict{status: 429, header: http.Header{"Retry-After": {"soon, maybe"}}}
		}},
		{"Retry-After negative", func([][]byte) verdict {
			return verdict{status: 503, header: http.Header{"Retry-After": {"-5"}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t)
			es.setRespond(func(call int, docs [][]byte) verdict {
				if call <= 2 {
					return tc.v(docs)
				}
				return verdict{}
			})
			s := openSink(t, testConfig(t, es.URL))
			writeN(t, s, 0, 30)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, d := range es.storedDocs() {
				seen[string(d)]++
			}
			for i := 0; i < 30; i++ {
				if seen[string(docOf(i))] == 0 {
					t.Fatalf("finding %d lost", i)
				}
			}
			if st := s.Stats(); st.Sent != 30 || st.Failed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
	// a server that never answers sensibly: everything ends in the spool
	t.Run("always garbage", func(t *testing.T) {
		es := newFakeES(t)
		es.setRespond(func(_ int, d [][]byte) verdict { return verdict{body: items(len(d)+1, `{"create":{"status":201}}`)} })
		cfg := testConfig(t, es.URL)
		cfg.Spool = t.TempDir()
		s := openSink(t, cfg)
		writeN(t, s, 0, 30)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Sent != 0 || st.InSpool != 30 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// listenerSwitch is a server address that can refuse connections (down)
// and come back (up) at the same address.
type listenerSwitch struct {
	addr string
	es   *fakeES
	mu   sync.Mutex
	srv  *http.Server
}

func newSwitch(t *testing.T) *listenerSwitch {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	es := newFakeES(t)
	sw := &listenerSwitch{addr: addr, es: es}
	t.Cleanup(sw.down)
	return sw
}

func (sw *listenerSwitch) url() string { return "http://" + sw.addr }

func (sw *listenerSwitch) up(t *testing.T) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var l net.Listener
	var err error
	for i := 0; i < 100; i++ {
		if l, err = net.Listen("tcp", sw.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	sw.srv = &http.Server{Handler: http.HandlerFunc(sw.es.serve)}
	go sw.srv.Serve(l)
}

func (sw *listenerSwitch) down() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.srv != nil {
		sw.srv.Close()
		sw.srv = nil
	}
}

// While no node answers, findings go to the spool; when one answers again
// they are delivered in spool order, and nothing is duplicated.
func TestOutageSpoolsThenDeliversInOrder(t *testing.T) {
	sw := newSwitch(t)
	cfg := testConfig(t, sw.url())
	cfg.Workers = 1
	cfg.Spool = t.TempDir()
	s := openSink(t, cfg)
	// the first finding reveals the outage
	writeN(t, s, 0, 1)
	waitFor(t, 10*time.Second, "the sink to notice the outage", s.Down)
	writeN(t, s, 1, 2000)
	if st := s.Stats(); st.Spooled != 2000 || st.InSpool != 2000 {
		t.Fatalf("stats during the outage %+v", st)
	}
	sw.up(t)
	waitFor(t, 30*time.Second, "the spool to drain", func() bool { return s.Stats().InSpool == 0 })
	writeN(t, s, 2000, 2100) // and new findings go straight out again
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stored := sw.es.storedDocs()
	checkAllOnce(t, stored, 2100)
	for i := 0; i < 2000; i++ {
		if !bytes.Equal(stored[i], docOf(i)) {
			t.Fatalf("spool delivered out of order at %d: %s", i, stored[i])
		}
	}
	if st := s.Stats(); st.Sent != 2100 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n, _ := SpoolPending(cfg.Spool); n != 0 {
		t.Fatalf("%d left in the spool", n)
	}
}

// A run that ends during an outage leaves its findings in the spool; the
// next run delivers them first, before its own.
func TestPreviousRunsSpoolFirst(t *testing.T) {
	sw := newSwitch(t)
	spoolDir := t.TempDir()
	cfg := testConfig(t, sw.url())
	cfg.Workers = 1
	cfg.Spool = spoolDir
	s := openSink(t, cfg)
	writeN(t, s, 0, 500)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closing with no node took %v: it should spool at once", d)
	}
	if st := s.Stats(); st.InSpool != 500 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n, err := SpoolPending(spoolDir); n != 500 || err != nil {
		t.Fatalf("spool holds %d (%v)", n, err)
	}
	sw.up(t)
	s = openSink(t, cfg)
	if st := s.Stats(); st.InSpool != 500 {
		t.Fatalf("reopened spool: %+v", st)
	}
	writeN(t, s, 500, 600)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stored := sw.es.storedDocs()
	checkAllOnce(t, stored, 600)
	got := map[string]bool{}
	for _, d := range stored[:500] {
		got[string(d)] = true
	}
	for i := 0; i < 500; i++ {
		if !got[string(docOf(i))] {
			t.Fatalf("finding %d of the previous run not delivered before the new ones", i)
		}
	}
	if n, _ := SpoolPending(spoolDir); n != 0 {
		t.Fatalf("%d left in the spool", n)
	}
}

// One node refusing connections, the other answering: all delivered.
func TestSeveralNodes(t *testing.T) {
	es := newFakeES(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	s := openSink(t, testConfig(t, dead, es.URL))
	writeN(t, s, 0, 300)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, es.storedDocs(), 300)
}

// Without a spool, a run that ends while no node answers loses its findings,
// and says so: counted failed, Close returns an error.
func TestNoSpoolNodeDown(t *testing.T) {
	sw := newSwitch(t)
	cfg := testConfig(t, sw.url())
	cfg.DrainTimeout = 500 * time.Millisecond
	s := openSink(t, cfg)
	writeN(t, s, 0, 50)
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "50 findings") {
		t.Fatalf("Close: %v", err)
	}
	if st := s.Stats(); st.Failed != 50 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Write(mkFinding(1)); err == nil {
		t.Fatal("write after close")
	}
}

// A full spool drops new findings, counted failed; what fits is kept.
func TestSpoolFull(t *testing.T) {
	sw := newSwitch(t)
	cfg := testConfig(t, sw.url())
	cfg.Spool = t.TempDir()
	one := int64(len(docOf(0)) + 1)
	cfg.SpoolMaxBytes = 100 * one
	s := openSink(t, cfg)
	writeN(t, s, 0, 1)
	waitFor(t, 10*time.Second, "outage", s.Down)
	dropped := 0
	for i := 1; i < 300; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			dropped++
		}
	}
	s.Close()
	st := s.Stats()
	if dropped == 0 || st.Failed != uint64(dropped) || st.Spooled+st.Failed != 300 {
		t.Fatalf("dropped %d, stats %+v", dropped, st)
	}
	if n, _ := SpoolPending(cfg.Spool); int64(n) != st.InSpool || n < 90 {
		t.Fatalf("spool holds %d, stats %+v", n, st)
	}
}

// Memory stays bounded while no node answers: the spool takes the findings.
func TestMemoryBoundDuringOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	sw := newSwitch(t)
	cfg := testConfig(t, sw.url())
	cfg.Spool = t.TempDir()
	cfg.BufferBytes = 1 << 20
	cfg.FlushBytes = 256 << 10
	s := openSink(t, cfg)
	base := liveHeap()
	bound := uint64(MemoryBound(cfg)) + 2<<20
	peak := uint64(0)
	const n = 100_000 // about 60 MB of documents
	for i := 0; i < n; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			t.Fatal(err)
		}
		if i%20_000 == 0 {
			if h := liveHeap(); h > base {
				peak = max(peak, h-base)
			}
		}
	}
	if h := liveHeap(); h > base {
		peak = max(peak, h-base)
	}
	s.Close()
	t.Logf("live heap grew by at most %d KiB for %d findings (%d MiB spooled); bound %d KiB", peak>>10, n, s.Stats().Spooled*uint64(len(docOf(0)))>>20, bound>>10)
	if peak > bound {
		t.Fatalf("live heap grew by %d bytes, bound %d", peak, bound)
	}
	if st := s.Stats(); st.InSpool != n {
		t.Fatalf("stats %+v", st)
	}
}

// Memory stays bounded when findings come faster than a (fast) server takes
// them, without a spool: Write waits for room.
func TestMemoryBoundAtFullSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var received atomic.Int64
	srv := leanES(t, &received)
	cfg := testConfig(t, srv.URL)
	cfg.BufferBytes = 1 << 20
	cfg.FlushBytes = 256 << 10
	cfg.FlushInterval = time.Second
	s := openSink(t, cfg)
	base := liveHeap()
	// the test server runs in this process too: it reads each request whole
	server := uint64(cfg.Workers*2*cfg.FlushBytes) + 1<<20
	bound := uint64(MemoryBound(cfg)) + server + 2<<20
	peak := uint64(0)
	const n = 100_000
	for i := 0; i < n; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			t.Fatal(err)
		}
		if i%5_000 == 0 {
			if h := liveHeap(); h > base {
				peak = max(peak, h-base)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("live heap grew by at most %d KiB while sending %d findings; bound %d KiB", peak>>10, n, bound>>10)
	if peak > bound {
		t.Fatalf("live heap grew by %d bytes, bound %d", peak, bound)
	}
	if st := s.Stats(); st.Sent != n || received.Load() != n {
		t.Fatalf("stats %+v, received %d", st, received.Load())
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("c2VjcmV0OmtleQ==\n"), 0o600)
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		want string // Authorization header, or "error"
	}{
		{"api key from env", func(c *Config) { c.Getenv = env(map[string]string{EnvAPIKey: "ZW52OmtleQ=="}) }, "APIKey ZW52OmtleQ=="},
		{"api key from file", func(c *Config) { c.APIKeyFile = keyFile }, "APIKey c2VjcmV0OmtleQ=="},
		{"basic from env", func(c *Config) { c.Getenv = env(map[string]string{EnvUser: "elastic", EnvPassword: "pw"}) }, "Basic ZWxhc3RpYzpwdw=="},
		{"basic user flag, password file", func(c *Config) { c.User = "elastic"; c.PasswordFile = pwFile }, "Basic ZWxhc3RpYzpzM2NyZXQ="},
		{"none", func(c *Config) {}, ""},
		{"both", func(c *Config) { c.APIKeyFile = keyFile; c.User = "u"; c.PasswordFile = pwFile }, "error"},
		{"user without password", func(c *Config) { c.User = "u" }, "error"},
		{"missing file", func(c *Config) { c.APIKeyFile = filepath.Join(dir, "nope") }, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t)
			cfg := testConfig(t, es.URL)
			tc.set(&cfg)
			s, err := Open(cfg)
			if tc.want == "error" {
				if err == nil {
					s.Close()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, s, 0, 1)
			s.Close()
			if got := es.headers[0].Get("Authorization"); got != tc.want {
				t.Fatalf("Authorization %q, want %q", got, tc.want)
			}
		})
	}
	// never from the command line: a URL with credentials is refused
	cfg := testConfig(t, "https://elastic:changeme@es:9200")
	if _, err := Open(cfg); err == nil || strings.Contains(err.Error(), "changeme") {
		t.Fatalf("URL with credentials: %v", err)
	}
}

func TestTLS(t *testing.T) {
	tlsES := newFakeESTLS(t)
	srv := tlsES.Server
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	cfg := testConfig(t, srv.URL)
	cfg.CAFile = pemFile
	s := openSink(t, cfg)
	writeN(t, s, 0, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, tlsES.storedDocs(), 10)

	// an unknown CA: nothing is sent, everything is kept
	cfg = testConfig(t, srv.URL)
	cfg.Spool = t.TempDir()
	s = openSink(t, cfg)
	writeN(t, s, 10, 20)
	s.Close()
	if st := s.Stats(); st.Sent != 0 || st.InSpool != 10 {
		t.Fatalf("untrusted server: %+v", st)
	}
	// unless told not to verify
	cfg.InsecureSkipVerify = true
	s = openSink(t, cfg)
	s.Close()
	if st := s.Stats(); st.Sent != 10 || st.InSpool != 0 {
		t.Fatalf("insecure: %+v", st)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *Config)
	}{
		{"no url", func(c *Config) { c.URLs = nil }},
		{"bad scheme", func(c *Config) { c.URLs = []string{"ftp://x"} }},
		{"uppercase index", func(c *Config) { c.Index = "NTLM-%Y" }},
		{"bad verb", func(c *Config) { c.Index = "ntlm-%Q" }},
		{"index with slash", func(c *Config) { c.Index = "a/b" }},
		{"bad data stream", func(c *Config) { c.DataStream = "_x" }},
		{"header", func(c *Config) { c.Headers = []string{"nocolon"} }},
		{"cert without key", func(c *Config) { c.CertFile = "x" }},
		{"zero flush bytes", func(c *Config) { c.FlushBytes = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "http://127.0.0.1:9200")
			tc.set(&cfg)
			if err := cfg.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestIndexNames(t *testing.T) {
	n, err := newIndexNamer("ntlm-%Y.%m.%d-%H")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.name(docOf(1)); got != "ntlm-2024.03.02-10" {
		t.Fatalf("name %q", got)
	}
	if got := n.name([]byte(`{"x":1}`)); !strings.HasPrefix(got, "ntlm-") {
		t.Fatalf("no timestamp: %q", got)
	}
	if p := n.pattern(); p != "ntlm-*" {
		t.Fatalf("pattern %q", p)
	}
	if n, _ := newIndexNamer("%Y-ntlm"); n.pattern() != "*-ntlm" {
		t.Fatalf("pattern %q", n.pattern())
	}
	n, _ = newIndexNamer("findings")
	if n.name(docOf(1)) != "findings" || n.pattern() != "findings" {
		t.Fatal("static index")
	}
	for s, want := range map[string]int64{"1024": 1024, "16MiB": 16 << 20, "1GiB": 1 << 30, "512K": 512 << 10, "2MB": 2 << 20} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Fatalf("ParseSize(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "x", "-1", "1.5MiB", "99999999999GiB"} {
		if _, err := ParseSize(s); err == nil {
			t.Fatalf("ParseSize(%q) accepted", s)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	if d := retryAfter("3"); d != 3*time.Second {
		t.Fatal(d)
	}
	if d := retryAfter(time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)); d < 3*time.Second || d > 6*time.Second {
		t.Fatal(d)
	}
	for _, v := range []string{"", "-1", "x", "Mon, 01 Jan 2001 00:00:00 GMT"} {
		if d := retryAfter(v); d != 0 {
			t.Fatalf("%q: %v", v, d)
		}
	}
}

func ExampleStats() {
	fmt.Println(Stats{Sent: 10, Retried: 2, Spooled: 3, DeadLettered: 1, InSpool: 3})
	// Output: 10 sent, 2 retried, 3 spooled, 1 dead-lettered, 0 failed, 3 waiting in the spool
}

// liveHeap is the heap the last collection found live (not counting what
// other goroutines allocate right after it).
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
