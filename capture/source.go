package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/gzip"
)

// Source yields raw packets.
type Source interface {
	// ReadPacket returns the next packet. data is valid only until the next
	// call (buffers are reused). io.EOF at the end.
	ReadPacket() (data []byte, ci gopacket.CaptureInfo, err error)
	// LinkType of the packet just returned (pcapng may mix interfaces with
	// different link types: use ci.InterfaceIndex).
	LinkType() layers.LinkType
	Name() string
	Close() error
}

// RecordSkipper is a Source whose file holds records that are not packets:
// NetMon and ETL files hold ETW events of other providers, and NetMon its
// own metadata frames. SkippedRecords counts those passed over.
type RecordSkipper interface {
	SkippedRecords() uint64
}

// Errors wrapped by OpenFile, NewReader and ReadPacket; the message names
// the file, e.g. "x.pcap: truncated packet record after 1234 packets".
var (
	ErrNotCapture          = errors.New("not a pcap, pcapng, NetMon 2.x or ETL file")
	ErrUnsupportedLinkType = errors.New("unsupported link type")
	ErrTruncatedFile       = errors.New("truncated packet record")
	ErrMalformedFile       = errors.New("malformed capture file")
)

// MaxPacketSize is the largest packet record accepted. libpcap caps at
// 256 KiB; this leaves room for TSO/GRO super-packets while bounding the
// buffer a lying length field can make us allocate.
const MaxPacketSize = 1 << 20

// prefetchAhead is how far ReadBatch reads ahead of the record it parses.
const prefetchAhead = 4 << 10

// readBufferSize is the bufio buffer: records up to this size are returned
// straight from it without a copy.
const readBufferSize = 256 << 10

// pcap magic numbers (draft-ietf-opsawg-pcap section 4), as read big-endian.
const (
	magicMicros       = 0xa1b2c3d4
	magicNanos        = 0xa1b23c4d
	magicMicrosSwap   = 0xd4c3b2a1
	magicNanosSwap    = 0x4d3cb2a1
	magicModified     = 0xa1b2cd34 // Kuznetzov's patched libpcap: 24-byte records
	magicModifiedSwap = 0x34cdb2a1
	magicPcapng       = 0x0a0d0d0a // pcapng Section Header Block type
)

// OpenFile opens a capture file, detected by its content (all four pcap
// magics incl. nanosecond and swapped; pcapng; NetMon 2.x, as Network
// Monitor and Message Analyzer write it; ETL, as netsh trace and pktmon
// write it), transparently decompressed (gzip; zstd, xz, bzip2:
// compress.go); "-" reads stdin.
func OpenFile(path string) (Source, error) {
	if path == "-" {
		return newSource(os.Stdin, "stdin", nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	s, err := newSource(f, path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	setFile(s, f) // progress.go
	return s, nil
}

// NewReader reads a capture stream (optionally gzip-compressed) from r, in
// any format OpenFile reads; name is used in errors and by Name. Close does
// not close r.
func NewReader(r io.Reader, name string) (Source, error) {
	return newSource(r, name, nil)
}

// reader is the state shared by the pcap and pcapng readers.
type reader struct {
	name    string
	closer  io.Closer
	file    *os.File     // the file OpenFile opened, for Offset (progress.go)
	ahead   *aheadReader // the decompressor, when the file is compressed
	r       *bufio.Reader
	under   io.Reader     // what r reads from: ReadBatch reads it directly once r is empty
	buf     []byte        // copy buffer for records larger than the bufio buffer
	packets int           // packets delivered
	err     error         // sticky: once set, every ReadPacket returns it
	carry   []byte        // ReadBatch: the start of a record the last batch could not hold
	ended   error         // ReadBatch: how the stream ended (io.EOF, a read error), nil before
	partsAt *atomic.Int64 // how far Parts have been used (parts.go); 0: none are read
}

func newSource(rd io.Reader, name string, closer io.Closer) (_ Source, err error) {
	base := reader{name: name, closer: closer, r: bufio.NewReaderSize(rd, readBufferSize), under: rd, partsAt: new(atomic.Int64)}
	defer func() {
		if err != nil && base.ahead != nil {
			base.ahead.Close()
		}
	}()
	if m, _ := base.r.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(base.r)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %v", name, err)
		}
		base.decompressed(gz, nil)
	}
	if err := decompress(&base); err != nil { // zstd, xz, bzip2: compress.go
		return nil, err
	}
	m, err := base.r.Peek(4)
	if len(m) < 4 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		return nil, fmt.Errorf("%s: %w", name, ErrNotCapture)
	}
	switch binary.BigEndian.Uint32(m) {
	case magicPcapng:
		return openPcapng(base)
	case magicMicros, magicNanos, magicMicrosSwap, magicNanosSwap, magicModified, magicModifiedSwap:
		return openPcap(base)
	}
	if isNetmon(m) {
		return openNetmonFrom(base, rd)
	}
	if h, _ := base.r.Peek(etlBufferHeaderLen + 8); isETL(h) {
		return openETL(base)
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNotCapture)
}

