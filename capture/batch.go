package capture

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Batch is a run of consecutive packet records whose bytes stay valid
// until the batch is filled again. A reader fills one batch while other
// goroutines work on the ones before it: nothing is copied between them.
type Batch struct {
	Data   []byte  // the records' bytes (and, read straight from a file, their headers)
	Frames []Frame // the records, in order
	limit  int     // Full beyond this many bytes
}

// Frame is one packet record of a Batch.
type Frame struct {
	Off, CapLen uint32 // the bytes are Data[Off : Off+CapLen]
	OrigLen     uint32 // length on the wire
	Link        layers.LinkType
	TS          int64 // capture time, Unix ns
}

// NewBatch makes a batch for about dataBytes of records, at most frames of
// them.
func NewBatch(dataBytes, frames int) *Batch {
	return &Batch{Data: make([]byte, 0, dataBytes), Frames: make([]Frame, 0, frames), limit: dataBytes}
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.Data, b.Frames = b.Data[:0], b.Frames[:0] }

// Bytes returns the bytes of frame i.
func (b *Batch) Bytes(i int) []byte {
	f := &b.Frames[i]
	return b.Data[f.Off : f.Off+f.CapLen : f.Off+f.CapLen]
}

// CaptureInfo is the frame's capture metadata as Source.ReadPacket gives it.
func (f *Frame) CaptureInfo() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, f.TS), CaptureLength: int(f.CapLen), Length: int(f.OrigLen)}
}

// Append copies one packet into the batch (for sources that reuse their
// buffer); the batch grows as needed.
func (b *Batch) Append(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	off := len(b.Data)
	b.Data = append(b.Data, data...)
	b.Frames = append(b.Frames, Frame{Off: uint32(off), CapLen: uint32(len(data)), OrigLen: uint32(ci.Length), Link: lt, TS: ci.Timestamp.UnixNano()})
}

// Full reports whether the batch has reached the size it was made for.
func (b *Batch) Full() bool { return len(b.Data) >= b.limit || len(b.Frames) >= cap(b.Frames) }

// BatchReader is a Source that reads records straight into batches, with
// no copy between the read and the batch (classic pcap files, gzipped or
// not). After a batch is returned with an error, the next ReadBatch
// returns the error again with no frames; io.EOF at the end.
type BatchReader interface {
	ReadBatch(b *Batch) error
}
