package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ntlmsensor/capture"
)

// openableCaptures: every capture under pcaps/public that opens, and the real
// implementations' captures.
func openableCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir("../../pcaps/public", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			return err
		}
		if src, err := capture.OpenFile(p); err == nil {
			src.Close()
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 100 {
		t.Fatalf("%d public captures", len(out))
	}
	out = append(out, realCaptures(t)...)
	sort.Strings(out)
	return out
}

// sortedFindings returns the findings of an output, sorted, without the
// inventory rows (their @timestamp is when they were written) and the
// alerts (ruleIDs). With
// noCauses, ntlm.cause, ntlm.causes and ntlm.cause_evidence are dropped:
// read as one trace, a logon may be explained by Kerberos evidence in
// another file (a clock skew a minute before), which one run per file
// cannot see.
func sortedFindings(t *testing.T, out string, noCauses bool) []string {
	t.Helper()
	var l []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || strings.Contains(line, `"kind":"state"`) || strings.Contains(line, `"kind":"alert"`) {
			continue
		}
		if noCauses && strings.Contains(line, `"cause":`) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			ntlm := m["ntlm"].(map[string]any)
			delete(ntlm, "cause")
			delete(ntlm, "causes")
			delete(ntlm, "cause_evidence")
			b, _ := json.Marshal(m)
			line = string(b)
		}
		l = append(l, line)
	}
	sort.Strings(l)
	return l
}

// The bundled captures read in one run, in different -r orders and with
// one or two workers, give exactly the same findings, and the findings of
// one run per file — @timestamp and log.file.path included: a file that
// goes back in time starts a fresh trace (a trace break), and no
// connection carries over. Only the causes may differ from one run per
// file, where evidence in another file of the trace is not seen.
func TestFilesOrderDoesNotMatter(t *testing.T) {
	files := openableCaptures(t)
	// the alerts of the public captures (audit/detect/detect_test.go says
	// why each; its three NetMon .cap files are not read here), the same
	// read one run per file and in one run in any order
	wantAlerts := []string{"asrep_roasting", "asrep_roasting", "asrep_roasting", "asrep_roasting", "brute_force",
		"kerberos_downgrade_reply", "ntlm_relay_target", "password_spray"}
	var perFile, perFileAlerts []string
	for _, f := range files {
		out, errs, status := runCLI(t, "-q", "-workers", "1", "-observer", "t", "-r", f)
		if status != 0 {
			t.Fatalf("%s: %d: %s", f, status, errs)
		}
		if out != "" {
			perFile = append(perFile, sortedFindings(t, out, true)...)
			perFileAlerts = append(perFileAlerts, ruleIDs(t, out)...)
		}
	}
	sort.Strings(perFile)
	if sort.Strings(perFileAlerts); !slices.Equal(perFileAlerts, wantAlerts) {
		t.Errorf("one run per file: alerts %v, want %v", perFileAlerts, wantAlerts)
	}
	var first []string // the sorted order's findings, causes included
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	shuffled := slices.Clone(files)
	for i := range shuffled { // a fixed shuffle: every third file to the front
		if i%3 == 0 {
			shuffled[i], shuffled[i/3] = shuffled[i/3], shuffled[i]
		}
	}
	for _, tc := range []struct {
		name    string
		files   []string
		workers string
	}{{"sorted", files, "1"}, {"reversed", reversed, "2"}, {"shuffled", shuffled, "1"}} {
		args := []string{"-workers", tc.workers, "-observer", "t"}
		for _, f := range tc.files {
			args = append(args, "-r", f)
		}
		out, errs, status := runCLI(t, args...)
		if status != 0 {
			t.Fatalf("%s: %d: %s", tc.name, status, errs)
		}
		if ids := ruleIDs(t, out); !slices.Equal(ids, wantAlerts) {
			t.Errorf("%s order: alerts %v, want %v", tc.name, ids, wantAlerts)
		}
		if all := sortedFindings(t, out, false); first == nil {
			first = all
		} else if !slices.Equal(all, first) {
			t.Fatalf("%s order: the findings (causes included) differ from the sorted order's", tc.name)
		}
		got := sortedFindings(t, out, true)
		if !slices.Equal(got, perFile) {
			for i := range min(len(got), len(perFile)) {
				if got[i] != perFile[i] {
					t.Fatalf("%s order: %d findings, one run per file %d; first difference:\none run  %s\nper file %s", tc.name, len(got), len(perFile), got[i], perFile[i])
				}
			}
			t.Fatalf("%s order: %d findings, one run per file %d", tc.name, len(got), len(perFile))
		}
		if tc.name == "sorted" {
			t.Logf("%d captures, %d findings; %s", len(files), len(got), strings.TrimSpace(errs))
		}
	}
}

