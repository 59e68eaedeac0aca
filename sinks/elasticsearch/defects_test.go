package elasticsearch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/internal/tmpfs"
	"ntlmsensor/sinks/elasticsearch/vltest"
)

// checkSegments: every segment of the spool is whole JSON lines.
func checkSegments(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), segSuffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("%s ends in a torn line: %q", e.Name(), b[max(0, len(b)-80):])
		}
		for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\n'}) {
			if len(l) > 0 && !json.Valid(l) {
				t.Fatalf("%s holds a damaged line: %.120q", e.Name(), l)
			}
			n++
		}
	}
	return n
}

// The spool on a real full file system (a 128 KiB tmpfs): an append that
// does not fit is refused and counted, and leaves the segment as it was;
// when space comes back the spool goes on, and every finding it accepted
// reaches the server (VictoriaLogs) once, none dead-lettered.
func TestSpoolDiskFull(t *testing.T) {
	disk := tmpfs.Mount(t, 128<<10)
	filler := tmpfs.Fill(t, disk, 48<<10)
	vl := vltest.New(t, 0) // not started: the server is down
	cfg := testConfig(t, vl.ESURL())
	cfg.Headers = vltest.Headers
	cfg.Spool = filepath.Join(disk, "spool")
	cfg.DeadLetter = filepath.Join(t.TempDir(), "dead.jsonl")
	cfg.DrainTimeout = 60 * time.Second
	s := openSink(t, cfg)
	writeN(t, s, 0, 1)
	waitFor(t, 10*time.Second, "the outage", s.Down)

	accepted := map[string]bool{"user0": true}
	refused := 0
	i := 1
	for ; refused < 25; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			if !strings.Contains(err.Error(), "no space left on device") {
				t.Fatalf("write %d: %v", i, err)
			}
			refused++
			continue
		}
		accepted["user"+strconv.Itoa(i)] = true
	}
	inSpool := checkSegments(t, cfg.Spool)
	if st := s.Stats(); st.SpoolErrors != uint64(refused) || st.Failed != uint64(refused) || int(st.InSpool) != len(accepted) || inSpool != len(accepted) {
		t.Fatalf("disk full: %d refused, %d accepted, %d lines in the spool, stats %+v", refused, len(accepted), inSpool, s.Stats())
	}
	// space comes back
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for end := i + 40; i < end; i++ {
		if err := s.Write(mkFinding(i)); err != nil {
			t.Fatalf("write %d after space came back: %v", i, err)
		}
		accepted["user"+strconv.Itoa(i)] = true
	}
	if n := checkSegments(t, cfg.Spool); n != len(accepted) {
		t.Fatalf("%d lines in the spool, %d accepted", n, len(accepted))
	}
	vl.Start()
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), strconv.Itoa(refused)+" findings neither delivered nor spooled") {
		t.Fatalf("close: %v", err)
	}
	st := s.Stats()
	t.Logf("%d findings written, %d refused by the full disk, stats %v", i, refused, st)
	if st.Sent != uint64(len(accepted)) || st.DeadLettered != 0 || st.Damaged != 0 || st.InSpool != 0 {
		t.Fatalf("stats %+v, %d accepted", st, len(accepted))
	}
	if b, err := os.ReadFile(cfg.DeadLetter); err != nil || len(b) != 0 {
		t.Fatalf("dead letters: %q %v", b, err)
	}
	rows, err := vl.Query("*")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		got[r["user.name"]]++
	}
	for u := range accepted {
		if got[u] != 1 {
			t.Fatalf("%s stored %d times", u, got[u])
		}
	}
	if len(rows) != len(accepted) {
		t.Fatalf("%d stored, %d accepted", len(rows), len(accepted))
	}
}

