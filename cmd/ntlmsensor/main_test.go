package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ntlmsensor/bench/gen"
	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/elasticsearch/vltest"
)

const realCapture = "../../pcaps/real-implementations/smb2_ntlmv2_by_ip.pcap"

func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return o.String(), e.String(), status
}

// ruleIDs returns the rule.id of every alert (event.kind "alert",
// event.dataset "ntlmsensor.alert") in JSON-lines output, sorted.
func ruleIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, `"kind":"alert"`) {
			continue
		}
		var m struct {
			Event struct{ Kind, Dataset string }
			Rule  struct{ ID string }
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m.Event.Kind != "alert" || m.Event.Dataset != "ntlmsensor.alert" || m.Rule.ID == "" {
			t.Fatalf("not an alert: %s", line)
		}
		ids = append(ids, m.Rule.ID)
	}
	sort.Strings(ids)
	return ids
}

// parseFindings returns the findings (event.kind "event") of JSON-lines output.
func parseFindings(t *testing.T, out string) []map[string]any {
	t.Helper()
	var fs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if ev, _ := m["event"].(map[string]any); ev["kind"] != "event" {
			continue // an inventory row (state), written at exit, or an alert: ruleIDs
		}
		fs = append(fs, m)
	}
	return fs
}

func TestReadsACaptureAndWritesFindings(t *testing.T) {
	out, errs, status := runCLI(t, "-r", realCapture, "-observer", "probe1")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	fs := parseFindings(t, out)
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1", len(fs))
	}
	f := fs[0]
	if u := f["user"].(map[string]any); u["name"] != "alice" || u["domain"] != "LAB" {
		t.Errorf("user %v", u)
	}
	if o := f["observer"].(map[string]any); o["name"] != "probe1" || o["type"] != "sensor" {
		t.Errorf("observer %v", o)
	}
	if !strings.Contains(errs, "1 findings") {
		t.Errorf("summary: %q", errs)
	}
}

func TestWritesToFileAndReadsStdinAndGzip(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "f.jsonl")
	if _, errs, status := runCLI(t, "-q", "-r", "../../pcaps/public/zeek/testing/btest/Traces/smb/smb_many_open_files_500.pcap.gz", "-w", out); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fs := parseFindings(t, string(b))
	if len(fs) != 1 || fs[0]["user"].(map[string]any)["name"] != "justin" {
		t.Fatalf("findings %v", fs)
	}
}

func TestBPFFilter(t *testing.T) {
	out, errs, status := runCLI(t, "-q", "-r", realCapture, "port", "80")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	if out != "" {
		t.Fatalf("port 80 filter let SMB through: %s", out)
	}
	if _, errs, status := runCLI(t, "-q", "-r", realCapture, "port", "and"); status != 2 || !strings.Contains(errs, "filter") {
		t.Fatalf("bad filter: status %d, %q", status, errs)
	}
}

// TestBadInput: each damaged input gives one line naming the file and the
// reason; findings before the damage are written; the status is non-zero
// only when nothing could be read.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	real, err := os.ReadFile(realCapture)
	if err != nil {
		t.Fatal(err)
	}
	// cut inside the last record: every finding is before the damage
	truncated := filepath.Join(dir, "truncated.pcap")
	os.WriteFile(truncated, real[:len(real)-30], 0o644)
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("this is not a capture\n"), 0o644)
	unknownLink := filepath.Join(dir, "linktype.pcap")
	hdr := append([]byte(nil), real[:24]...)
	binary.LittleEndian.PutUint32(hdr[20:], 147) // LINKTYPE_USER0
	os.WriteFile(unknownLink, append(hdr, real[24:]...), 0o644)
	snapped := filepath.Join(dir, "snaplen.pcap")
	os.WriteFile(snapped, snap(t, real, 80), 0o644)

	for _, tc := range []struct {
		name, path string
		wantStatus int
		wantMsg    string
		findings   int
	}{
		{"truncated", truncated, 0, "truncated", 1},
		{"not a capture", notCapture, 1, "not a pcap, pcapng, NetMon 2.x or ETL file", 0},
		{"unknown link type", unknownLink, 1, "unsupported link type 147", 0},
		{"snaplen cut", snapped, 0, "", 0},
		{"missing", filepath.Join(dir, "nope.pcap"), 1, "no such file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, status := runCLI(t, "-r", tc.path)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d (%s)", status, tc.wantStatus, errs)
			}
			if tc.wantMsg != "" {
				line := strings.SplitN(errs, "\n", 2)[0]
				if !strings.Contains(line, tc.path) || !strings.Contains(line, tc.wantMsg) {
					t.Errorf("first stderr line %q does not name the file and %q", line, tc.wantMsg)
				}
			}
			if n := len(parseFindings(t, out)); n != tc.findings {
				t.Errorf("%d findings, want %d", n, tc.findings)
			}
		})
	}
	// a bad file among good ones: the good ones' findings are all there
	out, errs, status := runCLI(t, "-q", "-r", notCapture, "-r", realCapture)
	if status != 0 || len(parseFindings(t, out)) != 1 || !strings.Contains(errs, notCapture) {
		t.Errorf("mixed: status %d, %d findings, %q", status, len(parseFindings(t, out)), errs)
	}
}

