package capture

import (
	"io"
)

// Parts reads one classic pcap file from several goroutines at once. The
// file is cut at fixed offsets into parts of PartSize bytes; whoever reads
// a part reads it with one pread into a batch, finds its first record by
// resynchronising on record headers, and walks the records that start in
// the part. A guess can be wrong (payload bytes can look like a record
// header), so the parts are proven to meet before their frames are used:
// the walk of part j ends at End, the first record that starts at or
// after the part's end, which is exactly where the serial reader would
// find it, and part j+1 is good only if its Start is that End. A part
// that fails the proof is read again from that End (ReadFrom), which
// needs no guess. So by induction from the file header every frame is the
// one the serial reader gives, in the same order.
//
// What a part cannot decide alone (a record that runs past the file's end
// as it was when split, a malformed header, a read error) stops its walk
// there (Span.Stop); the serial reader then takes over from that offset
// (Resume), and gives what it always gives: the records appended since,
// or the error with its usual text.
type Parts struct {
	s       *pcapFile
	start   int64 // the first record, after the file header
	size    int64 // the file's size when it was split
	count   int
	part    int64       // PartSize (smaller in tests)
	stopped func() bool // StopWhen
}

// Splitter is a source that can be read in Parts.
type Splitter interface {
	// Split returns the source's parts; ok is false when it must be read
	// serially after all.
	Split() (p *Parts, ok bool)
}

// PartSize is the span of file one part covers.
const PartSize = 512 << 10

// partSlack is read beyond a part's end with its bytes, for the record
// that starts in the part and ends after it; a longer one is read on its
// own.
const partSlack = 4 << 10

// PartBytes is the size of a batch that holds a part without growing,
// unless one of its records is longer than partSlack.
const PartBytes = PartSize + partSlack

// resyncChain is how many consecutive plausible records (or all up to the
// bytes read) make an offset a guess for a part's first record.
const resyncChain = 8

// Span is where the records of one part lie in the file.
type Span struct {
	Start int64 // the part's first record (-1: none was found: read it again from the last End)
	End   int64 // the first record after the part's records
	Stop  bool  // the walk stopped at End before the part's end: the serial reader goes on from End
}

// Split returns the parts of a classic pcap file opened by OpenFile,
// uncompressed, not read yet; ok is false for another (stdin, a
// compressed file), which is read serially.
func (s *pcapFile) Split() (p *Parts, ok bool) {
	if s.file == nil || s.under != io.Reader(s.file) || s.packets > 0 || s.err != nil || len(s.carry) > 0 || s.ended != nil {
		return nil, false
	}
	st, err := s.file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	const header = 24 // draft-ietf-opsawg-pcap section 4: the File Header
	p = &Parts{s: s, start: header, size: st.Size()}
	p.setPartSize(PartSize)
	s.partsAt.Store(p.start)
	return p, true
}

func (p *Parts) setPartSize(n int64) {
	p.part, p.count = n, 0
	if p.size > p.start {
		p.count = int((p.size - p.start + n - 1) / n)
	}
}

// StopWhen makes Stopped report stop(): the reading of the parts ends
// early (SIGINT).
func (p *Parts) StopWhen(stop func() bool) { p.stopped = stop }

// Stopped reports whether the parts are no longer to be read.
func (p *Parts) Stopped() bool { return p.stopped != nil && p.stopped() }

// Count is the number of parts.
func (p *Parts) Count() int { return p.count }

// Start is where the first part's first record starts.
func (p *Parts) Start() int64 { return p.start }

// Read reads part j into b, its first record found by resynchronising.
// It may be called from any goroutine, for any parts at once.
func (p *Parts) Read(j int, b *Batch) Span {
	from, to := p.bounds(j)
	b.Reset()
	if !p.fill(b, from, min(to+partSlack, p.size)) {
		return Span{Start: -1}
	}
	start := from
	if j > 0 {
		off, ok := p.resync(b.Data[:min(len(b.Data), int(to-from))], b.Data)
		if !ok {
			return Span{Start: -1}
		}
		start = from + int64(off)
	}
	return p.walk(b, from, start, to)
}

// Follow proves that part j, read into b as got, starts at end, where the
// records of part j-1 ended, and returns its span; when it does not (its
// first record was guessed wrong), b is read again from end, and again is
// true. Call it for the parts in order, starting with end = Start().
func (p *Parts) Follow(j int, end int64, b *Batch, got Span) (span Span, again bool) {
	if got.Start == end {
		return got, false
	}
	return p.readFrom(j, end, b), true
}

// readFrom reads part j into b from start, the End of part j-1: a record
// starts there.
func (p *Parts) readFrom(j int, start int64, b *Batch) Span {
	_, to := p.bounds(j)
	b.Reset()
	if start >= to {
		return Span{Start: start, End: start}
	}
	if !p.fill(b, start, min(to+partSlack, p.size)) {
		return Span{Start: start, End: start, Stop: true}
	}
	return p.walk(b, start, start, to)
}

