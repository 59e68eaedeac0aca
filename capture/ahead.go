package capture

import (
	"errors"
	"io"
)

// A compressed capture is decompressed on a goroutine of its own, ahead of
// the one that reads packets (the pipeline's reader, its serial part),
// which then only copies decompressed bytes. The goroutine fills
// aheadBuffers buffers of aheadBufferSize in turn, each whole before it is
// handed over (gzip on a live pipe holds back more than that anyway), and
// waits when all are full: at most aheadBuffers*aheadBufferSize bytes are
// decompressed and not yet read.
const (
	aheadBuffers    = 4
	aheadBufferSize = 256 << 10
)

// errReadAfterClose is what a closed aheadReader reads.
var errReadAfterClose = errors.New("read after close")

// aheadReader reads a decompressor decompressed ahead on its own
// goroutine. Read and Close are for one goroutine.
type aheadReader struct {
	full   chan aheadChunk // filled buffers, in order
	free   chan []byte     // buffers read, to fill again
	stop   chan struct{}   // closed by halt: the goroutine returns
	done   chan struct{}   // closed once it has
	cur    aheadChunk      // the buffer being read: cur.b[off:] is left
	off    int
	halted bool
}

// aheadChunk is a buffer of decompressed bytes, and the error (io.EOF at
// the end) that the decompressor returned after them.
type aheadChunk struct {
	b   []byte
	err error
}

// readAhead starts decompressing d on its own goroutine. release, if not
// nil, is closed there once the goroutine no longer reads d.
func readAhead(d io.Reader, release io.Closer) *aheadReader {
	a := &aheadReader{
		full: make(chan aheadChunk, aheadBuffers), // never full: there are no more buffers
		free: make(chan []byte, aheadBuffers),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go a.run(d, release)
	return a
}

func (a *aheadReader) run(d io.Reader, release io.Closer) {
	defer close(a.done)
	if release != nil {
		defer release.Close()
	}
	made := 0
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		var buf []byte
		select {
		case buf = <-a.free:
		default:
			if made < aheadBuffers {
				buf = make([]byte, aheadBufferSize)
				made++
				break
			}
			select {
			case <-a.stop:
				return
			case buf = <-a.free:
			}
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = d.Read(buf[n:])
			n += m
		}
		a.full <- aheadChunk{buf[:n], err}
		if err != nil {
			return
		}
	}
}

// Read copies what is decompressed, waiting only when it has nothing to
// copy. The decompressor's error comes after the bytes before it, and
// again on every later call.
func (a *aheadReader) Read(p []byte) (int, error) {
	if a.halted {
		return 0, errReadAfterClose
	}
	n := 0
	for n < len(p) {
		if a.off < len(a.cur.b) {
			m := copy(p[n:], a.cur.b[a.off:])
			a.off += m
			n += m
			continue
		}
		if a.cur.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, a.cur.err
		}
		if a.cur.b != nil {
			a.free <- a.cur.b[:cap(a.cur.b)]
			a.cur.b = nil
		}
		if n > 0 {
			select {
			case a.cur = <-a.full:
			default:
				return n, nil
			}
		} else {
			a.cur = <-a.full
		}
		a.off = 0
	}
	return n, nil
}

// halt tells the goroutine to return; it may be in a read of the
// decompressor, which it finishes first.
func (a *aheadReader) halt() {
	if !a.halted {
		a.halted = true
		close(a.stop)
	}
}

// Close stops the goroutine and waits until it has returned.
func (a *aheadReader) Close() error {
	a.halt()
	<-a.done
	return nil
}