// snap rewrites a little-endian microsecond pcap with every packet cut to n
// bytes, as a capture taken with a small snaplen.
func snap(t *testing.T, pcap []byte, n int) []byte {
	out := append([]byte(nil), pcap[:24]...)
	binary.LittleEndian.PutUint32(out[16:], uint32(n))
	for off := 24; off+16 <= len(pcap); {
		incl := int(binary.LittleEndian.Uint32(pcap[off+8:]))
		rec := append([]byte(nil), pcap[off:off+16]...)
		data := pcap[off+16 : off+16+incl]
		if len(data) > n {
			data = data[:n]
		}
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(data)))
		out = append(append(out, rec...), data...)
		off += 16 + incl
	}
	return out
}

func TestListFlags(t *testing.T) {
	out, _, status := runCLI(t, "-list-flags")
	if status != 0 || !strings.Contains(out, "ntlm_fallback") || !strings.Contains(out, "LmCompatibilityLevel 5") {
		t.Fatalf("status %d: %s", status, out)
	}
}

// ---- Elasticsearch ----

// miniES is enough of Elasticsearch for the CLI: the product header, bulk
// (every item created) and index templates.
type miniES struct {
	*httptest.Server
	mu        sync.Mutex
	docs      []string
	templates map[string]string
}

func newMiniES(t *testing.T) *miniES {
	m := &miniES{templates: map[string]string{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		m.mu.Lock()
		defer m.mu.Unlock()
		switch {
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_index_template/"):
			m.templates[strings.TrimPrefix(r.URL.Path, "/_index_template/")] = string(raw)
			io.WriteString(w, `{"acknowledged":true}`)
		case strings.HasSuffix(r.URL.Path, "/_bulk"):
			ls := strings.Split(strings.TrimSpace(string(raw)), "\n")
			var items []string
			for i := 1; i < len(ls); i += 2 {
				m.docs = append(m.docs, ls[i])
				items = append(items, `{"create":{"status":201}}`)
			}
			fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
		default:
			io.WriteString(w, `{"version":{"number":"8.15.0"}}`)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// JSON file and Elasticsearch from the same run; -es alone writes no JSON.
func TestJSONAndElasticsearch(t *testing.T) {
	es := newMiniES(t)
	out := filepath.Join(t.TempDir(), "f.jsonl")
	_, errs, status := runCLI(t, "-r", realCapture, "-w", out, "-es", es.URL, "-es-flush-interval", "10ms")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	b, _ := os.ReadFile(out)
	es.mu.Lock()
	docs := es.docs
	es.mu.Unlock()
	// the finding and the inventory row written at exit
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	docs = slices.Clone(docs)
	slices.Sort(lines)
	slices.Sort(docs) // indices by @timestamp: the order may differ
	if len(docs) != 2 || !slices.Equal(lines, docs) {
		t.Fatalf("JSON %q, Elasticsearch %q", b, docs)
	}
	if !strings.Contains(errs, "elasticsearch: 2 sent, 0 retried, 0 spooled, 0 dead-lettered, 0 failed") {
		t.Fatalf("no counters in the summary: %s", errs)
	}
	stdout, errs, status := runCLI(t, "-q", "-r", realCapture, "-es", es.URL)
	if status != 0 || stdout != "" || strings.Contains(errs, "elasticsearch:") {
		t.Fatalf("-es alone: status %d, stdout %q, stderr %q", status, stdout, errs)
	}
}

func TestElasticsearchBadOptions(t *testing.T) {
	for _, args := range [][]string{
		{"-es", "ftp://x"},
		{"-es", "https://elastic:secret@es:9200"},
		{"-es", "http://127.0.0.1:9", "-es-index", "UPPER"},
		{"-es", "http://127.0.0.1:9", "-es-header", "nocolon"},
	} {
		_, errs, status := runCLI(t, append([]string{"-r", realCapture}, args...)...)
		if status != 2 || !strings.Contains(errs, "elasticsearch") || strings.Contains(errs, "secret") {
			t.Errorf("%v: status %d, %q", args, status, errs)
		}
	}
	if _, _, status := runCLI(t, "-r", realCapture, "-es-flush-bytes", "lots"); status != 2 {
		t.Errorf("bad size accepted")
	}
}

func TestESSetup(t *testing.T) {
	es := newMiniES(t)
	stdout, errs, status := runCLI(t, "es-setup", "-es", es.URL, "-es-index", "auth-%Y.%m")
	if status != 0 || !strings.Contains(stdout, `"ntlmsensor" installed for auth-*`) {
		t.Fatalf("status %d: %s %s", status, stdout, errs)
	}
	es.mu.Lock()
	tmpl := es.templates["ntlmsensor"]
	es.mu.Unlock()
	for _, want := range []string{`"index_patterns":["auth-*"]`, `"ip":{"type":"ip"},"port":{"type":"long"}`, `"priority":200`, `"lifecycle":{"name":"ntlmsensor"}`} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("template lacks %s: %s", want, tmpl)
		}
	}
	if _, _, status := runCLI(t, "es-setup"); status != 2 {
		t.Errorf("es-setup without -es: status %d", status)
	}
	if _, errs, status := runCLI(t, "es-setup", "-es", "http://127.0.0.1:1"); status != 1 || !strings.Contains(errs, "PUT _ilm/policy/ntlmsensor") {
		t.Errorf("es-setup, no server: status %d %q", status, errs)
	}
}

// ---- the built binary, signalled ----

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// builtSensor builds ntlmsensor once for the signal tests.
func builtSensor(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ntlmsensor-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ntlmsensor")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// allCaptures: every bundled capture, reps times over (a run long enough to
// be interrupted).
func allCaptures(t *testing.T, reps int) []string {
	var files []string
	filepath.WalkDir("../../pcaps", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			files = append(files, p)
		}
		return err
	})
	if len(files) < 100 {
		t.Fatalf("%d captures", len(files))
	}
	var args []string
	for i := 0; i < reps; i++ {
		for _, f := range files {
			args = append(args, "-r", f)
		}
	}
	return args
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}

// sigtermRun starts the binary over the captures with everything held in
// the bulk buffers (1h flush interval), SIGTERMs it once findings flow, and
// returns the JSON lines written and the spool directory.
func sigtermRun(t *testing.T, esURL string, beforeSignal func()) (jsonLines int, spool string, stderr string, exit time.Duration) {
	dir := t.TempDir()
	out := filepath.Join(dir, "findings.jsonl")
	spool = filepath.Join(dir, "spool")
	args := append(allCaptures(t, 6), "-w", out, "-workers", "1",
		"-es", esURL, "-es-header", "VL-Time-Field: @timestamp", "-es-header", "VL-Msg-Field: message",
		"-es-flush-interval", "1h", "-es-flush-bytes", "16MiB", "-spool", spool)
	cmd := exec.Command(builtSensor(t), args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// findings flow once the JSON file (64 KiB buffer) first grows
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(out); err == nil && st.Size() > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("exited before the signal: %v: %s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no findings within 60s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if beforeSignal != nil {
		beforeSignal()
	}
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v: %s", err, errb.String())
		}
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("did not exit after SIGTERM: %s", errb.String())
	}
	if !strings.Contains(errb.String(), "terminated: stopping") {
		t.Fatalf("signal not seen: %s", errb.String())
	}
	return countLines(t, out), spool, errb.String(), time.Since(signalled)
}

