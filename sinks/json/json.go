// Package json writes findings as JSON Lines: one object per line, exactly
// the document of the output contract, to stdout or a file.
package json

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"ntlmsensor/findings"
)

// Options for a file sink.
type Options struct {
	// MaxBytes rotates the file when it would grow past this size
	// (0: never). The rotated files are PATH.1 (newest) … PATH.N.
	MaxBytes int64
	// MaxFiles is how many rotated files are kept (default 5).
	MaxFiles int
	// FlushEvery bounds how long a finding waits in the buffer (default
	// 1s; negative: only when the buffer is full, at Flush and Close).
	FlushEvery time.Duration
	// Logf says what was repaired at open (nil: nothing said).
	Logf func(format string, args ...any)
}

const bufBytes = 64 << 10

// Sink writes JSON lines. It is safe for concurrent use.
//
// Only whole lines are written: the buffer is cut at line ends, and a
// write the disk cuts short is truncated back to the last whole line, so
// the file always ends in a newline unless the process was killed in the
// middle of a write; then the next Open moves the torn tail aside.
type Sink struct {
	mu      sync.Mutex
	path    string // "" for stdout or a writer
	opts    Options
	file    *os.File
	w       io.Writer // file, stdout or the writer given
	pend    []byte    // whole lines not yet written
	size    int64     // bytes in the file
	needNL  bool      // a torn line could not be cut: end it before the next
	buf     []byte
	written uint64
	lost    uint64
	lateErr error // a timed flush failed: told by the next Write or Close

	stop chan struct{}
	done chan struct{}
}

// Open makes a sink writing to path, or to stdout when path is "" or "-".
// A file is appended to, so a restarted sensor does not lose earlier lines.
func Open(path string, opts Options) (*Sink, error) {
	if path == "" || path == "-" {
		return newSink(os.Stdout, opts), nil
	}
	s := newSink(nil, opts)
	s.path = path
	if err := s.open(); err != nil {
		return nil, err
	}
	s.start()
	return s, nil
}

// New makes a sink writing to w (tests, pipes).
func New(w io.Writer) *Sink { return newSink(w, Options{}) }

func newSink(w io.Writer, opts Options) *Sink {
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 5
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = time.Second
	}
	s := &Sink{w: w, opts: opts}
	if w != nil {
		s.start()
	}
	return s
}

// start runs the timed flush: findings reach the file within FlushEvery
// in every mode, not only when 64 KiB have gathered or at exit.
func (s *Sink) start() {
	if s.opts.FlushEvery < 0 {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	s.stop, s.done = stop, done
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.mu.Lock()
				if err := s.flushLocked(); err != nil && s.lateErr == nil {
					s.lateErr = err
				}
				s.mu.Unlock()
			}
		}
	}()
}

func (s *Sink) open() error {
	torn, err := repairTail(s.path)
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	if torn > 0 && s.opts.Logf != nil {
		s.opts.Logf("json sink: %s ended in a torn line (a crash or a full disk); its %d bytes were moved to %s", s.path, torn, s.path+".torn")
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("json sink: %w", err)
	}
	s.file, s.size, s.w, s.needNL = f, st.Size(), f, false
	return nil
}

// repairTail: a file that does not end in a newline ends in a line torn
// by a crash; appending would glue the next finding onto it. The torn
// bytes are appended to PATH.torn (with a newline) and cut from the file.
// It returns how many were moved.
func repairTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return 0, err
	}
	size := st.Size()
	buf := make([]byte, bufBytes)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return 0, nil
	}
	aside, err := os.OpenFile(path+".torn", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(aside, io.NewSectionReader(f, end, size-end))
	if err == nil {
		_, err = aside.Write([]byte{'\n'})
	}
	if cerr := aside.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("moving the torn tail of %s aside: %w", path, err)
	}
	return size - end, f.Truncate(end)
}

// Write appends one document as a line.
func (s *Sink) Write(d findings.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.lateErr
	s.lateErr = nil
	s.buf = append(d.AppendJSON(s.buf[:0]), '\n')
	if s.file != nil && s.opts.MaxBytes > 0 && s.size+int64(len(s.pend)) > 0 && s.size+int64(len(s.pend)+len(s.buf)) > s.opts.MaxBytes {
		if rerr := s.rotate(); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if len(s.pend)+len(s.buf) > bufBytes {
		if ferr := s.flushLocked(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if s.w == nil { // the file could not be reopened
		s.lost++
		return errors.Join(err, errors.New("json sink: no file open"))
	}
	s.pend = append(s.pend, s.buf...)
	s.written++
	return err
}

// flushLocked writes the buffered lines. When the write is cut short (a
// full disk), the lines written whole stay, a torn one is cut back, and
// the rest are dropped and counted lost: the buffer stays bounded.
func (s *Sink) flushLocked() error {
	if len(s.pend) == 0 || s.w == nil {
		return nil
	}
	if s.needNL {
		if _, err := s.w.Write([]byte{'\n'}); err != nil {
			return s.drop(0, err)
		}
		s.size++
		s.needNL = false
	}
	n, err := s.w.Write(s.pend)
	if err == nil && n == len(s.pend) {
		s.size += int64(n)
		s.pend = s.pend[:0]
		return nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	whole := bytes.LastIndexByte(s.pend[:n], '\n') + 1
	if whole < n {
		if s.file == nil || s.file.Truncate(s.size+int64(whole)) != nil {
			s.needNL = true // cannot be cut: at least the next line starts afresh
		}
	}
	s.size += int64(whole)
	return s.drop(whole, err)
}

// drop forgets the buffered lines from off on, counting them lost.
func (s *Sink) drop(off int, err error) error {
	k := uint64(bytes.Count(s.pend[off:], []byte{'\n'}))
	s.lost += k
	s.written -= k
	s.pend = s.pend[:0]
	where := "stdout"
	if s.path != "" {
		where = s.path
	}
	return fmt.Errorf("json sink: %s: %d findings lost: %w", where, k, err)
}

// rotate shifts PATH.i to PATH.i+1, dropping the oldest, and starts PATH anew.
func (s *Sink) rotate() error {
	if err := s.closeFile(); err != nil {
		return err
	}
	for i := s.opts.MaxFiles - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", s.path, i), fmt.Sprintf("%s.%d", s.path, i+1))
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("json sink: rotate: %w", err)
	}
	return s.open()
}

// Reopen closes and reopens the file (after logrotate moved it: SIGHUP).
func (s *Sink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil && s.path == "" {
		return s.flushLocked()
	}
	if s.file != nil {
		if err := s.closeFile(); err != nil {
			return err
		}
	}
	return s.open()
}

// Flush pushes buffered lines to the file or stdout.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

// closeFile flushes and closes the file; whatever happens, it is closed.
func (s *Sink) closeFile() error {
	err := s.flushLocked()
	if cerr := s.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("json sink: %w", cerr)
	}
	s.file, s.w = nil, nil
	return err
}

// Written is the number of findings written (or waiting in the buffer).
func (s *Sink) Written() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// Lost is the number of findings a write error (a full disk) cost.
func (s *Sink) Lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// Close flushes and closes.
func (s *Sink) Close() error {
	if s.stop != nil {
		s.mu.Lock()
		stop := s.stop
		s.stop = nil
		s.mu.Unlock()
		if stop != nil {
			close(stop)
			<-s.done
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.lateErr
	s.lateErr = nil
	if s.file == nil {
		return errors.Join(err, s.flushLocked())
	}
	return errors.Join(err, s.closeFile())
}
