package elasticsearch_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sinks"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/elasticsearch/vltest"
	jsonsink "ntlmsensor/sinks/json"
)

func pcapsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "pcaps")
}

// captures lists every capture bundled in pcaps/.
func captures(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(pcapsDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, suf := range []string{".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"} {
			if !d.IsDir() && strings.HasSuffix(p, suf) {
				out = append(out, p)
				break
			}
		}
		return nil
	})
	if err != nil || len(out) < 100 {
		t.Fatalf("captures: %d found, %v", len(out), err)
	}
	sort.Strings(out)
	return out
}

// analyse runs the sensor over each capture (one pipeline per file, as
// separate runs would) and hands every finding to emit.
func analyse(t testing.TB, paths []string, emit func(findings.Document) error) int {
	t.Helper()
	n := 0
	for _, path := range paths {
		src, err := capture.OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		cfg.Observer = "it"
		cfg.Emit = func(f *findings.Finding) {
			n++
			if err := emit(f); err != nil {
				t.Errorf("%s: write: %v", path, err)
			}
		}
		p := sensor.NewPipeline(cfg, 1, nil)
		if err := p.ReadSource(src); err != nil {
			t.Logf("%s: %v", path, err)
		}
		p.Close()
		src.Close()
	}
	return n
}

func lines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func vlConfig(t testing.TB, url string) elasticsearch.Config {
	cfg := elasticsearch.Defaults()
	cfg.URLs = []string{url}
	cfg.Headers = vltest.Headers
	cfg.FlushInterval = 200 * time.Millisecond
	cfg.BackoffMin = 20 * time.Millisecond
	cfg.BackoffMax = 200 * time.Millisecond
	cfg.Spool = filepath.Join(t.TempDir(), "spool")
	cfg.Getenv = func(string) string { return "" }
	cfg.Logf = func(format string, args ...any) { t.Logf(format, args...) }
	return cfg
}

// flatten writes a finding the way VictoriaLogs stores it: dotted keys,
// scalars as text, arrays as their JSON, empty strings dropped.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, e, out)
		}
	case []any:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	case string:
		if x != "" {
			out[prefix] = x
		}
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

func canonical(m map[string]string) string {
	// VictoriaLogs writes times without trailing zeros
	if ts, err := time.Parse(time.RFC3339Nano, m["@timestamp"]); err == nil {
		m["@timestamp"] = ts.UTC().Format(time.RFC3339Nano)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\x00", k, m[k])
	}
	return b.String()
}

// checkSameDocuments: the server holds exactly the documents of the JSON
// file, field by field (as a multiset: duplicates in the captures count).
func checkSameDocuments(t testing.TB, vl *vltest.Server, jsonLines []string) {
	t.Helper()
	rows, err := vl.Query("*")
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, l := range jsonLines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		flat := map[string]string{}
		flatten("", m, flat)
		want = append(want, canonical(flat))
	}
	for _, r := range rows {
		flat := map[string]string{}
		for k, v := range r {
			switch k {
			case "_msg", "_stream", "_stream_id":
			case "_time":
				flat["@timestamp"] = v
			default:
				if v != "" {
					flat[k] = v
				}
			}
		}
		got = append(got, canonical(flat))
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(want, got) {
		for i := range min(len(want), len(got)) {
			if want[i] != got[i] {
				t.Fatalf("documents differ (%d sent, %d stored); first difference:\nsent   %q\nstored %q", len(want), len(got), want[i], got[i])
			}
		}
		t.Fatalf("%d documents sent, %d stored", len(want), len(got))
	}
}