// SIGTERM with the server up: the findings held in the bulk buffers at the
// signal are delivered before exit; none lost.
func TestSIGTERMDelivers(t *testing.T) {
	vl := vltest.Start(t)
	n, spool, stderr, exit := sigtermRun(t, vl.ESURL(), func() {
		if n := vl.MustCount(); n != 0 {
			t.Errorf("%d findings reached the server before the signal: they were not all buffered", n)
		}
	})
	stored := vl.MustCount()
	pending, _ := elasticsearch.SpoolPending(spool)
	t.Logf("SIGTERM after %d findings, all in the bulk buffers: exit %v later; %d read back from the server, %d in the spool", n, exit.Round(time.Millisecond), stored, pending)
	if n == 0 || stored+pending != n || stored == 0 {
		t.Fatalf("%d findings written, %d stored, %d spooled: %s", n, stored, pending, stderr)
	}
	full := len(allCaptures(t, 6)) / 2
	t.Logf("(the run was cut after %d findings; 6 passes over %d captures)", n, full/6)
}

// SIGTERM with no server: everything buffered goes to the spool, at once;
// the next run delivers it.
func TestSIGTERMSpools(t *testing.T) {
	vl := vltest.New(t, 0) // not started: connections refused
	n, spool, stderr, exit := sigtermRun(t, vl.ESURL(), nil)
	pending, err := elasticsearch.SpoolPending(spool)
	t.Logf("SIGTERM after %d findings, exit %v later: %d in the spool", n, exit.Round(time.Millisecond), pending)
	if err != nil || n == 0 || pending != n {
		t.Fatalf("%d findings written, %d spooled (%v): %s", n, pending, err, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("%d waiting in the spool", n)) {
		t.Fatalf("summary: %s", stderr)
	}
	vl.Start()
	cmd := exec.Command(builtSensor(t), "-q", "-r", realCapture, "-es", vl.ESURL(), "-es-header", "VL-Time-Field: @timestamp", "-spool", spool)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("next run: %v: %s", err, out)
	}
	stored := vl.MustCount()
	left, _ := elasticsearch.SpoolPending(spool)
	// the next run adds its finding and its inventory row (one NTLM dependency)
	t.Logf("next run: %d read back (%d spooled + 1 new + 1 inventory row), %d left in the spool", stored, n, left)
	if stored != n+2 || left != 0 {
		t.Fatalf("stored %d, want %d; %d left", stored, n+2, left)
	}
}

