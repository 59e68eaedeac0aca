package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapng block types (draft-ietf-opsawg-pcapng section 11.1).
const (
	blockSHB       = 0x0a0d0d0a
	blockIDB       = 0x00000001
	blockObsoletPB = 0x00000002 // Appendix A, still written by old tools
	blockSPB       = 0x00000003
	blockEPB       = 0x00000006

	byteOrderMagic = 0x1a2b3c4d
	// maxMetaBlock bounds the SHB/IDB blocks we buffer to parse options.
	maxMetaBlock = 1 << 20
	// maxInterfaces bounds the interface table of one section.
	maxInterfaces = 1 << 16
)

type ngInterface struct {
	linkType    layers.LinkType
	snaplen     uint32
	unitsPerSec uint64 // if_tsresol: timestamp units per second
	offset      int64  // if_tsoffset: seconds added to every timestamp
}

// pcapngFile reads pcapng: any number of sections, each with its own byte
// order and interface table.
type pcapngFile struct {
	reader
	order    binary.ByteOrder
	ifaces   []ngInterface
	linkType layers.LinkType
}

func openPcapng(base reader) (Source, error) {
	s := &pcapngFile{reader: base}
	if h, _ := s.r.Peek(12); len(h) < 12 || (binary.BigEndian.Uint32(h[8:]) != byteOrderMagic && binary.LittleEndian.Uint32(h[8:]) != byteOrderMagic) {
		// The first four bytes matched by chance: no byte-order magic.
		return nil, fmt.Errorf("%s: %w", s.name, ErrNotCapture)
	}
	if err := s.readSHB(); err != nil {
		return nil, err
	}
	// Read the interface descriptions up to the first packet, so that a
	// file whose interfaces all have unsupported link types fails here.
	for {
		typ, length, err := s.peekBlock()
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		if packetHeaderLen(typ) > 0 {
			break
		}
		if err := s.metaBlock(typ, length); err != nil {
			return nil, err
		}
	}
	if len(s.ifaces) > 0 {
		ok := false
		for _, i := range s.ifaces {
			ok = ok || SupportedLinkType(i.linkType)
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w %d", s.name, ErrUnsupportedLinkType, s.ifaces[0].linkType)
		}
		s.linkType = s.ifaces[0].linkType
	}
	if s.err == io.EOF {
		s.err = nil // an empty capture: ReadPacket reports the EOF
	}
	return s, nil
}

func (s *pcapngFile) LinkType() layers.LinkType { return s.linkType }

// peekBlock returns the type and total length of the next block without
// consuming it. io.EOF at a clean end of file.
func (s *pcapngFile) peekBlock() (typ, length uint32, err error) {
	if s.err != nil {
		return 0, 0, s.err
	}
	h, err := s.r.Peek(12)
	if len(h) == 0 && errors.Is(err, io.EOF) {
		s.err = io.EOF
		return 0, 0, io.EOF
	}
	return s.blockStart(h, err)
}

// blockStart decodes the type and total length of a block from h, its
// first 12 bytes or, at the end of the stream, what there is of them
// (short: why there is no more).
func (s *pcapngFile) blockStart(h []byte, short error) (typ, length uint32, err error) {
	if len(h) < 8 {
		return 0, 0, s.fail(short)
	}
	// The SHB type reads the same in both byte orders; its length is in the
	// order that its byte-order magic, right after, declares.
	if binary.BigEndian.Uint32(h) == blockSHB {
		if len(h) < 12 {
			return 0, 0, s.fail(short)
		}
		switch binary.BigEndian.Uint32(h[8:]) {
		case byteOrderMagic:
			s.order = binary.BigEndian
		case 0x4d3c2b1a:
			s.order = binary.LittleEndian
		default:
			return 0, 0, s.malformed("bad byte-order magic in section header")
		}
	} else if s.order == nil {
		return 0, 0, s.malformed("no section header")
	}
	typ, length = s.order.Uint32(h), s.order.Uint32(h[4:])
	if !blockLength(length) {
		return 0, 0, s.malformed("block type %#x has bad length %d", typ, length)
	}
	return typ, length, nil
}