// Every finding of every bundled capture, written to a JSON file and to a
// real server (VictoriaLogs, speaking the Elasticsearch bulk API) in the
// same run: the server holds as many documents as the file has lines, and
// the same ones.
func TestVictoriaLogsAllCaptures(t *testing.T) {
	vl := vltest.Start(t)
	jsonPath := filepath.Join(t.TempDir(), "findings.jsonl")
	js, err := jsonsink.Open(jsonPath, jsonsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := elasticsearch.Open(vlConfig(t, vl.ESURL()))
	if err != nil {
		t.Fatal(err)
	}
	multi := sinks.Multi{js, es}
	emitted := analyse(t, captures(t), multi.Write)
	if err := multi.Close(); err != nil {
		t.Fatal(err)
	}
	written := lines(t, jsonPath)
	stored := vl.MustCount()
	st := es.Stats()
	t.Logf("%d captures: %d findings emitted, %d JSON lines, %d read back from the server; %v", len(captures(t)), emitted, len(written), stored, st)
	if len(written) != emitted || stored != len(written) || emitted < 300 {
		t.Fatalf("emitted %d, JSON lines %d, stored %d", emitted, len(written), stored)
	}
	if st.Sent != uint64(emitted) || st.Failed != 0 || st.Spooled != 0 || st.InSpool != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkSameDocuments(t, vl, written)
}

// The server is down when the sensor starts and comes back in the middle
// of the run: findings wait in the spool and all arrive, once each.
func TestVictoriaLogsOutageDuringRun(t *testing.T) {
	vl := vltest.New(t, 0) // not started: connections are refused
	cfg := vlConfig(t, vl.ESURL())
	jsonPath := filepath.Join(t.TempDir(), "findings.jsonl")
	js, _ := jsonsink.Open(jsonPath, jsonsink.Options{})
	es, err := elasticsearch.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	multi := sinks.Multi{js, es}
	all := captures(t)
	half := len(all) / 2
	first := analyse(t, all[:half], multi.Write)
	deadline := time.Now().Add(30 * time.Second)
	for !es.Down() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !es.Down() || es.Stats().Spooled == 0 {
		t.Fatalf("no outage seen: %+v", es.Stats())
	}
	vl.Start()
	second := analyse(t, all[half:], multi.Write)
	if err := multi.Close(); err != nil {
		t.Fatal(err)
	}
	written := lines(t, jsonPath)
	stored := vl.MustCount()
	st := es.Stats()
	t.Logf("%d findings before the server came up, %d after; %d JSON lines, %d read back; %v", first, second, len(written), stored, st)
	if stored != len(written) || len(written) != first+second || st.InSpool != 0 || st.Failed != 0 {
		t.Fatalf("JSON lines %d, stored %d, stats %+v", len(written), stored, st)
	}
	checkSameDocuments(t, vl, written)
	if n, _ := elasticsearch.SpoolPending(cfg.Spool); n != 0 {
		t.Fatalf("%d left in the spool", n)
	}
}

// The server stays down for the whole run and comes back after it: the run
// leaves its findings in the spool, and the next run delivers them.
func TestVictoriaLogsOutageWholeRun(t *testing.T) {
	vl := vltest.New(t, 0)
	cfg := vlConfig(t, vl.ESURL())
	jsonPath := filepath.Join(t.TempDir(), "findings.jsonl")
	js, _ := jsonsink.Open(jsonPath, jsonsink.Options{})
	es, err := elasticsearch.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	multi := sinks.Multi{js, es}
	start := time.Now()
	emitted := analyse(t, captures(t), multi.Write)
	t.Logf("analysed in %v", time.Since(start))
	if err := multi.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed at %v", time.Since(start))
	inSpool, _ := elasticsearch.SpoolPending(cfg.Spool)
	if st := es.Stats(); st.Sent != 0 || st.InSpool != int64(emitted) || inSpool != emitted {
		t.Fatalf("after the run: %d in the spool, stats %+v, emitted %d", inSpool, st, emitted)
	}
	vl.Start()
	t.Logf("server up at %v", time.Since(start))
	es, err = elasticsearch.Open(cfg) // the next run, with nothing new to say
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("delivered at %v", time.Since(start))
	written := lines(t, jsonPath)
	stored := vl.MustCount()
	t.Logf("%d findings spooled during the outage, %d read back after the restart; %v", inSpool, stored, es.Stats())
	if stored != len(written) || stored != emitted {
		t.Fatalf("JSON lines %d, stored %d", len(written), stored)
	}
	checkSameDocuments(t, vl, written)
}