// Resume makes the source read on serially from end, the End of the last
// part used, after packets records.
func (p *Parts) Resume(end int64, packets int) error {
	s := p.s
	if _, err := s.file.Seek(end, io.SeekStart); err != nil {
		return s.fail(err)
	}
	s.r.Reset(s.file)
	s.packets = packets
	s.partsAt.Store(0)
	return nil
}

// Progress records that the parts up to end were used (capture.Offset).
func (p *Parts) Progress(end int64) { p.s.partsAt.Store(end) }

func (p *Parts) bounds(j int) (from, to int64) {
	from = p.start + int64(j)*p.part
	return from, min(from+p.part, p.size)
}

// fill reads the file's bytes [from, to) into b.Data, from its start.
func (p *Parts) fill(b *Batch, from, to int64) bool {
	b.Data = b.Data[:0]
	return p.extend(b, from, to)
}

// extend reads more of the file into b.Data, which holds its bytes from
// base, up to to. The buffer grows by doubling, bounded by a part and the
// largest record.
func (p *Parts) extend(b *Batch, base, to int64) bool {
	have := base + int64(len(b.Data))
	if to <= have {
		return true
	}
	need := int(to - base)
	if need > cap(b.Data) {
		grown := make([]byte, len(b.Data), max(need, 2*cap(b.Data)))
		copy(grown, b.Data)
		b.Data = grown
	}
	want := need - len(b.Data)
	n, _ := p.s.file.ReadAt(b.Data[len(b.Data):need], have)
	b.Data = b.Data[:len(b.Data)+n]
	return n == want // short: the file shrank, or a read error (the serial reader reports it)
}

// walk turns the records that start in [start, to) into frames; b.Data
// holds the file from base. draft-ietf-opsawg-pcap section 5: each record
// is a header (seconds, micro- or nanoseconds, captured length, original
// length) and the captured bytes.
func (p *Parts) walk(b *Batch, base, start, to int64) Span {
	s := p.s
	rl := s.recLen
	off, stop := int(start-base), int(to-base) // offsets in b.Data
	for off < stop {
		if len(b.Data)-off < rl && !p.more(b, base, off+rl) {
			return Span{Start: start, End: base + int64(off), Stop: true}
		}
		h := b.Data[off : off+rl]
		caplen := s.u32(h[8:])
		end := off + rl + int(caplen)
		if caplen > MaxPacketSize || len(b.Data) < end && !p.more(b, base, end) {
			return Span{Start: start, End: base + int64(off), Stop: true}
		}
		h = b.Data[off : off+rl] // more may have moved the bytes
		b.Frames = append(b.Frames, Frame{
			Off: uint32(off + rl), CapLen: caplen, OrigLen: s.u32(h[12:]),
			Link: s.linkType, TS: s.timestamp(h),
		})
		off = end
	}
	return Span{Start: start, End: base + int64(off)}
}

// more reads the file on into b.Data (which holds it from base) up to
// offset end of b.Data; false when the file, as split, ends before.
func (p *Parts) more(b *Batch, base int64, end int) bool {
	return base+int64(end) <= p.size && p.extend(b, base, base+int64(end))
}

// resync returns the first offset in head (the part's own bytes; data is
// head and what follows it) where a chain of resyncChain plausible records
// starts, or a shorter one that runs exactly to the end of data.
func (p *Parts) resync(head, data []byte) (int, bool) {
	rl := p.s.recLen
	for off := 0; off < len(head); off++ {
		pos, n := off, 0
		for n < resyncChain && pos+rl <= len(data) {
			caplen, ok := p.plausible(data[pos : pos+rl])
			if !ok {
				break
			}
			pos += rl + int(caplen)
			n++
		}
		if n == resyncChain || n > 0 && pos+rl > len(data) {
			return off, true
		}
	}
	return 0, false
}

// plausible reports whether h could be a record header: a captured length
// within bounds and no more than the original length, a fraction of a
// second below one second.
func (p *Parts) plausible(h []byte) (uint32, bool) {
	s := p.s
	caplen, orig, frac := s.u32(h[8:]), s.u32(h[12:]), s.u32(h[4:])
	limit := uint32(1e6)
	if s.nanos {
		limit = 1e9
	}
	return caplen, caplen <= MaxPacketSize && caplen <= orig && orig < 1<<24 && frac < limit
}

// offset is how far the parts or the serial reader have read (progress).
func (s *pcapFile) offset() (int64, bool) {
	if at := s.partsAt.Load(); at > 0 { // 0: no parts are being read
		return at, true
	}
	return s.reader.offset()
}