// blockLength reports whether a block can have total length l (section
// 3.1: type, length and the length again, the body padded to 32 bits).
func blockLength(l uint32) bool { return l >= 12 && l%4 == 0 }

// readSHB consumes the Section Header Block that a file starts with.
func (s *pcapngFile) readSHB() error {
	typ, length, err := s.peekBlock()
	if err != nil {
		if err == io.EOF {
			return s.fail(io.ErrUnexpectedEOF)
		}
		return err
	}
	if typ != blockSHB {
		return s.malformed("expected section header")
	}
	return s.readMeta(typ, length)
}

// metaBlock consumes one non-packet block: a new section, an interface
// description, or anything else (skipped unread).
func (s *pcapngFile) metaBlock(typ, length uint32) error {
	if typ == blockSHB || typ == blockIDB {
		return s.readMeta(typ, length)
	}
	if err := s.skip(int64(length)); err != nil {
		return s.fail(err)
	}
	return nil
}

// readMeta consumes a Section Header or Interface Description Block whole.
func (s *pcapngFile) readMeta(typ, length uint32) error {
	if err := s.metaLength(typ, length); err != nil {
		return err
	}
	b, err := s.take(int(length))
	if err != nil {
		return s.fail(err)
	}
	return s.meta(typ, b)
}

// metaLength checks the length of a Section Header or Interface
// Description Block before it is read whole.
func (s *pcapngFile) metaLength(typ, length uint32) error {
	if typ == blockSHB {
		if length < 28 || length > maxMetaBlock {
			return s.malformed("section header length %d", length)
		}
		return nil
	}
	if length < 20 || length > maxMetaBlock {
		return s.malformed("interface description length %d", length)
	}
	if len(s.ifaces) >= maxInterfaces {
		return s.malformed("more than %d interfaces", maxInterfaces)
	}
	return nil
}

// meta applies a whole Section Header Block (section 4.1: byte-order
// magic, major/minor version, section length, options), which starts a
// new interface table, or Interface Description Block (section 4.2: link
// type, reserved, snaplen, options: if_tsresol 9, if_tsoffset 14), which
// adds an interface to it.
func (s *pcapngFile) meta(typ uint32, b []byte) error {
	if typ == blockSHB {
		if major := s.order.Uint16(b[12:]); major != 1 {
			return s.malformed("unsupported pcapng version %d", major)
		}
		s.ifaces = s.ifaces[:0]
		return nil
	}
	ifc := ngInterface{
		linkType:    layers.LinkType(s.order.Uint16(b[8:])),
		snaplen:     s.order.Uint32(b[12:]),
		unitsPerSec: 1e6,
	}
	// Section 3.5 Options: code, length, value padded to 32 bits.
	opts := b[16 : len(b)-4]
	for len(opts) >= 4 {
		code, olen := s.order.Uint16(opts), int(s.order.Uint16(opts[2:]))
		if code == 0 || 4+olen > len(opts) {
			break
		}
		v := opts[4 : 4+olen]
		switch {
		case code == 9 && olen == 1:
			ifc.unitsPerSec = tsUnits(v[0])
		case code == 14 && olen == 8:
			ifc.offset = int64(s.order.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(olen+3)&^3):]
	}
	if ifc.unitsPerSec == 0 {
		return s.malformed("interface %d has unusable if_tsresol", len(s.ifaces))
	}
	s.ifaces = append(s.ifaces, ifc)
	return nil
}

// tsUnits decodes if_tsresol: MSB clear, 10^-n s; set, 2^-n s. 0 if it
// does not fit 64 bits.
func tsUnits(r byte) uint64 {
	n := uint(r & 0x7f)
	if r&0x80 != 0 {
		if n > 63 {
			return 0
		}
		return 1 << n
	}
	if n > 19 {
		return 0
	}
	u := uint64(1)
	for ; n > 0; n-- {
		u *= 10
	}
	return u
}

