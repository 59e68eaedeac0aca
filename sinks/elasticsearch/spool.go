package elasticsearch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The spool is a FIFO of finding documents on disk: segment files
// DIR/<20-digit number>.seg of JSON lines (each exactly one AppendJSON
// document), and DIR/head, "SEGMENT OFFSET", the position up to which
// everything has been delivered (or dead-lettered). Segments are appended
// with one write per document, so a crash loses nothing that Write accepted;
// a torn last line is cut at the next start. Delivered segments are deleted.
//
// The spool is not safe for concurrent use: the sink holds its mutex.
type spool struct {
	dir    string
	max    int64 // bytes of all segment files, at most
	segMax int64
	lock   *os.File

	segs  []uint64         // segment numbers on disk, ascending
	sizes map[uint64]int64 // their sizes
	total int64

	w    *os.File // the tail segment, appended to
	wSeg uint64

	// read cursor: the next record to hand out
	rSeg uint64
	rOff int64
	r    *os.File
	rBuf []byte

	// committed head
	cSeg      uint64
	cOff      int64
	dirty     bool
	persisted time.Time
	scratch   []byte

	appendErrors uint64 // appends that failed (disk full), the segment cut back
}

// spoolPos is the position just after a record.
type spoolPos struct {
	seg uint64
	off int64
}

// record is one document read from the spool.
type record struct {
	doc []byte
	end spoolPos
}

var errSpoolFull = errors.New("spool full")

const (
	segSuffix      = ".seg"
	defaultSegMax  = 8 << 20
	headName       = "head"
	persistEvery   = time.Second
	maxRecordBytes = 16 << 20 // a longer line is not a finding: skipped
)

func segName(n uint64) string { return fmt.Sprintf("%020d%s", n, segSuffix) }

// openSpool opens (creating) the spool in dir, locking it against a second
// process, and recovers from an interrupted run.
func openSpool(dir string, max int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &spool{dir: dir, max: max, segMax: defaultSegMax, lock: lock, sizes: map[uint64]int64{}}
	if s.segMax > max/4 && max/4 > 0 {
		s.segMax = max / 4 // several segments even in a small spool
	}
	if err := s.load(); err != nil {
		unlockDir(lock)
		return nil, err
	}
	return s, nil
}

func (s *spool) load() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, n)
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	s.cSeg, s.cOff = readHead(s.dir)
	// drop delivered segments
	keep := s.segs[:0]
	for _, n := range s.segs {
		if n < s.cSeg {
			os.Remove(filepath.Join(s.dir, segName(n)))
			continue
		}
		keep = append(keep, n)
	}
	s.segs = keep
	if len(s.segs) == 0 || s.segs[0] != s.cSeg {
		s.cOff = 0
		if len(s.segs) > 0 {
			s.cSeg = s.segs[0]
		}
	}
	for i, n := range s.segs {
		st, err := os.Stat(filepath.Join(s.dir, segName(n)))
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		size := st.Size()
		if i == len(s.segs)-1 && size > 0 {
			// a torn last line (crash in mid-write): cut it
			if size, err = cutTornTail(filepath.Join(s.dir, segName(n)), size); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
		}
		s.sizes[n] = size
		s.total += size
	}
	if len(s.segs) > 0 && s.cOff > s.sizes[s.cSeg] {
		s.cOff = s.sizes[s.cSeg]
	}
	s.rSeg, s.rOff = s.cSeg, s.cOff
	if len(s.segs) > 0 {
		s.wSeg = s.segs[len(s.segs)-1] // new records go to a new segment
	} else {
		s.wSeg = s.cSeg
	}
	return nil
}

func readHead(dir string) (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(dir, headName))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	seg, err1 := strconv.ParseUint(f[0], 10, 64)
	off, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return 0, 0
	}
	return seg, off
}

func cutTornTail(path string, size int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end != size {
		if err := f.Truncate(end); err != nil {
			return 0, err
		}
	}
	return end, nil
}

