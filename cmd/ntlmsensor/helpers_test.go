package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

const realDir = "../../pcaps/real-implementations"

// realTopDir is a folder holding copies of the 42 captures at the top of
// realDir (not its audit/ and attacks/ sets), for tests that read a folder
// and pin the numbers TRUTH.md gives for those 42.
func realTopDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(realDir, "*.pcap"))
	if err != nil || len(files) != 42 {
		t.Fatalf("%d captures in %s: %v", len(files), realDir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sensorBinary builds ntlmsensor for one test (the build cache makes it
// quick after the first).
func sensorBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ntlmsensor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// canonical turns JSON-lines findings into a multiset without the fields
// that depend on when and where they were seen (and from which file).
func canonical(t *testing.T, jsonl []byte) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range bytes.Split(jsonl, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if ev, _ := m["event"].(map[string]any); ev["kind"] != "event" {
			// inventory rows: their first/last seen are when the packets
			// were replayed; alerts depend on the order the files were
			// read or replayed in (ruleIDs compares them)
			continue
		}
		delete(m, "@timestamp")
		delete(m, "log") // log.file.path: offline runs name their file, live capture has none
		if n, ok := m["ntlm"].(map[string]any); ok {
			// a cause may rest on Kerberos evidence elsewhere in the trace:
			// offline each capture is a trace of its own, a replay puts
			// them all in one within seconds (the audit tests pin causes)
			delete(n, "cause")
			delete(n, "causes")
			delete(n, "cause_evidence")
		}
		b, _ := json.Marshal(m) // keys sorted
		out[string(b)]++
	}
	return out
}

func diffFindings(t *testing.T, want, got map[string]int, wantName, gotName string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] != got[k] {
			t.Errorf("×%d %s, ×%d %s: %s", want[k], wantName, got[k], gotName, k)
		}
	}
}

// offline runs the sensor over each capture on its own, one worker: the
// reference.
func offline(t *testing.T, files []string) map[string]int {
	t.Helper()
	var all []byte
	for _, f := range files {
		out, errs, status := runCLI(t, "-q", "-workers", "1", "-observer", "test", "-r", f)
		if status != 0 {
			t.Fatalf("%s: status %d: %s", f, status, errs)
		}
		all = append(all, out...)
	}
	return canonical(t, all)
}

func realCaptures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(realDir, "*.pcap"))
	if err != nil || len(files) < 30 {
		t.Fatalf("real captures: %v (%d)", err, len(files))
	}
	return files
}