func (s *pcapngFile) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	for {
		typ, length, err := s.peekBlock()
		if err != nil {
			return nil, gopacket.CaptureInfo{}, err
		}
		if hdr := packetHeaderLen(typ); hdr > 0 {
			h, err := s.r.Peek(hdr)
			p, err := s.packetHeader(typ, length, h, err)
			if err != nil {
				return nil, gopacket.CaptureInfo{}, err
			}
			return s.packet(p, length)
		}
		if err := s.metaBlock(typ, length); err != nil {
			return nil, gopacket.CaptureInfo{}, err
		}
	}
}

// ngPacket is the fixed part of a packet block.
type ngPacket struct {
	ifid            int
	ts              uint64 // in the interface's units
	caplen, origlen uint32
	hdr             int // where the data starts in the block
}

// frame is the frame of the packet block p heads, at offset pos of a
// batch, captured on ifc: the serial reader's and the parts' alike.
func (p ngPacket) frame(ifc *ngInterface, pos int) Frame {
	return Frame{
		Off: uint32(pos + p.hdr), CapLen: p.caplen, OrigLen: p.origlen,
		Link: ifc.linkType, TS: ifc.unixNano(p.ts),
	}
}

// packetHeaderLen is the length of the fixed part of a packet block of
// type typ, 0 for other blocks.
func packetHeaderLen(typ uint32) int {
	switch typ {
	case blockEPB, blockObsoletPB:
		return 28
	case blockSPB:
		return 12
	}
	return 0
}

// packetHeader decodes the fixed part of a packet block from h, its first
// packetHeaderLen(typ) bytes or, at the end of the stream, what there is of
// them (short: why there is no more).
//
// Enhanced Packet Block (section 4.3): interface id, timestamp high/low,
// captured length, original length, data, options. The obsolete Packet
// Block (Appendix A) has the same layout with a 16-bit interface id
// followed by a 16-bit drops count. Simple Packet Block (section 4.4):
// original length and data, captured on interface 0 and cut to its
// snaplen; no timestamp.
func (s *pcapngFile) packetHeader(typ, length uint32, h []byte, short error) (ngPacket, error) {
	p, problem := decodePacketHeader(s.order, s.ifaces, typ, length, h)
	switch {
	case problem == shortHeader:
		return p, s.fail(short)
	case problem != "":
		return p, s.malformed("%s", problem)
	}
	return p, nil
}

// shortHeader is decodePacketHeader's problem when h is too short.
const shortHeader = "short"

// decodePacketHeader is packetHeader without the reader: what is wrong
// with the block, if anything, is problem.
func decodePacketHeader(order binary.ByteOrder, ifaces []ngInterface, typ, length uint32, h []byte) (p ngPacket, problem string) {
	p.hdr = packetHeaderLen(typ)
	if typ == blockSPB {
		if length < uint32(p.hdr)+4 {
			return p, fmt.Sprintf("simple packet block length %d", length)
		}
		if len(ifaces) == 0 {
			return p, "simple packet block before any interface"
		}
		if len(h) < p.hdr {
			return p, shortHeader
		}
		p.origlen = order.Uint32(h[8:])
		p.caplen = min(p.origlen, length-uint32(p.hdr)-4)
		if sl := ifaces[0].snaplen; sl != 0 {
			p.caplen = min(p.caplen, sl)
		}
		if p.caplen > MaxPacketSize {
			return p, fmt.Sprintf("captured length %d exceeds %d", p.caplen, MaxPacketSize)
		}
		return p, ""
	}
	if length < uint32(p.hdr)+4 {
		return p, fmt.Sprintf("packet block length %d", length)
	}
	if len(h) < p.hdr {
		return p, shortHeader
	}
	ifid := order.Uint32(h[8:])
	if typ == blockObsoletPB {
		ifid = uint32(order.Uint16(h[8:]))
	}
	p.ts = uint64(order.Uint32(h[12:]))<<32 | uint64(order.Uint32(h[16:]))
	p.caplen = order.Uint32(h[20:])
	p.origlen = order.Uint32(h[24:])
	if ifid >= uint32(len(ifaces)) {
		return p, fmt.Sprintf("packet for undeclared interface %d", ifid)
	}
	if p.caplen > length-uint32(p.hdr)-4 || p.caplen > MaxPacketSize {
		return p, fmt.Sprintf("captured length %d in a block of %d bytes", p.caplen, length)
	}
	p.ifid = int(ifid)
	return p, ""
}