// SIGHUP reopens the -w file (logrotate moved it).
func TestSIGHUPReopens(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "f.jsonl")
	cmd := exec.Command(builtSensor(t), "-q", "-r", "-", "-w", out)
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pcap, _ := os.ReadFile(realCapture)
	stdin.Write(pcap[:len(pcap)/2])
	time.Sleep(300 * time.Millisecond) // it is reading
	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	stdin.Write(pcap[len(pcap)/2:])
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// the file was created anew; the finding and the inventory row are in
	// one of the two
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("not reopened: %v", err)
	}
	if n := countLines(t, out) + countLines(t, out+".1"); n != 2 {
		t.Fatalf("%d lines in all", n)
	}
}

// The stop wrapper keeps a pcap file's batch reading: hiding it would make
// the pipeline copy every packet.
func TestStoppingKeepsBatchReading(t *testing.T) {
	src, err := capture.OpenFile(realCapture)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var stop atomic.Bool
	s := stopping(src, &stop)
	br, ok := s.(capture.BatchReader)
	if !ok {
		t.Fatal("the wrapped pcap file reads no batches")
	}
	b := capture.NewBatch(64<<10, 64)
	if err := br.ReadBatch(b); err != nil || len(b.Frames) == 0 {
		t.Fatalf("%d frames, %v", len(b.Frames), err)
	}
	stop.Store(true)
	if err := br.ReadBatch(b); err != io.EOF || len(b.Frames) != 0 {
		t.Fatalf("after stop: %d frames, %v", len(b.Frames), err)
	}
}

// The stop wrapper keeps a pcap file's reading in parts (several readers
// at once), and the parts stop with it.
func TestStoppingKeepsParts(t *testing.T) {
	src, err := capture.OpenFile(realCapture)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var stop atomic.Bool
	sp, ok := stopping(src, &stop).(capture.Splitter)
	if !ok {
		t.Fatal("the wrapped pcap file cannot be read in parts")
	}
	parts, ok := sp.Split()
	if !ok || parts.Count() == 0 || parts.Stopped() {
		t.Fatalf("split: %v, %d parts, stopped %v", ok, parts.Count(), parts.Stopped())
	}
	stop.Store(true)
	if !parts.Stopped() {
		t.Fatal("the parts go on after the stop")
	}
}

// SIGINT while a file is read in parts: the parts stop at the next one,
// every part handed over is worked through, and the run ends cleanly
// with fewer frames than the file has.
func TestStopEndsParts(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Size, cfg.Seed, cfg.PlantEvery, cfg.Originals = 16<<20, 3, 64<<10, realDir
	path := filepath.Join(t.TempDir(), "16m.pcap")
	m, err := gen.Generate(cfg, mustCreate(t, path))
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var stop atomic.Bool
	scfg := sensor.DefaultConfig()
	scfg.Carriers = sensor.Carriers()
	found := 0
	scfg.Emit = func(*findings.Finding) {
		found++
		stop.Store(true) // as the signal handler does
	}
	p := sensor.NewPipeline(scfg, 2, nil)
	if err := p.ReadSource(stopping(src, &stop)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	sn := p.Snapshot()
	parts := (m.Bytes + capture.PartSize - 1) / capture.PartSize
	t.Logf("stopped after %d of %d parts: %d of %d frames, %d findings", sn.Parts, parts, sn.Read, m.Packets, found)
	if found == 0 || sn.Parts == 0 || int64(sn.Parts) >= parts || int64(sn.Read) >= m.Packets {
		t.Fatalf("%d findings, %d of %d parts, %d of %d frames: the parts did not stop", found, sn.Parts, parts, sn.Read, m.Packets)
	}
}

func mustCreate(t *testing.T, path string) io.Writer {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
