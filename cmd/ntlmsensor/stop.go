package main

import (
	"io"
	"sync/atomic"

	"github.com/gopacket/gopacket"

	"ntlmsensor/capture"
)

// stoppable ends a source early (io.EOF) once stop is set: SIGINT/SIGTERM
// end the reading, then what is pending is emitted and the sinks flushed.
type stoppable struct {
	capture.Source
	stop *atomic.Bool
}

func (s stoppable) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if s.stop.Load() {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	return s.Source.ReadPacket()
}

// stoppableBatches is stoppable for a source that reads straight into
// batches: the wrapper must not hide that (the pipeline would copy).
type stoppableBatches struct {
	stoppable
	br capture.BatchReader
}

func (s stoppableBatches) ReadBatch(b *capture.Batch) error {
	if s.stop.Load() {
		b.Reset()
		return io.EOF
	}
	return s.br.ReadBatch(b)
}

// Split keeps a pcap file's parallel reading (capture.Parts), which ends
// too once stop is set.
func (s stoppableBatches) Split() (*capture.Parts, bool) {
	sp, ok := s.Source.(capture.Splitter)
	if !ok {
		return nil, false
	}
	p, ok := sp.Split()
	if ok {
		p.StopWhen(s.stop.Load)
	}
	return p, ok
}

// stopping wraps src so that it ends once stop is set.
func stopping(src capture.Source, stop *atomic.Bool) capture.Source {
	if br, ok := src.(capture.BatchReader); ok {
		return stoppableBatches{stoppable{src, stop}, br}
	}
	return stoppable{src, stop}
}