// packet consumes the packet block p heads and returns its data.
func (s *pcapngFile) packet(p ngPacket, length uint32) ([]byte, gopacket.CaptureInfo, error) {
	var data []byte
	if length <= readBufferSize {
		// The whole block fits the read buffer: no copy, and discarding the
		// options and trailer cannot move the data.
		b, err := s.r.Peek(int(length))
		if err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
		data = b[p.hdr : p.hdr+int(p.caplen)]
		s.r.Discard(int(length))
	} else {
		s.r.Discard(p.hdr)
		if cap(s.buf) < int(p.caplen) {
			s.buf = make([]byte, p.caplen)
		}
		data = s.buf[:p.caplen]
		if _, err := io.ReadFull(s.r, data); err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
		if err := s.skip(int64(length) - int64(p.hdr) - int64(p.caplen)); err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
	}
	ifc := s.delivered(p)
	ci := gopacket.CaptureInfo{
		Timestamp:      ifc.time(p.ts),
		CaptureLength:  int(p.caplen),
		Length:         int(p.origlen),
		InterfaceIndex: p.ifid,
	}
	return data, ci, nil
}

// delivered counts the packet p heads and returns its interface.
func (s *pcapngFile) delivered(p ngPacket) *ngInterface {
	ifc := &s.ifaces[p.ifid]
	s.linkType = ifc.linkType
	s.packets++
	return ifc
}

// ReadBatch reads blocks straight into b (readBatch: no copy between the
// read and the batch). Use ReadBatch or ReadPacket on one source, not both.
func (s *pcapngFile) ReadBatch(b *Batch) error { return s.readBatch(b, s) }

// maxWholeBlock bounds the packet blocks that ReadBatch reads whole: a
// longer one (long by its options: its data is at most MaxPacketSize) has
// its data read into the batch and the rest skipped.
const maxWholeBlock = 2 * MaxPacketSize

// record is one block for readBatch, decoded as ReadPacket decodes it: a
// packet block becomes a frame, the others are applied (SHB, IDB) or
// skipped.
func (s *pcapngFile) record(b *Batch, pos int, end error) (used, need int, err error) {
	rest := b.Data[pos:]
	if len(rest) < 12 && end == nil {
		return 0, 12, nil
	}
	typ, length, err := s.blockStart(rest[:min(12, len(rest))], end)
	if err != nil {
		return 0, 0, err
	}
	whole := uint64(length) <= uint64(len(rest)) // (a length is 32 bits, unsigned)
	if hdr := packetHeaderLen(typ); hdr > 0 {
		if len(rest) < hdr && end == nil {
			return 0, hdr, nil
		}
		p, err := s.packetHeader(typ, length, rest[:min(hdr, len(rest))], end)
		if err != nil {
			return 0, 0, err
		}
		used = int(length)
		if !whole {
			if length <= maxWholeBlock || end != nil {
				return 0, int(length), s.short(end)
			}
			if n := hdr + int(p.caplen); len(rest) < n {
				return 0, n, nil
			}
			if err := s.skip(int64(length) - int64(len(rest))); err != nil {
				return 0, 0, s.fail(err)
			}
			used = len(rest)
		}
		b.Frames = append(b.Frames, p.frame(s.delivered(p), pos))
		return used, 0, nil
	}
	if typ == blockSHB || typ == blockIDB {
		if err := s.metaLength(typ, length); err != nil {
			return 0, 0, err
		}
		if !whole {
			return 0, int(length), s.short(end)
		}
		return int(length), 0, s.meta(typ, rest[:length])
	}
	// any other block is skipped (section 3.1): read into the batch if it
	// fits the buffer, else passed over
	switch {
	case whole:
		return int(length), 0, nil
	case end != nil:
		return 0, 0, s.fail(end)
	case uint64(length) <= uint64(cap(b.Data)):
		return 0, int(length), nil
	}
	if err := s.skip(int64(length) - int64(len(rest))); err != nil {
		return 0, 0, s.fail(err)
	}
	return len(rest), 0, nil
}

