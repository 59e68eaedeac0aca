package json

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ntlmsensor/findings"
	"ntlmsensor/internal/tmpfs"
)

func finding(i int) *findings.Finding {
	return &findings.Finding{
		Time:      time.Date(2024, 3, 1, 10, 4, 5, i*1000, time.UTC),
		Outcome:   findings.Failure,
		Client:    netip.MustParseAddrPort("10.1.2.3:40000"),
		Server:    netip.MustParseAddrPort("10.1.2.10:445"),
		Transport: "tcp",
		Protocol:  "smb",
		HasUser:   true,
		UserName:  fmt.Sprintf("user%d-%s", i, strings.Repeat("x", 400)),
		Mechanism: "ntlm",
		Observer:  "test",
	}
}

// wholeLines checks that the file is whole JSON lines and returns how many.
func wholeLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends in a torn line: %q", path, b[max(0, len(b)-60):])
	}
	n := 0
	for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\n'}) {
		if len(l) == 0 {
			continue
		}
		if !json.Valid(l) {
			t.Fatalf("line %d of %s is not JSON: %.100q", n+1, path, l)
		}
		n++
	}
	return n
}

// A file torn by a crash: its tail is moved to PATH.torn, and the next
// line starts on a line of its own.
func TestTornTailMovedAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	good := string(finding(0).AppendJSON(nil)) + "\n"
	torn := string(finding(1).AppendJSON(nil))[:100]
	if err := os.WriteFile(path, []byte(good+torn), 0o600); err != nil {
		t.Fatal(err)
	}
	var said string
	s, err := Open(path, Options{Logf: func(f string, a ...any) { said = fmt.Sprintf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(finding(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := wholeLines(t, path); n != 2 {
		t.Fatalf("%d lines", n)
	}
	aside, err := os.ReadFile(path + ".torn")
	if err != nil || string(aside) != torn+"\n" {
		t.Fatalf(".torn holds %q, %v", aside, err)
	}
	if !strings.Contains(said, "100 bytes were moved to "+path+".torn") {
		t.Fatalf("said %q", said)
	}
}

// Findings reach the file within FlushEvery, without Flush or Close.
func TestTimedFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	s, err := Open(path, Options{FlushEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(finding(0)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if b, _ := os.ReadFile(path); bytes.Equal(b, append(finding(0).AppendJSON(nil), '\n')) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the finding did not reach the file")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// On a real full disk (a 64 KiB tmpfs) the file keeps whole lines only,
// the loss is counted, and when space comes back writing goes on.
func TestDiskFull(t *testing.T) {
	disk := tmpfs.Mount(t, 64<<10)
	filler := tmpfs.Fill(t, disk, 16<<10)
	path := filepath.Join(disk, "f.jsonl")
	s, err := Open(path, Options{FlushEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	const n = 400 // ~200 KiB
	errs := 0
	for i := 0; i < n; i++ {
		if err := s.Write(finding(i)); err != nil {
			if !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "findings lost") {
				t.Fatalf("write %d: %v", i, err)
			}
			errs++
		}
	}
	if err := s.Flush(); err == nil {
		errs++ // the last buffer may have fitted
	}
	inFile := wholeLines(t, path)
	t.Logf("%d findings: %d in the file, %d lost, %d write errors", n, inFile, s.Lost(), errs)
	if errs == 0 || s.Lost() == 0 || uint64(inFile)+s.Lost() != n || s.Written() != uint64(inFile) {
		t.Fatalf("%d in the file, written %d, lost %d", inFile, s.Written(), s.Lost())
	}
	os.Remove(filler)
	for i := n; i < n+10; i++ {
		if err := s.Write(finding(i)); err != nil {
			t.Fatalf("write %d after space came back: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := wholeLines(t, path); got != inFile+10 {
		t.Fatalf("%d lines, want %d", got, inFile+10)
	}
}