// openNetmonFrom opens a NetMon file in place when it is a regular file;
// otherwise (a pipe, gzip) it is read into memory, up to maxNetmonInMemory,
// since its frame table is at the end.
func openNetmonFrom(base reader, rd io.Reader) (Source, error) {
	if f, ok := rd.(*os.File); ok && base.ahead == nil {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return openNetmon(base.name, f, st.Size(), base.closer)
		}
	}
	b, err := io.ReadAll(io.LimitReader(base.r, maxNetmonInMemory+1))
	if base.ahead != nil {
		base.ahead.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", base.name, err)
	}
	if len(b) > maxNetmonInMemory {
		return nil, fmt.Errorf("%s: a NetMon file read from a pipe or through gzip is held in memory, up to %d MiB: give the file itself", base.name, maxNetmonInMemory>>20)
	}
	return openNetmon(base.name, bytes.NewReader(b), int64(len(b)), base.closer)
}

func (r *reader) Name() string { return r.name }

// Close stops the decompressor's goroutine, if any, and closes the file.
// The goroutine may be in a read of the file, which closing the file ends
// (or, reading a pipe that it does not own, the next bytes or the end of
// the pipe): Close returns once it has stopped.
func (r *reader) Close() error {
	if r.ahead != nil {
		r.ahead.halt()
	}
	var err error
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		err = c.Close()
	}
	if r.ahead != nil {
		r.ahead.Close()
	}
	return err
}

// decompressed makes d, a decompressor of what r reads, what r reads:
// decompressed ahead on its own goroutine (ahead.go), which closes
// release, if any, when it stops.
func (r *reader) decompressed(d io.Reader, release io.Closer) {
	if r.ahead != nil {
		// compressed twice: the inner goroutine stops after the outer
		release = chainClose(release, r.ahead)
	}
	r.ahead = readAhead(d, release)
	r.r = bufio.NewReaderSize(r.ahead, readBufferSize)
	r.under = r.ahead
}

// fail records and returns the error that ends the stream. A short read is a
// truncated record; other read errors (bad gzip data, I/O) keep their text.
func (r *reader) fail(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		r.err = fmt.Errorf("%s: %w after %d packets", r.name, ErrTruncatedFile, r.packets)
	default:
		r.err = fmt.Errorf("%s: read error after %d packets: %v", r.name, r.packets, err)
	}
	return r.err
}

// malformed records a format violation.
func (r *reader) malformed(format string, args ...any) error {
	r.err = fmt.Errorf("%s: %w after %d packets: %s", r.name, ErrMalformedFile, r.packets, fmt.Sprintf(format, args...))
	return r.err
}