// unixNano is time(ts).UnixNano(), without a division per packet for the
// usual resolutions (micro- and nanoseconds).
func (i *ngInterface) unixNano(ts uint64) int64 {
	switch i.unitsPerSec {
	case 1e6:
		return (int64(ts/1e6)+i.offset)*1e9 + int64(ts%1e6)*1e3
	case 1e9:
		return (int64(ts/1e9)+i.offset)*1e9 + int64(ts%1e9)
	}
	return i.time(ts).UnixNano()
}

// time converts a timestamp in interface units to wall time, exactly.
func (i *ngInterface) time(ts uint64) time.Time {
	sec := ts / i.unitsPerSec
	rem := ts % i.unitsPerSec
	hi, lo := bits.Mul64(rem, 1e9)
	nsec, _ := bits.Div64(hi, lo, i.unitsPerSec) // rem < unitsPerSec, so no overflow
	return time.Unix(int64(sec)+i.offset, int64(nsec))
}

// Split returns the parts of a pcapng file opened by OpenFile,
// uncompressed, not read yet beyond its first section's header and the
// interfaces declared before its first packet. Its packet blocks are read
// in parts with those interfaces; a new section or interface stops the
// parts there, and the serial reader goes on from it.
func (s *pcapngFile) Split() (*Parts, bool) {
	if s.order == nil || len(s.ifaces) == 0 || s.err != nil {
		return nil, false
	}
	pos, ok := s.fileOffset()
	if !ok {
		return nil, false
	}
	// the first packet block: peeked, not consumed
	start := pos - int64(s.r.Buffered())
	return s.reader.split(ngParts{order: s.order, ifaces: slices.Clone(s.ifaces)}, start)
}

// ngParts reads the blocks of one pcapng section in parts (parts.go),
// with the byte order and interfaces it had when it was split.
type ngParts struct {
	order  binary.ByteOrder
	ifaces []ngInterface
}

// Section 3.1 General Block Structure: type, total length, body padded to
// 32 bits, total length again.
func (n ngParts) headLen() int { return 8 }

func (n ngParts) length(h []byte) (int, bool) {
	l := n.order.Uint32(h[4:])
	return int(l), binary.BigEndian.Uint32(h) != blockSHB && blockLength(l) && l <= maxWholeBlock
}

// frame: a packet block (section 4.3, 4.4, appendix A) is a frame as
// ReadBatch makes it; a new section or interface description is left to
// the serial reader; any other block is passed over, as ReadBatch does.
func (n ngParts) frame(rec []byte, off int, f *Frame) (bool, bool) {
	typ := n.order.Uint32(rec)
	hdr := packetHeaderLen(typ)
	switch {
	case typ == blockSHB || typ == blockIDB:
		return false, false
	case hdr == 0:
		return false, true
	case len(rec) < hdr:
		return false, false
	}
	p, problem := decodePacketHeader(n.order, n.ifaces, typ, uint32(len(rec)), rec[:hdr])
	if problem != "" {
		return false, false
	}
	*f = p.frame(&n.ifaces[p.ifid], off)
	return true, true
}

// plausible: a length that a block can have, repeated at its end (a block
// that runs past the bytes read is not taken: a guess must be checked).
func (n ngParts) plausible(data []byte) (int, bool) {
	if len(data) < 12 {
		return 0, false
	}
	l := n.order.Uint32(data[4:])
	if !blockLength(l) || int64(l) > int64(len(data)) {
		return 0, false
	}
	return int(l), n.order.Uint32(data[l-4:]) == l
}

func (n ngParts) align() int { return 4 }