type frame struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// readFrames reads the frames of a capture, up to the first for which
// stop says so (included).
func readFrames(t *testing.T, path string, stop func([]byte) bool) []frame {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var frames []frame
	for {
		data, ci, err := src.ReadPacket()
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, frame{append([]byte(nil), data...), ci})
		if stop(data) {
			return frames
		}
	}
}

func writePcap(t *testing.T, path string, frames []frame) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, fr := range frames {
		fr.ci.CaptureLength = len(fr.data)
		if err := w.WritePacket(fr.ci, fr.data); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// shift moves every frame's time by d.
func shift(frames []frame, d time.Duration) []frame {
	out := slices.Clone(frames)
	for i := range out {
		out[i].ci.Timestamp = out[i].ci.Timestamp.Add(d)
	}
	return out
}

// A logon whose answer never comes is stamped with the time of its
// AUTHENTICATE, not of the moment it is given up — by the idle timeout
// (another connection an hour later moves the clock), at the end of the
// input, at a trace break, or when the next file jumps years ahead — and
// names its own file.
func TestFlushedFindingKeepsItsTime(t *testing.T) {
	frames := readFrames(t, filepath.Join(realDir, "smb2_ntlmv2_by_ip.pcap"), func(b []byte) bool {
		return bytes.Contains(b, []byte("NTLMSSP\x00\x03\x00\x00\x00")) // the server's answer never comes
	})
	last := frames[len(frames)-1]
	if !bytes.Contains(last.data, []byte("NTLMSSP\x00\x03\x00\x00\x00")) {
		t.Fatal("no AUTHENTICATE")
	}
	authTime := last.ci.Timestamp
	other := readFrames(t, filepath.Join(realDir, "http_ntlmv2_by_ip.pcap"), func([]byte) bool { return true })
	other = shift(other, authTime.Add(time.Hour).Sub(other[0].ci.Timestamp))

	dir := t.TempDir()
	idle := writePcap(t, filepath.Join(dir, "idle.pcap"), append(slices.Clone(frames), other...))
	end := writePcap(t, filepath.Join(dir, "end.pcap"), frames)
	const years5 = 5 * 365 * 24 * time.Hour
	earlier := writePcap(t, filepath.Join(dir, "earlier.pcap"), shift(frames, -years5))

	for _, tc := range []struct {
		name   string
		args   []string
		want   map[string]time.Time
		breaks int
	}{
		{"idle timeout", []string{"-r", idle}, map[string]time.Time{idle: authTime}, 0},
		{"end of input", []string{"-r", end}, map[string]time.Time{end: authTime}, 0},
		// end.pcap sorts first (same first packet), then idle.pcap goes back in time
		{"trace break", []string{"-r", idle, "-r", end}, map[string]time.Time{idle: authTime, end: authTime}, 1},
		{"years ahead", []string{"-r", end, "-r", earlier}, map[string]time.Time{earlier: authTime.Add(-years5), end: authTime}, 0},
	} {
		out, errs, status := runCLI(t, append([]string{"-workers", "2", "-observer", "t"}, tc.args...)...)
		if status != 0 {
			t.Fatalf("%s: %d %s", tc.name, status, errs)
		}
		got := map[string]time.Time{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var f struct {
				Time  time.Time `json:"@timestamp"`
				Event struct{ Outcome string }
				User  struct{ Name string }
				Log   struct{ File struct{ Path string } }
			}
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("%s: %q: %v", tc.name, line, err)
			}
			if f.User.Name == "" || f.Event.Outcome != "unknown" {
				continue // the other connection's
			}
			got[f.Log.File.Path] = f.Time
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: unanswered logons from %v, want %v", tc.name, got, tc.want)
		}
		for file, want := range tc.want {
			if !got[file].Equal(want) {
				t.Errorf("%s: the logon of %s stamped %v, its AUTHENTICATE was at %v", tc.name, filepath.Base(file), got[file], want)
			}
		}
		if n := strings.Count(errs, "trace breaks"); (n > 0) != (tc.breaks > 0) || tc.breaks > 0 && !strings.Contains(errs, "(1 trace breaks") {
			t.Errorf("%s: summary %q, want %d trace breaks", tc.name, errs, tc.breaks)
		}
	}
}
