package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const realCapture = "../../pcaps/real-implementations/smb2_ntlmv2_by_ip.pcap"

func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return o.String(), e.String(), status
}

func findings(t *testing.T, out string) []map[string]any {
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
		fs = append(fs, m)
	}
	return fs
}

func TestReadsACaptureAndWritesFindings(t *testing.T) {
	out, errs, status := runCLI(t, "-r", realCapture, "-observer", "probe1")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	fs := findings(t, out)
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
	fs := findings(t, string(b))
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
		{"not a capture", notCapture, 1, "not a pcap or pcapng file", 0},
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
			if n := len(findings(t, out)); n != tc.findings {
				t.Errorf("%d findings, want %d", n, tc.findings)
			}
		})
	}
	// a bad file among good ones: the good ones' findings are all there
	out, errs, status := runCLI(t, "-q", "-r", notCapture, "-r", realCapture)
	if status != 0 || len(findings(t, out)) != 1 || !strings.Contains(errs, notCapture) {
		t.Errorf("mixed: status %d, %d findings, %q", status, len(findings(t, out)), errs)
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
