package capture

import "io"

// Parts reads one pcap or pcapng file from several goroutines at once. The
// file is cut at fixed offsets into parts of PartSize bytes; whoever reads
// a part reads it with one pread into a batch, finds its first record by
// resynchronising on record headers, and walks the records that start in
// the part. A guess can be wrong (payload bytes can look like a record
// header), so the parts are proven to meet before their frames are used:
// the walk of part j ends at End, the first record that starts at or
// after the part's end, which is exactly where the serial reader would
// find it, and part j+1 is good only if its Start is that End. A part
// that fails the proof is read again from that End (Follow), which
// needs no guess. So by induction from the file header every frame is the
// one the serial reader gives, in the same order.
//
// What a part cannot decide alone (a record that runs past the file's end
// as it was when split, a malformed header, a read error, a pcapng block
// that changes how the blocks after it read) stops its walk
// there (Span.Stop); the serial reader then takes over from that offset
// (Resume), and gives what it always gives: the records appended since,
// or the error with its usual text.
type Parts struct {
	r       *reader
	f       partRecords
	start   int64 // the first record, after the file's header
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

// partRecords is what Parts needs of a file format: how long a record is, what
// frame it is, and whether bytes look like one.
type partRecords interface {
	// headLen is how many bytes of a record give its length.
	headLen() int
	// length is the length of the record h heads; ok is false when it
	// cannot be read here (a malformed header): the serial reader takes over.
	length(h []byte) (n int, ok bool)
	// frame turns the whole record rec, at offset off of the batch, into a
	// frame (isFrame), or passes over it; ok is false when the serial
	// reader must take over at it (a block that changes how the records
	// after it read, a malformation).
	frame(rec []byte, off int, f *Frame) (isFrame, ok bool)
	// plausible reports whether a record could start at data[0] and its
	// length (data may end within it).
	plausible(data []byte) (n int, ok bool)
	// align is the alignment of every record's offset in the file.
	align() int
}

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
	const header = 24 // draft-ietf-opsawg-pcap section 4: the File Header
	return s.reader.split(s, header)
}

// split makes the parts of the file r reads, records of f from start.
func (r *reader) split(f partRecords, start int64) (*Parts, bool) {
	if r.file == nil || r.under != io.Reader(r.file) || r.packets > 0 || r.err != nil || len(r.carry) > 0 || r.ended != nil {
		return nil, false
	}
	st, err := r.file.Stat()
	if err != nil || !st.Mode().IsRegular() || start < 1 {
		return nil, false
	}
	p := &Parts{r: r, f: f, start: start, size: st.Size()}
	p.setPartSize(PartSize)
	r.partsAt.Store(p.start)
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
		off, ok := p.resync(from, b.Data[:min(len(b.Data), int(to-from))], b.Data)
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
	r := p.r
	if _, err := r.file.Seek(end, io.SeekStart); err != nil {
		return r.fail(err)
	}
	r.r.Reset(r.file)
	r.packets = packets
	r.partsAt.Store(0)
	return nil
}

// Progress records that the parts up to end were used (capture.Offset).
func (p *Parts) Progress(end int64) { p.r.partsAt.Store(end) }

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
	n, _ := p.r.file.ReadAt(b.Data[len(b.Data):need], have)
	b.Data = b.Data[:len(b.Data)+n]
	return n == want // short: the file shrank, or a read error (the serial reader reports it)
}

// walk turns the records that start in [start, to) into frames; b.Data
// holds the file from base.
func (p *Parts) walk(b *Batch, base, start, to int64) Span {
	hl := p.f.headLen()
	off, stop := int(start-base), int(to-base) // offsets in b.Data
	for off < stop {
		if len(b.Data)-off < hl && !p.more(b, base, off+hl) {
			return Span{Start: start, End: base + int64(off), Stop: true}
		}
		n, ok := p.f.length(b.Data[off : off+hl])
		end := off + n
		if !ok || len(b.Data) < end && !p.more(b, base, end) {
			return Span{Start: start, End: base + int64(off), Stop: true}
		}
		// made in place: a Frame of its own would escape through the
		// interface, an allocation per record
		b.Frames = append(b.Frames, Frame{})
		isFrame, ok := p.f.frame(b.Data[off:end], off, &b.Frames[len(b.Frames)-1])
		if !isFrame {
			b.Frames = b.Frames[:len(b.Frames)-1]
		}
		if !ok {
			return Span{Start: start, End: base + int64(off), Stop: true}
		}
		off = end
	}
	return Span{Start: start, End: base + int64(off)}
}

// more reads the file on into b.Data (which holds it from base) up to
// offset end of b.Data; false when the file, as split, ends before.
func (p *Parts) more(b *Batch, base int64, end int) bool {
	return base+int64(end) <= p.size && p.extend(b, base, base+int64(end))
}

// resync returns the first offset in head (the part's own bytes, read
// from the file's offset from; data is head and what follows it) where a
// chain of resyncChain plausible records starts, or a shorter one that
// runs exactly to the end of data.
func (p *Parts) resync(from int64, head, data []byte) (int, bool) {
	a := p.f.align()
	first := int((int64(a) - from%int64(a)) % int64(a))
	for off := first; off < len(head); off += a {
		pos, n := off, 0
		for n < resyncChain && pos < len(data) {
			size, ok := p.f.plausible(data[pos:])
			if !ok {
				break
			}
			pos += size
			n++
		}
		if n == resyncChain || n > 0 && pos >= len(data) {
			return off, true
		}
	}
	return 0, false
}

// classic pcap records (draft-ietf-opsawg-pcap section 5): a header
// (seconds, micro- or nanoseconds, captured length, original length) and
// the captured bytes.

func (s *pcapFile) headLen() int { return s.recLen }

func (s *pcapFile) length(h []byte) (int, bool) {
	caplen := s.u32(h[8:])
	return s.recLen + int(caplen), caplen <= MaxPacketSize
}

func (s *pcapFile) frame(rec []byte, off int, f *Frame) (bool, bool) {
	*f = s.frameOf(rec, off, uint32(len(rec)-s.recLen))
	return true, true
}

// plausible: a captured length within bounds and no more than the
// original length, a fraction of a second below one second.
func (s *pcapFile) plausible(data []byte) (int, bool) {
	if len(data) < s.recLen {
		return 0, false
	}
	caplen, orig, frac := s.u32(data[8:]), s.u32(data[12:]), s.u32(data[4:])
	limit := uint32(1e6)
	if s.nanos {
		limit = 1e9
	}
	return s.recLen + int(caplen), caplen <= MaxPacketSize && caplen <= orig && orig < 1<<24 && frac < limit
}

func (s *pcapFile) align() int { return 1 }