// Append adds one document at the tail.
func (s *spool) Append(doc []byte) error {
	need := int64(len(doc)) + 1
	if s.total+need > s.max {
		return errSpoolFull
	}
	if s.w == nil || s.sizes[s.wSeg]+need > s.segMax && s.sizes[s.wSeg] > 0 {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.scratch = append(append(s.scratch[:0], doc...), '\n')
	good := s.sizes[s.wSeg]
	n, err := s.w.Write(s.scratch)
	if err == nil && n == len(s.scratch) {
		s.sizes[s.wSeg] += int64(n)
		s.total += int64(n)
		return nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	// A short write (disk full) leaves part of a line: cut the segment back
	// to its last whole line, or the next document would be glued onto it.
	s.appendErrors++
	if n > 0 {
		if terr := s.w.Truncate(good); terr != nil {
			// the part stays: count it, and start a new segment, so that
			// the reader meets it as a damaged last line and skips it
			s.sizes[s.wSeg] += int64(n)
			s.total += int64(n)
			s.w.Close()
			s.w = nil
		}
	}
	return fmt.Errorf("spool: %w", err)
}

// rotate starts a new tail segment.
func (s *spool) rotate() error {
	if s.w != nil {
		s.w.Sync()
		s.w.Close()
		s.w = nil
	}
	next := s.wSeg + 1
	if len(s.segs) == 0 {
		// empty spool: start after the committed head, so head stays valid
		next = max(s.cSeg, s.wSeg) + 1
	}
	f, err := os.OpenFile(filepath.Join(s.dir, segName(next)), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if len(s.segs) == 0 {
		s.cSeg, s.cOff, s.rSeg, s.rOff = next, 0, next, 0
		s.dirty = true
	}
	s.w, s.wSeg = f, next
	s.segs = append(s.segs, next)
	s.sizes[next] = 0
	return nil
}

// Unread reports whether records wait beyond the read cursor.
func (s *spool) Unread() bool {
	if len(s.segs) == 0 {
		return false
	}
	last := s.segs[len(s.segs)-1]
	return s.rSeg < last || s.rOff < s.sizes[s.rSeg]
}

// Read returns the next records after the read cursor, about maxBytes of
// them (at least one when any is unread), and moves the cursor past them.
func (s *spool) Read(maxBytes int) ([]record, error) {
	var out []record
	got := 0
	for got < maxBytes && s.Unread() {
		size := s.sizes[s.rSeg]
		if s.rOff >= size {
			// this segment is read: on to the next
			if s.r != nil {
				s.r.Close()
				s.r = nil
			}
			i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i] > s.rSeg })
			if i == len(s.segs) {
				break
			}
			s.rSeg, s.rOff = s.segs[i], 0
			continue
		}
		if s.r == nil {
			f, err := os.Open(filepath.Join(s.dir, segName(s.rSeg)))
			if err != nil {
				return out, fmt.Errorf("spool: %w", err)
			}
			s.r = f
		}
		want := max(int64(maxBytes-got), 64<<10, int64(cap(s.rBuf)))
		if want > size-s.rOff {
			want = size - s.rOff
		}
		if int64(cap(s.rBuf)) < want {
			s.rBuf = make([]byte, want)
		}
		buf := s.rBuf[:want]
		n, err := s.r.ReadAt(buf, s.rOff)
		if err != nil && err != io.EOF {
			return out, fmt.Errorf("spool: %w", err)
		}
		buf = buf[:n]
		start := 0
		for {
			i := bytes.IndexByte(buf[start:], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i]
			start += i + 1
			if len(line) > 0 {
				out = append(out, record{doc: append([]byte(nil), line...), end: spoolPos{s.rSeg, s.rOff + int64(start)}})
				got += len(line)
			}
			if got >= maxBytes {
				break
			}
		}
		if start == 0 {
			// no newline in the window: a line longer than the window
			if int64(len(buf)) == size-s.rOff || len(buf) >= maxRecordBytes {
				s.rOff += int64(len(buf)) // not a document (corrupt segment): skip it
				if len(out) == 0 && !s.Unread() {
					break
				}
				continue
			}
			s.rBuf = make([]byte, 2*len(buf))
			continue
		}
		s.rOff += int64(start)
	}
	return out, nil
}

// Rewind moves the read cursor back to the committed head (records in flight
// are read again).
func (s *spool) Rewind() {
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	s.rSeg, s.rOff = s.cSeg, s.cOff
}

// Commit records that everything up to p is delivered.
func (s *spool) Commit(p spoolPos) {
	if p.seg < s.cSeg || p.seg == s.cSeg && p.off <= s.cOff {
		return
	}
	s.cSeg, s.cOff = p.seg, p.off
	s.dirty = true
	// delete fully delivered segments
	for len(s.segs) > 0 && s.segs[0] < s.cSeg {
		s.removeSeg(s.segs[0])
	}
	// everything delivered: start afresh, freeing the tail's space
	if len(s.segs) == 1 && s.segs[0] == s.cSeg && s.cOff == s.sizes[s.cSeg] && s.rSeg == s.cSeg && s.rOff == s.cOff {
		s.removeSeg(s.cSeg)
		s.cOff = 0
		s.cSeg++
		s.rSeg, s.rOff = s.cSeg, 0
		s.wSeg = s.cSeg - 1
	}
	if time.Since(s.persisted) >= persistEvery || len(s.segs) == 0 {
		s.persist()
	}
}

func (s *spool) removeSeg(n uint64) {
	if n == s.wSeg && s.w != nil {
		s.w.Close()
		s.w = nil
	}
	if n == s.rSeg && s.r != nil {
		s.r.Close()
		s.r = nil
	}
	os.Remove(filepath.Join(s.dir, segName(n)))
	s.total -= s.sizes[n]
	delete(s.sizes, n)
	s.segs = s.segs[1:]
}

// persist writes the head file (atomically, by rename).
func (s *spool) persist() {
	if !s.dirty {
		return
	}
	tmp := filepath.Join(s.dir, headName+".tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", s.cSeg, s.cOff), 0o600); err == nil {
		if os.Rename(tmp, filepath.Join(s.dir, headName)) == nil {
			s.dirty = false
		}
	}
	s.persisted = time.Now()
}

// Bytes is the size of the spool on disk.
func (s *spool) Bytes() int64 { return s.total }

// Close persists the head, syncs the tail and releases the directory.
func (s *spool) Close() error {
	s.persist()
	var err error
	if s.w != nil {
		err = s.w.Sync()
		if cerr := s.w.Close(); err == nil {
			err = cerr
		}
		s.w = nil
	}
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	unlockDir(s.lock)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// SpoolPending counts the findings waiting in the spool directory dir (not
// yet delivered). It reads without locking: for tests and inspection.
func SpoolPending(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	cSeg, cOff := readHead(dir)
	var segs []uint64
	for _, e := range ents {
		if n, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), segSuffix), 10, 64); err == nil && strings.HasSuffix(e.Name(), segSuffix) && n >= cSeg {
			segs = append(segs, n)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	count := 0
	for _, n := range segs {
		b, err := os.ReadFile(filepath.Join(dir, segName(n)))
		if err != nil {
			return 0, err
		}
		if n == cSeg && cOff <= int64(len(b)) {
			b = b[cOff:]
		}
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			if len(line) > 0 {
				count++
			}
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			count-- // torn tail
		}
	}
	return count, nil
}
