package capture

import (
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ntlmsensor/internal/prefetch"
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

// records is a file format whose records ReadBatch reads in place.
type records interface {
	// record parses the record at b.Data[pos:]. When it is whole there,
	// it appends its frame (if it is a packet) and returns how many bytes
	// it takes. When the bytes there are too few, it returns need, how
	// many it must see from pos on, to be called again with more, or, if
	// the stream has no more (end: io.EOF or the read's error), the error
	// ReadPacket gives at that point. It may consume the stream after
	// b.Data (a long block skipped): then used is len(b.Data)-pos.
	record(b *Batch, pos int, end error) (used, need int, err error)
}

// readBatch is ReadBatch for a format whose records rec parses: one read
// fills the batch's buffer (from the file, not through the bufio buffer
// once that is empty), the whole records in it are parsed, and the
// incomplete one at the end is carried over to the next batch. A record
// larger than the buffer grows it. Frames come first: an error met after
// some is returned by the next call.
func (r *reader) readBatch(b *Batch, rec records) error {
	b.Reset()
	if r.err != nil {
		return r.err
	}
	b.Data = append(b.Data, r.carry...)
	r.carry = r.carry[:0]
	pos := 0
	for {
		need := 1
		if pos < len(b.Data) {
			used, n, err := rec.record(b, pos, r.ended)
			if err != nil {
				break
			}
			if used > 0 {
				// The copy from the kernel left the buffer out of the cache,
				// and the spacing of the records defeats the processor's own
				// prefetcher: ask for the records further on, and for the
				// second line of this one's headers (Ethernet, IP, TCP), which
				// whoever decodes the frame reads next.
				if ahead := pos + prefetchAhead; ahead < len(b.Data) {
					prefetch.Byte(&b.Data[ahead])
				}
				if f := len(b.Frames) - 1; f >= 0 && int(b.Frames[f].Off) >= pos {
					if second := int(b.Frames[f].Off) + 64; second < len(b.Data) {
						prefetch.Byte(&b.Data[second])
					}
				}
				pos += used
				if len(b.Frames) == cap(b.Frames) {
					break
				}
				continue
			}
			need = n
		} else if r.ended != nil {
			if r.ended != io.EOF {
				r.fail(r.ended)
			} else if len(b.Frames) == 0 {
				r.err = io.EOF
			}
			break
		}
		// b.Data[pos:] holds less than the next record: read more, unless
		// this batch has frames and little room left
		if len(b.Frames) > 0 && cap(b.Data)-len(b.Data) < cap(b.Data)/4 {
			break
		}
		if len(b.Data) == cap(b.Data) && pos > 0 && len(b.Frames) == 0 {
			// only metadata before pos (pcapng): make room there
			b.Data = b.Data[:copy(b.Data, b.Data[pos:])]
			pos = 0
		}
		if len(b.Data) == cap(b.Data) {
			// one record larger than the buffer: grow it as the record's
			// bytes arrive (doubling), so that a length field that lies in
			// a short file makes nothing big be allocated
			grown := make([]byte, len(b.Data), min(pos+need, max(2*cap(b.Data), 64<<10)))
			copy(grown, b.Data)
			b.Data = grown
		}
		free := b.Data[len(b.Data):cap(b.Data)]
		var n int
		var err error
		if r.r.Buffered() > 0 {
			n, err = r.r.Read(free)
		} else if _, err = r.r.Read(nil); err == nil {
			// straight into the batch, whatever its size (the empty read
			// above returns an error the bufio reader kept, if any)
			n, err = r.under.Read(free)
		}
		b.Data = b.Data[:len(b.Data)+n]
		if err != nil {
			r.ended = err // the bytes before it are parsed first
		}
	}
	if r.err == nil {
		r.carry = append(r.carry, b.Data[pos:]...)
	}
	b.Data = b.Data[:pos]
	if len(b.Frames) > 0 {
		return nil // an error is returned by the next call
	}
	return r.err
}

// short is the error of a record that needs more bytes than there are:
// none while the stream can give more, else the truncation or read error.
func (r *reader) short(end error) error {
	if end == nil {
		return nil
	}
	return r.fail(end)
}
