// Package json writes findings as JSON Lines: one object per line, exactly
// the document of the output contract, to stdout or a file.
package json

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"

	"ntlmsensor/findings"
)

// Options for a file sink.
type Options struct {
	// MaxBytes rotates the file when it would grow past this size
	// (0: never). The rotated files are PATH.1 (newest) … PATH.N.
	MaxBytes int64
	// MaxFiles is how many rotated files are kept (default 5).
	MaxFiles int
}

// Sink writes JSON lines. It is safe for concurrent use.
type Sink struct {
	mu      sync.Mutex
	path    string // "" for stdout
	opts    Options
	file    *os.File
	w       *bufio.Writer
	size    int64
	buf     []byte
	written uint64
}

// Open makes a sink writing to path, or to stdout when path is "" or "-".
// A file is appended to, so a restarted sensor does not lose earlier lines.
func Open(path string, opts Options) (*Sink, error) {
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 5
	}
	s := &Sink{opts: opts}
	if path == "" || path == "-" {
		s.w = bufio.NewWriterSize(os.Stdout, 64<<10)
		return s, nil
	}
	s.path = path
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// New makes a sink writing to w (tests, pipes).
func New(w io.Writer) *Sink {
	return &Sink{w: bufio.NewWriterSize(w, 64<<10), opts: Options{MaxFiles: 5}}
}

func (s *Sink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("json sink: %w", err)
	}
	s.file, s.size = f, st.Size()
	s.w = bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Write appends one document as a line.
func (s *Sink) Write(d findings.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(d.AppendJSON(s.buf[:0]), '\n')
	if s.file != nil && s.opts.MaxBytes > 0 && s.size > 0 && s.size+int64(len(s.buf)) > s.opts.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.w.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	s.written++
	return nil
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
	if s.file == nil {
		return s.w.Flush()
	}
	if err := s.closeFile(); err != nil {
		return err
	}
	return s.open()
}

// Flush pushes buffered lines to the file or stdout.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

func (s *Sink) closeFile() error {
	err := s.w.Flush()
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	s.file = nil
	if err != nil {
		return fmt.Errorf("json sink: %w", err)
	}
	return nil
}

// Written is the number of findings written.
func (s *Sink) Written() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// Close flushes and closes.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return s.w.Flush()
	}
	return s.closeFile()
}
