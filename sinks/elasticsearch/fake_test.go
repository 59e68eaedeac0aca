package elasticsearch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ntlmsensor/findings"
)

// fakeES answers like Elasticsearch 8: the product header, the bulk API
// with per-item results, index templates. A verdict hook decides each bulk
// answer, so that tests can inject 429s, 5xx, item rejections, slow answers,
// dropped connections and garbage.
type fakeES struct {
	*httptest.Server
	t testing.TB

	mu         sync.Mutex
	calls      int               // bulk requests
	stored     [][]byte          // documents acknowledged (201), in order
	metas      []string          // their action lines
	received   map[string]int    // document → times received
	headers    []http.Header     // of every bulk request
	templates  map[string][]byte // PUT _index_template/NAME bodies
	policies   map[string][]byte // PUT _ilm/policy/NAME bodies
	setupOrder []string          // paths of the accepted PUTs, in order
	respond    func(call int, docs [][]byte) verdict
}

// verdict is how one bulk request is answered.
type verdict struct {
	status int           // whole-request status; 0: 200 with items
	header http.Header   // extra answer headers
	body   string        // raw body instead of the normal answer
	items  []int         // per-item status (default 201)
	errs   []string      // per-item error type (for failed items)
	delay  time.Duration // answer this late (still storing: the slow-server duplicate)
	drop   bool          // close the connection without an answer
}

