package elasticsearch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rec(i int) []byte { return fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", i%50)) }

func readAll(t *testing.T, s *spool, batch int) []record {
	t.Helper()
	var out []record
	for s.Unread() {
		rs, err := s.Read(batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			t.Fatal("Unread but nothing read")
		}
		out = append(out, rs...)
	}
	return out
}

// FIFO across segments, resumed after a restart at the committed head.
func TestSpoolFIFOAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.segMax = 1000 // many segments
	for i := 0; i < 500; i++ {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.segs) < 10 {
		t.Fatalf("%d segments", len(s.segs))
	}
	got := readAll(t, s, 700)
	if len(got) != 500 {
		t.Fatalf("read %d", len(got))
	}
	for i, r := range got {
		if string(r.doc) != string(rec(i)) {
			t.Fatalf("record %d: %s", i, r.doc)
		}
	}
	// deliver the first 200, then "crash" (close without more commits)
	s.Commit(got[199].end)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := SpoolPending(dir); n != 300 {
		t.Fatalf("pending %d", n)
	}
	s, err = openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.segMax = 1000
	for i := 500; i < 600; i++ { // appended after the restart
		s.Append(rec(i))
	}
	got = readAll(t, s, 1<<20)
	if len(got) != 400 {
		t.Fatalf("after restart read %d, want 400", len(got))
	}
	for j, r := range got {
		if string(r.doc) != string(rec(200+j)) {
			t.Fatalf("after restart record %d: %s", j, r.doc)
		}
	}
	// rewind re-reads from the head
	s.Rewind()
	if again := readAll(t, s, 1<<20); len(again) != 400 {
		t.Fatalf("rewound read %d", len(again))
	}
	// all delivered: the files go, the space is free
	s.Commit(got[len(got)-1].end)
	if s.Bytes() != 0 || s.Unread() {
		t.Fatalf("after full commit: %d bytes, unread %v", s.Bytes(), s.Unread())
	}
	if err := s.Append(rec(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if n, _ := SpoolPending(dir); n != 1 {
		t.Fatalf("pending %d", n)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments left: %v", segs)
	}
}

// A crash in mid-write leaves a torn last line: it is cut at the next start.
func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(dir, 1<<20)
	for i := 0; i < 3; i++ {
		s.Append(rec(i))
	}
	name := filepath.Join(dir, segName(s.wSeg))
	s.Close()
	f, _ := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"n":3,"pa`)
	f.Close()
	if n, _ := SpoolPending(dir); n != 3 {
		t.Fatalf("pending with torn tail %d", n)
	}
	s, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Append(rec(4))
	got := readAll(t, s, 1<<20)
	if len(got) != 4 || string(got[3].doc) != string(rec(4)) {
		t.Fatalf("got %d records, last %s", len(got), got[len(got)-1].doc)
	}
}

func TestSpoolLockedAndBounded(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := openSpool(dir, 1000); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
	n := 0
	for ; n < 1000; n++ {
		if err := s.Append(rec(10)); err != nil {
			if err != errSpoolFull {
				t.Fatal(err)
			}
			break
		}
	}
	if int64(n*(len(rec(10))+1)) > 1000 || s.Bytes() > 1000 {
		t.Fatalf("%d records, %d bytes in a 1000-byte spool", n, s.Bytes())
	}
}

// A line that is not a document (no newline within the limit) is skipped.
func TestSpoolCorruptSegment(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, segName(1)), []byte("{\"a\":1}\n\n{\"b\":2}\n"), 0o600)
	s, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s, 1<<20)
	if len(got) != 2 || string(got[1].doc) != `{"b":2}` {
		t.Fatalf("%d records: %v", len(got), got)
	}
}