// A spool damaged by an older version (a line torn by a full disk, the
// next document glued onto it): the torn part is dead-lettered raw, the
// glued document and the neighbours are delivered once.
func TestSpoolDamagedLine(t *testing.T) {
	es := newFakeES(t)
	dir := t.TempDir()
	var seg []byte
	seg = append(append(seg, docOf(0)...), '\n')
	seg = append(seg, docOf(1)[:200]...) // torn
	seg = append(append(seg, docOf(2)...), '\n')
	seg = append(append(seg, `not json at all`...), '\n')
	seg = append(append(seg, docOf(3)...), '\n')
	if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, es.URL)
	cfg.Spool = dir
	cfg.Workers = 1 // in spool order
	cfg.DeadLetter = filepath.Join(t.TempDir(), "dead.jsonl")
	s := openSink(t, cfg)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stored := es.storedDocs()
	if len(stored) != 3 || !bytes.Equal(stored[0], docOf(0)) || !bytes.Equal(stored[1], docOf(2)) || !bytes.Equal(stored[2], docOf(3)) {
		t.Fatalf("stored %d: %q", len(stored), stored)
	}
	f, err := os.Open(cfg.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var raws []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Reason string `json:"reason"`
			Raw    string `json:"finding_raw"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || !strings.Contains(l.Reason, "damaged spool line") {
			t.Fatalf("dead letter %q: %v", sc.Text(), err)
		}
		raws = append(raws, l.Raw)
	}
	if len(raws) != 2 || raws[0] != string(docOf(1)[:200]) || raws[1] != "not json at all" {
		t.Fatalf("dead letters %q", raws)
	}
	if st := s.Stats(); st.Sent != 3 || st.Damaged != 2 || st.DeadLettered != 2 || st.InSpool != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n, _ := SpoolPending(dir); n != 0 {
		t.Fatalf("%d left in the spool", n)
	}
}

// One document of a bulk request refused (a mapping error), delivered
// from the spool: the others are stored, the one is dead-lettered, nothing
// is sent twice — not by this run, not by the next one.
func TestSingleItemRefused(t *testing.T) {
	sw := newSwitch(t)
	cfg := testConfig(t, sw.url())
	cfg.Spool = t.TempDir()
	cfg.DeadLetter = filepath.Join(t.TempDir(), "dead.jsonl")
	s := openSink(t, cfg)
	writeN(t, s, 0, 1)
	waitFor(t, 10*time.Second, "the outage", s.Down)
	const n, bad = 200, 137
	writeN(t, s, 1, n)
	sw.up(t)
	sw.es.setRespond(func(_ int, docs [][]byte) verdict {
		v := verdict{items: make([]int, len(docs))}
		for i, d := range docs {
			if userOf(t, d) == "user"+strconv.Itoa(bad) {
				v.items[i] = 400
			}
		}
		return v
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// the next run: nothing left to send
	s = openSink(t, cfg)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sw.es.mu.Lock()
	defer sw.es.mu.Unlock()
	for i := 0; i < n; i++ {
		if got := sw.es.received[string(docOf(i))]; got != 1 {
			t.Fatalf("finding %d sent %d times", i, got)
		}
	}
	stored := map[string]bool{}
	for _, d := range sw.es.stored {
		stored[userOf(t, d)] = true
	}
	if len(sw.es.stored) != n-1 || stored["user"+strconv.Itoa(bad)] {
		t.Fatalf("%d stored (refused one among them: %v)", len(sw.es.stored), stored["user"+strconv.Itoa(bad)])
	}
	b, err := os.ReadFile(cfg.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Status  int             `json:"status"`
		Reason  string          `json:"reason"`
		Finding json.RawMessage `json:"finding"`
	}
	if bytes.Count(b, []byte{'\n'}) != 1 || json.Unmarshal(b, &l) != nil || l.Status != 400 || !strings.Contains(l.Reason, "mapper_parsing_exception") || !bytes.Equal(l.Finding, docOf(bad)) {
		t.Fatalf("dead-letter file %q", b)
	}
}
