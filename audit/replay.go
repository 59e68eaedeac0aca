package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"errors"
	"fmt"
	"io"

	"ntlmsensor/findings"
)

// Replay feeds the findings of several findings files (JSON lines, gzip
// allowed, from any number of sensors) to the stage in capture-time order:
// each file is in time order (the stage wrote it so), and the files are
// merged as they are read, so memory holds one line per file. Other
// documents (inventory rows, alerts) are passed over; a line that is not
// JSON is an error naming its file and line.
func Replay(st *Stage, names []string, files []io.Reader) error {
	var h replayHeap
	for i, r := range files {
		rd, err := maybeGunzip(r)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		sc := bufio.NewScanner(rd)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		src := &replaySource{name: names[i], sc: sc}
		if err := src.next(); err != nil {
			return err
		}
		if src.cur != nil {
			heap.Push(&h, src)
		}
	}
	for h.Len() > 0 {
		src := h[0]
		f := src.cur
		st.Finding(f)
		st.Clock(0, f.Time)
		if err := src.next(); err != nil {
			return err
		}
		if src.cur == nil {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return nil
}

func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

type replaySource struct {
	name string
	sc   *bufio.Scanner
	line int
	cur  *findings.Finding
}

// next reads the source's next finding (cur nil at the end).
func (s *replaySource) next() error {
	s.cur = nil
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		f, err := findings.ParseJSON(b)
		if errors.Is(err, findings.ErrNotFinding) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", s.name, s.line, err)
		}
		s.cur = f
		return nil
	}
	if err := s.sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

type replayHeap []*replaySource

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return compareFindings(h[i].cur, h[j].cur) < 0 }
func (h replayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)        { *h = append(*h, x.(*replaySource)) }
func (h *replayHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