func newFakeES(t testing.TB) *fakeES {
	f := &fakeES{t: t, received: map[string]int{}, templates: map[string][]byte{}, policies: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func newFakeESTLS(t testing.TB) *fakeES {
	f := &fakeES{t: t, received: map[string]int{}, templates: map[string][]byte{}, policies: map[string][]byte{}}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes refused on purpose
	f.Server.StartTLS()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeES) setRespond(fn func(call int, docs [][]byte) verdict) {
	f.mu.Lock()
	f.respond = fn
	f.mu.Unlock()
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	switch {
	case r.Method == http.MethodPut && (strings.HasPrefix(r.URL.Path, "/_index_template/") || strings.HasPrefix(r.URL.Path, "/_ilm/policy/")):
		// checked as Elasticsearch documents the APIs (esapi_check_test.go);
		// refused with Elasticsearch's error shape
		b, _ := io.ReadAll(body)
		f.mu.Lock()
		err := checkSetupRequest(r, b, f.policies)
		if err == nil {
			if name, ok := strings.CutPrefix(r.URL.Path, "/_ilm/policy/"); ok {
				f.policies[name] = b
			} else {
				f.templates[strings.TrimPrefix(r.URL.Path, "/_index_template/")] = b
			}
			f.setupOrder = append(f.setupOrder, r.URL.Path)
		}
		f.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"type":"x_content_parse_exception","reason":%q},"status":400}`, err.Error())
			return
		}
		io.WriteString(w, `{"acknowledged":true}`)
		return
	case strings.HasSuffix(r.URL.Path, "/_bulk"):
	default:
		io.WriteString(w, `{"version":{"number":"8.15.0"},"tagline":"You Know, for Search"}`)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return
	}
	var metas []string
	var docs [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for i := 0; sc.Scan(); i++ {
		if i%2 == 0 {
			metas = append(metas, sc.Text())
		} else {
			docs = append(docs, bytes.Clone(sc.Bytes()))
		}
	}
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.headers = append(f.headers, r.Header.Clone())
	for _, d := range docs {
		f.received[string(d)]++
	}
	respond := f.respond
	f.mu.Unlock()
	var v verdict
	if respond != nil {
		v = respond(call, docs)
	}
	if v.drop {
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Error("no hijacker")
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	for k, vv := range v.header {
		for _, x := range vv {
			w.Header().Add(k, x)
		}
	}
	if v.status != 0 && v.status != http.StatusOK {
		w.WriteHeader(v.status)
		if v.body != "" {
			io.WriteString(w, v.body)
		} else {
			fmt.Fprintf(w, `{"error":{"type":"test_error","reason":"status %d"},"status":%d}`, v.status, v.status)
		}
		return
	}
	if v.body != "" {
		io.WriteString(w, v.body)
		return
	}
	var items []string
	errors := false
	f.mu.Lock()
	for i, d := range docs {
		st := 201
		if i < len(v.items) && v.items[i] != 0 {
			st = v.items[i]
		}
		if st == 201 {
			f.stored = append(f.stored, d)
			f.metas = append(f.metas, metas[i])
			items = append(items, fmt.Sprintf(`{"create":{"_index":"x","_id":"id%d","_version":1,"result":"created","status":201,"_seq_no":%d,"_primary_term":1}}`, i, i))
			continue
		}
		errors = true
		typ := "mapper_parsing_exception"
		if st == 429 {
			typ = "es_rejected_execution_exception"
		}
		if i < len(v.errs) && v.errs[i] != "" {
			typ = v.errs[i]
		}
		items = append(items, fmt.Sprintf(`{"create":{"_index":"x","status":%d,"error":{"type":%q,"reason":"failed to parse field [source.ip] of type [ip]","caused_by":{"type":"illegal_argument_exception","reason":"'x' is not an IP string literal."}}}}`, st, typ))
	}
	f.mu.Unlock()
	fmt.Fprintf(w, `{"took":3,"errors":%v,"items":[%s]}`, errors, strings.Join(items, ","))
}

func (f *fakeES) storedDocs() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.stored...)
}

// mkFinding is a finding identified by i (user.name "user<i>"), dated over
// three days so that dated indices differ.
func mkFinding(i int) *findings.Finding {
	return &findings.Finding{
		Time:        time.Date(2024, 3, 1+i%3, 10, 4, 5, i*1000, time.UTC),
		Outcome:     findings.Failure,
		Reason:      "STATUS_LOGON_FAILURE",
		Client:      netip.AddrPortFrom(netip.MustParseAddr("10.1.2.3"), uint16(40000+i%20000)),
		Server:      netip.MustParseAddrPort("10.1.2.10:445"),
		Transport:   "tcp",
		Protocol:    "smb",
		CommunityID: "1:M4J05bqXJcm+h+DNv3G+FhnGwxY=",
		HasUser:     true,
		UserName:    fmt.Sprintf("user%d", i),
		UserDomain:  "LAB",
		Mechanism:   "ntlm",
		SPNEGO:      findings.True,
		Offered:     []string{"kerberos", "ntlm"},
		NTLM:        findings.NTLMFacts{Version: "NTLMv2", MIC: findings.True, Workstation: "WKS01", Flags: 0x62088215, HasFlags: true},
		Flags:       []findings.Flag{"ntlm_fallback"},
		Observer:    "sensor-test",
	}
}

func docOf(i int) []byte { return mkFinding(i).AppendJSON(nil) }

// userOf reads user.name back from a document.
func userOf(t testing.TB, doc []byte) string {
	var m struct {
		User struct{ Name string } `json:"user"`
	}
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("stored document is not JSON: %v: %s", err, doc)
	}
	return m.User.Name
}

// testConfig: fast timings for tests.
func testConfig(t testing.TB, urls ...string) Config {
	c := Defaults()
	c.URLs = urls
	c.FlushInterval = 20 * time.Millisecond
	c.FlushBytes = 64 << 10
	c.BackoffMin = 5 * time.Millisecond
	c.BackoffMax = 40 * time.Millisecond
	c.Retries = 3
	c.Timeout = 5 * time.Second
	c.DrainTimeout = 20 * time.Second
	c.Getenv = func(string) string { return "" }
	c.Logf = func(format string, args ...any) { t.Logf(format, args...) }
	c.DLQWriter = io.Discard
	return c
}

func openSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeN(t testing.TB, s *Sink, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkAllOnce: every finding 0..n-1 stored exactly once.
func checkAllOnce(t testing.TB, stored [][]byte, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, d := range stored {
		seen[string(d)]++
	}
	for i := 0; i < n; i++ {
		if c := seen[string(docOf(i))]; c != 1 {
			t.Fatalf("finding %d stored %d times (want 1); %d stored in all", i, c, len(stored))
		}
	}
	if len(stored) != n {
		t.Fatalf("%d documents stored, want %d", len(stored), n)
	}
}
