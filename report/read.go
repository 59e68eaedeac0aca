package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"ntlmsensor/findings"
)

// maxLine bounds one JSON line; longer lines are counted as bad.
const maxLine = 1 << 20

// ReadStats says what reading a findings file met.
type ReadStats struct {
	Findings uint64 // findings added
	Alerts   uint64 // alerts added
	Other    uint64 // other documents (inventory rows), passed over
	Bad      uint64 // lines that are not a finding (first error in Err)
	Err      error
}

// ReadFindings reads JSON lines findings (gzip-compressed or not) from r
// with findings.ParseJSON and adds each to a, with the alerts among them;
// inventory rows are passed over (a rebuilds the inventory from the
// findings). Lines are decoded on every core, and added in order.
func ReadFindings(r io.Reader, a *Aggregator) (ReadStats, error) {
	var st ReadStats
	br := bufio.NewReaderSize(r, 256<<10)
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("gzip: %v", err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxLine)

	// batches of lines go to the decoders; results come back in order
	const batchLines = 512
	type batch struct {
		lines [][]byte
		out   []*findings.Finding
		alert []Alert
		kind  []int8 // 1 finding, 2 alert, 0 other document, -1 bad
		err   error
		done  chan struct{}
	}
	workers := runtime.NumCPU()
	todo := make(chan *batch, workers)
	ordered := make(chan *batch, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				b.out = make([]*findings.Finding, len(b.lines))
				b.kind = make([]int8, len(b.lines))
				for i, l := range b.lines {
					f, err := findings.ParseJSON(l)
					switch {
					case err == nil:
						b.out[i], b.kind[i] = f, 1
					case errors.Is(err, findings.ErrNotFinding):
						if al, ok := ParseAlert(l); ok {
							b.alert = append(b.alert, al)
							b.kind[i] = 2
						}
					default:
						b.kind[i] = -1
						if b.err == nil {
							b.err = err
						}
					}
				}
				close(b.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		b := &batch{done: make(chan struct{})}
		for sc.Scan() {
			l := bytes.TrimSpace(sc.Bytes())
			if len(l) == 0 {
				continue
			}
			b.lines = append(b.lines, bytes.Clone(l))
			if len(b.lines) == batchLines {
				todo <- b
				ordered <- b
				b = &batch{done: make(chan struct{})}
			}
		}
		if len(b.lines) > 0 {
			todo <- b
			ordered <- b
		}
		readErr <- sc.Err()
	}()
	for b := range ordered {
		<-b.done
		alerts := b.alert
		for i := range b.out {
			switch b.kind[i] {
			case 1:
				a.Add(b.out[i])
				st.Findings++
			case 2:
				a.AddAlert(alerts[0])
				alerts = alerts[1:]
				st.Alerts++
			case 0:
				st.Other++
			default:
				st.Bad++
			}
		}
		if b.err != nil && st.Err == nil {
			st.Err = b.err
		}
	}
	wg.Wait()
	return st, <-readErr
}