// take returns the next n bytes, straight from the bufio buffer when they
// fit (valid until the next read) or copied into r.buf.
func (r *reader) take(n int) ([]byte, error) {
	if n <= readBufferSize {
		b, err := r.r.Peek(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		r.r.Discard(n)
		return b, nil
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// skip discards n bytes without buffering them.
func (r *reader) skip(n int64) error {
	for n > 0 {
		step := n
		if step > 1<<30 {
			step = 1 << 30
		}
		d, err := r.r.Discard(int(step))
		n -= int64(d)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// pcapFile reads the classic libpcap format.
type pcapFile struct {
	reader
	big      bool // the file is big-endian (u32)
	nanos    bool
	recLen   int // record header length: 16, or 24 for the modified format
	linkType layers.LinkType
}

// draft-ietf-opsawg-pcap section 4 File Header: magic, version major/minor,
// reserved1, reserved2, snaplen, FCS bits + link type (all 4 bytes but versions).
func openPcap(base reader) (Source, error) {
	h, err := base.r.Peek(24)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base.name, ErrNotCapture)
	}
	s := &pcapFile{reader: base, recLen: 16}
	magic := binary.BigEndian.Uint32(h)
	s.big = magic == magicMicros || magic == magicNanos || magic == magicModified
	s.nanos = magic == magicNanos || magic == magicNanosSwap
	if magic == magicModified || magic == magicModifiedSwap {
		s.recLen = 24
	}
	// libpcap's LT_LINKTYPE: the low 26 bits; the top bits carry FCS info.
	lt := s.u32(h[20:]) & 0x03ffffff
	if lt > 0xffff || !SupportedLinkType(layers.LinkType(lt)) {
		return nil, fmt.Errorf("%s: %w %d", base.name, ErrUnsupportedLinkType, lt)
	}
	s.linkType = layers.LinkType(lt)
	s.r.Discard(24)
	return s, nil
}

func (s *pcapFile) LinkType() layers.LinkType { return s.linkType }

// draft-ietf-opsawg-pcap section 5 Packet Record: seconds, microseconds or
// nanoseconds, captured length, original length; then the packet data.
func (s *pcapFile) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if s.err != nil {
		return nil, gopacket.CaptureInfo{}, s.err
	}
	h, err := s.r.Peek(s.recLen)
	if err != nil {
		if len(h) == 0 && errors.Is(err, io.EOF) {
			s.err = io.EOF
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		return nil, gopacket.CaptureInfo{}, s.fail(err)
	}
	caplen, err := s.capLen(h)
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	ci := gopacket.CaptureInfo{ // read before take: h lies in the buffer it refills
		Timestamp:     time.Unix(0, s.timestamp(h)),
		CaptureLength: int(caplen),
		Length:        int(s.u32(h[12:])),
	}
	s.r.Discard(s.recLen)
	data, err := s.take(int(caplen))
	if err != nil {
		return nil, gopacket.CaptureInfo{}, s.fail(err)
	}
	s.packets++
	return data, ci, nil
}

// u32 reads a field of a header in the file's byte order (binary.ByteOrder
// would be a call through an interface per field of every record).
func (s *pcapFile) u32(b []byte) uint32 {
	if s.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// capLen is the captured length of record header h, at most MaxPacketSize.
func (s *pcapFile) capLen(h []byte) (uint32, error) {
	caplen := s.u32(h[8:])
	if caplen > MaxPacketSize {
		return 0, s.malformed("captured length %d exceeds %d", caplen, MaxPacketSize)
	}
	return caplen, nil
}

// timestamp is the capture time of record header h, Unix ns: seconds and
// micro- or nanoseconds by the file's magic.
func (s *pcapFile) timestamp(h []byte) int64 {
	nsec := int64(s.u32(h[4:]))
	if !s.nanos {
		nsec *= 1000
	}
	return int64(s.u32(h[0:]))*1e9 + nsec
}

// ReadBatch reads records straight into b (readBatch: no copy between the
// read and the batch). Use ReadBatch or ReadPacket on one source, not both.
func (s *pcapFile) ReadBatch(b *Batch) error { return s.readBatch(b, s) }

// record is one Packet Record for readBatch (draft-ietf-opsawg-pcap
// section 5, as ReadPacket reads it).
func (s *pcapFile) record(b *Batch, pos int, end error) (used, need int, err error) {
	rest := b.Data[pos:]
	if len(rest) < s.recLen {
		return 0, s.recLen, s.short(end)
	}
	h := rest[:s.recLen]
	caplen, err := s.capLen(h)
	if err != nil {
		return 0, 0, err
	}
	n := s.recLen + int(caplen)
	if len(rest) < n {
		return 0, n, s.short(end)
	}
	b.Frames = append(b.Frames, s.frameOf(h, pos, caplen))
	s.packets++
	return n, 0, nil
}

// frameOf is the frame of the record whose header h is at offset pos of a
// batch: the serial reader's and the parts' (parts.go) alike.
func (s *pcapFile) frameOf(h []byte, pos int, caplen uint32) Frame {
	return Frame{
		Off: uint32(pos + s.recLen), CapLen: caplen, OrigLen: s.u32(h[12:]),
		Link: s.linkType, TS: s.timestamp(h),
	}
}
