package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"ntlmsensor/capture"
	"ntlmsensor/report"
	"ntlmsensor/sensor"
)

// progress tells how an offline run goes: on a terminal one line redrawn
// in place (bytes read of the total, rate, time left, findings so far),
// gone when done; elsewhere (a log, the journal) the same line every
// -stats-interval. It is driven by readFiles: reading says which source
// is being read, read that it is done.
type progress struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	total    int64 // bytes of every file; 0 when unknown (stdin)
	files    int

	mu       sync.Mutex
	cur      capture.Source
	pipeline *sensor.Pipeline
	done     int64 // bytes of the files read
	nread    int   // files read
	started  time.Time
	shown    bool // a line is on the terminal

	stop chan struct{}
	wg   sync.WaitGroup
	on   atomic.Bool
}

// newProgress: enabled false (-q), or neither a terminal nor an interval,
// makes a progress that says nothing.
func newProgress(paths []string, w io.Writer, enabled bool, interval time.Duration) *progress {
	p := &progress{w: w, interval: interval, files: len(paths), started: time.Now()}
	if f, ok := underlying(w).(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	for _, path := range paths {
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			p.total += st.Size()
		} else {
			p.total = 0 // stdin, a pipe: no total
			break
		}
	}
	p.on.Store(enabled && (p.tty || interval > 0))
	return p
}

// underlying is the writer a lockedWriter guards.
func underlying(w io.Writer) io.Writer {
	if l, ok := w.(*lockedWriter); ok {
		return l.w
	}
	return w
}

// reading: src is read now, through pl.
func (p *progress) reading(src capture.Source, pl *sensor.Pipeline) {
	if p == nil || !p.on.Load() {
		return
	}
	p.mu.Lock()
	p.cur, p.pipeline = src, pl
	start := p.stop == nil
	if start {
		p.stop = make(chan struct{})
	}
	p.mu.Unlock()
	if start {
		p.wg.Add(1)
		go p.loop()
	}
}

// read: the source being read is done.
func (p *progress) read(src capture.Source, path string) {
	if p == nil || !p.on.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, err := os.Stat(path); err == nil {
		p.done += st.Size()
	}
	p.nread++
	p.cur = nil
}

func (p *progress) loop() {
	defer p.wg.Done()
	every := p.interval
	if p.tty {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			line := p.line()
			if p.tty {
				p.mu.Lock()
				fmt.Fprintf(p.w, "\r\033[K%s", line)
				p.shown = true
				p.mu.Unlock()
			} else {
				fmt.Fprintf(p.w, "ntlmsensor: %s\n", line)
			}
		}
	}
}

// line is the progress in words: 412 MiB of 1.2 GiB (34 %), 180 MiB/s,
// 5 s left, 1234 findings, file 2 of 7.
func (p *progress) line() string {
	p.mu.Lock()
	read := p.done
	if p.cur != nil {
		if n, ok := capture.Offset(p.cur); ok {
			read += n
		}
	}
	var found uint64
	if p.pipeline != nil {
		found = p.pipeline.Snapshot().Sensor.Findings
	}
	nread, files := p.nread, p.files
	p.mu.Unlock()
	elapsed := time.Since(p.started)
	rate := float64(read) / max(elapsed.Seconds(), 0.001)
	var b strings.Builder
	if p.total > 0 {
		read = min(read, p.total)
		fmt.Fprintf(&b, "%s of %s (%d%%), %s/s", size(read), size(p.total), 100*read/p.total, size(int64(rate)))
		if rate > 0 && read < p.total {
			left := time.Duration(float64(p.total-read) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", %s left", report.Duration(left.Round(time.Second)))
		}
	} else {
		fmt.Fprintf(&b, "%s read, %s/s", size(read), size(int64(rate)))
	}
	fmt.Fprintf(&b, ", %d findings", found)
	if files > 1 {
		fmt.Fprintf(&b, ", file %d of %d", min(nread+1, files), files)
	}
	return b.String()
}

// finish stops the progress and clears its line.
func (p *progress) finish() {
	if p == nil || !p.on.Swap(false) {
		return
	}
	p.mu.Lock()
	stop := p.stop
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		p.wg.Wait()
	}
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// size writes a byte count for people: 25 MB reads as 23.8 MiB.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// clear takes the progress line off the terminal before a message.
func (p *progress) clear() {
	if p == nil || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// fileStatsInterval is -stats-interval for an offline run: only when it
// was asked for (its default is for live capture).
func fileStatsInterval(fs *flag.FlagSet, d time.Duration) time.Duration {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "stats-interval" })
	if !set {
		return 0
	}
	return d
}
