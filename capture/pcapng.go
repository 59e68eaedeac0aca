package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
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
		typ, _, err := s.peekBlock()
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		if typ == blockEPB || typ == blockSPB || typ == blockObsoletPB {
			break
		}
		if err := s.metaBlock(); err != nil {
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
	if len(h) < 8 {
		return 0, 0, s.fail(err)
	}
	// The SHB type reads the same in both byte orders; its length is in the
	// order that its byte-order magic, right after, declares.
	if binary.BigEndian.Uint32(h) == blockSHB {
		if len(h) < 12 {
			return 0, 0, s.fail(err)
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
	// Section 3.1 General Block Structure: type, total length, body padded
	// to 32 bits, total length again.
	if length < 12 || length%4 != 0 {
		return 0, 0, s.malformed("block type %#x has bad length %d", typ, length)
	}
	return typ, length, nil
}

// readSHB consumes a Section Header Block (section 4.1): byte-order magic,
// major/minor version, section length, options. It starts a new interface table.
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
	if length < 28 || length > maxMetaBlock {
		return s.malformed("section header length %d", length)
	}
	b, err := s.take(int(length))
	if err != nil {
		return s.fail(err)
	}
	if major := s.order.Uint16(b[12:]); major != 1 {
		return s.malformed("unsupported pcapng version %d", major)
	}
	s.ifaces = s.ifaces[:0]
	return nil
}

// metaBlock consumes one non-packet block: a new section, an interface
// description, or anything else (skipped unread).
func (s *pcapngFile) metaBlock() error {
	typ, length, err := s.peekBlock()
	if err != nil {
		return err
	}
	switch typ {
	case blockSHB:
		return s.readSHB()
	case blockIDB:
		return s.readIDB(length)
	}
	if err := s.skip(int64(length)); err != nil {
		return s.fail(err)
	}
	return nil
}

// readIDB consumes an Interface Description Block (section 4.2): link type,
// reserved, snaplen, options (if_tsresol 9, if_tsoffset 14).
func (s *pcapngFile) readIDB(length uint32) error {
	if length < 20 || length > maxMetaBlock {
		return s.malformed("interface description length %d", length)
	}
	if len(s.ifaces) >= maxInterfaces {
		return s.malformed("more than %d interfaces", maxInterfaces)
	}
	b, err := s.take(int(length))
	if err != nil {
		return s.fail(err)
	}
	ifc := ngInterface{
		linkType:    layers.LinkType(s.order.Uint16(b[8:])),
		snaplen:     s.order.Uint32(b[12:]),
		unitsPerSec: 1e6,
	}
	// Section 3.5 Options: code, length, value padded to 32 bits.
	opts := b[16 : length-4]
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
		switch typ {
		case blockEPB, blockObsoletPB:
			return s.readEPB(typ, length)
		case blockSPB:
			return s.readSPB(length)
		}
		if err := s.metaBlock(); err != nil {
			return nil, gopacket.CaptureInfo{}, err
		}
	}
}

// readEPB consumes an Enhanced Packet Block (section 4.3): interface id,
// timestamp high/low, captured length, original length, data, options. The
// obsolete Packet Block (Appendix A) has the same layout with a 16-bit
// interface id followed by a 16-bit drops count.
func (s *pcapngFile) readEPB(typ, length uint32) ([]byte, gopacket.CaptureInfo, error) {
	const hdr = 28
	if length < hdr+4 {
		return nil, gopacket.CaptureInfo{}, s.malformed("packet block length %d", length)
	}
	h, err := s.r.Peek(hdr)
	if err != nil {
		return nil, gopacket.CaptureInfo{}, s.fail(err)
	}
	var ifid uint32
	if typ == blockEPB {
		ifid = s.order.Uint32(h[8:])
	} else {
		ifid = uint32(s.order.Uint16(h[8:]))
	}
	ts := uint64(s.order.Uint32(h[12:]))<<32 | uint64(s.order.Uint32(h[16:]))
	caplen := s.order.Uint32(h[20:])
	origlen := s.order.Uint32(h[24:])
	if ifid >= uint32(len(s.ifaces)) {
		return nil, gopacket.CaptureInfo{}, s.malformed("packet for undeclared interface %d", ifid)
	}
	if caplen > length-hdr-4 || caplen > MaxPacketSize {
		return nil, gopacket.CaptureInfo{}, s.malformed("captured length %d in a block of %d bytes", caplen, length)
	}
	return s.packet(int(ifid), ts, caplen, origlen, hdr, length)
}

// readSPB consumes a Simple Packet Block (section 4.4): original length and
// data, captured on interface 0 and cut to its snaplen; no timestamp.
func (s *pcapngFile) readSPB(length uint32) ([]byte, gopacket.CaptureInfo, error) {
	const hdr = 12
	if length < hdr+4 {
		return nil, gopacket.CaptureInfo{}, s.malformed("simple packet block length %d", length)
	}
	if len(s.ifaces) == 0 {
		return nil, gopacket.CaptureInfo{}, s.malformed("simple packet block before any interface")
	}
	h, err := s.r.Peek(hdr)
	if err != nil {
		return nil, gopacket.CaptureInfo{}, s.fail(err)
	}
	origlen := s.order.Uint32(h[8:])
	caplen := min(origlen, length-hdr-4)
	if sl := s.ifaces[0].snaplen; sl != 0 {
		caplen = min(caplen, sl)
	}
	if caplen > MaxPacketSize {
		return nil, gopacket.CaptureInfo{}, s.malformed("captured length %d exceeds %d", caplen, MaxPacketSize)
	}
	return s.packet(0, 0, caplen, origlen, hdr, length)
}

// packet consumes a packet block whose data starts at hdr and returns the data.
func (s *pcapngFile) packet(ifid int, ts uint64, caplen, origlen uint32, hdr int, length uint32) ([]byte, gopacket.CaptureInfo, error) {
	var data []byte
	if length <= readBufferSize {
		// The whole block fits the read buffer: no copy, and discarding the
		// options and trailer cannot move the data.
		b, err := s.r.Peek(int(length))
		if err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
		data = b[hdr : hdr+int(caplen)]
		s.r.Discard(int(length))
	} else {
		s.r.Discard(hdr)
		if cap(s.buf) < int(caplen) {
			s.buf = make([]byte, caplen)
		}
		data = s.buf[:caplen]
		if _, err := io.ReadFull(s.r, data); err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
		if err := s.skip(int64(length) - int64(hdr) - int64(caplen)); err != nil {
			return nil, gopacket.CaptureInfo{}, s.fail(err)
		}
	}
	ifc := &s.ifaces[ifid]
	s.linkType = ifc.linkType
	s.packets++
	ci := gopacket.CaptureInfo{
		Timestamp:      ifc.time(ts),
		CaptureLength:  int(caplen),
		Length:         int(origlen),
		InterfaceIndex: ifid,
	}
	return data, ci, nil
}

// time converts a timestamp in interface units to wall time, exactly.
func (i *ngInterface) time(ts uint64) time.Time {
	sec := ts / i.unitsPerSec
	rem := ts % i.unitsPerSec
	hi, lo := bits.Mul64(rem, 1e9)
	nsec, _ := bits.Div64(hi, lo, i.unitsPerSec) // rem < unitsPerSec, so no overflow
	return time.Unix(int64(sec)+i.offset, int64(nsec))
}
