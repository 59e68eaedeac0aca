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

// ETL is the Event Tracing for Windows log file that `netsh trace start
// capture=yes` and `pktmon start` write. It is a run of buffers, each a
// WMI_BUFFER_HEADER and events; the first event of the first is the
// logger's TRACE_LOGFILE_HEADER, which gives the clock of the timestamps.
// pktmon compresses its buffers with MS-XCA plain LZ77. Layouts: Geoff
// Chappell's notes on WMI_BUFFER_HEADER and the TRACE_*_HEADER types,
// and evntrace.h / evntcons.h (TRACE_LOGFILE_HEADER, EVENT_HEADER).
const (
	etlBufferHeaderLen   = 0x48
	etlBufferCompressed  = 0x40 // WMI_BUFFER_HEADER BufferFlag ETW_BUFFER_FLAG_COMPRESSED
	etlMaxBuffer         = 64 << 20
	etlEventHeaderLen    = 80 // EVENT_HEADER
	etlSystemHeaderLen   = 32 // SYSTEM_TRACE_HEADER of a 64-bit logger
	etlTraceHeaderFlag   = 0x80
	etlHeaderTypeEvent32 = 0x12
	etlHeaderTypeEvent64 = 0x13
	filetimeUnixEpoch    = 116444736000000000 // 1970-01-01 in 100 ns units since 1601
)

// etl TRACE_HEADER_TYPE values whose size field is the second 16 bits
// (SYSTEM_TRACE_HEADER, the compact and PERFINFO headers); the others
// have it first.
func etlSizeSecond(ht byte) bool {
	switch ht {
	case 1, 2, 3, 4, 16, 17:
		return true
	}
	return false
}

// isETL tells an ETL file by its first event: a SYSTEM_TRACE_HEADER
// (version 2, header type system32 or system64, flags TRACE_HEADER_FLAG |
// TRACE_HEADER_EVENT_TRACE) whose hook is the event trace header (0x0000).
func isETL(h []byte) bool {
	if len(h) < etlBufferHeaderLen+8 {
		return false
	}
	e := h[etlBufferHeaderLen:]
	bs := binary.LittleEndian.Uint32(h)
	return bs >= etlBufferHeaderLen+etlSystemHeaderLen && bs <= etlMaxBuffer &&
		binary.LittleEndian.Uint16(e) == 2 && (e[2] == 1 || e[2] == 2) && e[3] == 0xc0 &&
		binary.LittleEndian.Uint16(e[6:]) == 0
}

type etlFile struct {
	reader
	page     []byte // the current buffer, decompressed, header included
	pos, end int    // the next event and the end of the buffer's events
	raw      []byte // a compressed buffer as read
	ev       etwPackets
	linkType layers.LinkType
	// the clock: a timestamp t is startFT + (t-startTS)/freq seconds,
	// or a FILETIME itself when freq is 0
	startFT, startTS int64
	freq             uint64
	badBuffers       uint64
}

func openETL(base reader) (Source, error) {
	s := &etlFile{reader: base, linkType: layers.LinkTypeEthernet}
	if err := s.nextBuffer(); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%s: %w: ETL file with no buffer", s.name, ErrMalformedFile)
		}
		return nil, err
	}
	if err := s.logfileHeader(); err != nil {
		return nil, err
	}
	return s, nil
}

// logfileHeader reads the clock from the TRACE_LOGFILE_HEADER that is the
// first event: its SYSTEM_TRACE_HEADER's SystemTime is the logger's clock
// at StartTime (a FILETIME). Offsets of the structure for a logger whose
// PointerSize is 4 or 8: BufferSize 0 .. CpuSpeedInMHz 52, LoggerName and
// LogFileName (pointers), TimeZone (176 bytes with padding), BootTime,
// PerfFreq, StartTime, ReservedFlags (the clock type).
func (s *etlFile) logfileHeader() error {
	e := s.page[etlBufferHeaderLen:s.end]
	if len(e) < etlSystemHeaderLen {
		return s.malformed("ETL logfile header cut short")
	}
	size := int(binary.LittleEndian.Uint16(e[4:]))
	if size > len(e) || size < etlSystemHeaderLen+64 {
		return s.malformed("ETL logfile header of %d bytes", size)
	}
	hdrTS := int64(binary.LittleEndian.Uint64(e[16:]))
	m := e[etlSystemHeaderLen:size]
	ptr := int(binary.LittleEndian.Uint32(m[44:]))
	if ptr != 4 && ptr != 8 {
		return s.malformed("ETL logfile header pointer size %d", ptr)
	}
	o := 56 + 2*ptr + 176
	if o+28 > len(m) {
		return s.malformed("ETL logfile header cut short")
	}
	perfFreq := binary.LittleEndian.Uint64(m[o+8:])
	s.startFT = int64(binary.LittleEndian.Uint64(m[o+16:]))
	s.startTS = hdrTS
	switch clock := binary.LittleEndian.Uint32(m[o+24:]); clock {
	case 2: // system time: timestamps are FILETIMEs
		s.freq = 0
	case 3: // CPU cycle counter
		s.freq = uint64(binary.LittleEndian.Uint32(m[52:])) * 1e6
	default: // 1 or 0: the performance counter (QueryPerformanceCounter)
		s.freq = perfFreq
	}
	if s.freq == 0 && binary.LittleEndian.Uint32(m[o+24:]) != 2 {
		return s.malformed("ETL logfile header has no clock frequency")
	}
	s.pos = etlBufferHeaderLen + (size+7)&^7
	return nil
}

// time converts an event timestamp to Unix ns.
func (s *etlFile) time(ts int64) int64 {
	ft := ts
	if s.freq != 0 {
		d, neg := uint64(ts-s.startTS), ts < s.startTS
		if neg {
			d = uint64(s.startTS - ts)
		}
		// d * 1e7 / freq without overflow
		hi, lo := bits.Mul64(d, 1e7)
		var q uint64
		if hi < s.freq {
			q, _ = bits.Div64(hi, lo, s.freq)
		} else {
			q = 1 << 62
		}
		if neg {
			ft = s.startFT - int64(q)
		} else {
			ft = s.startFT + int64(q)
		}
	}
	return (ft - filetimeUnixEpoch) * 100
}

// nextBuffer reads the next buffer into page. io.EOF at a clean end.
func (s *etlFile) nextBuffer() error {
	h, err := s.r.Peek(etlBufferHeaderLen)
	if err != nil {
		if len(h) == 0 && errors.Is(err, io.EOF) {
			return io.EOF
		}
		return s.fail(err)
	}
	size := int(binary.LittleEndian.Uint32(h))
	saved := int(binary.LittleEndian.Uint32(h[4:]))
	flags := binary.LittleEndian.Uint16(h[0x34:])
	if size < etlBufferHeaderLen || size > etlMaxBuffer {
		return s.malformed("ETL buffer of %d bytes", size)
	}
	if flags&etlBufferCompressed == 0 {
		b, err := s.take(size)
		if err != nil {
			return s.fail(err)
		}
		s.page = append(s.page[:0], b...)
		s.end = min(max(saved, etlBufferHeaderLen), size)
		s.pos = etlBufferHeaderLen
		return nil
	}
	// Compressed (pktmon): BufferSize is the length on disk, SavedOffset the
	// length of the buffer once expanded, header included.
	if saved < etlBufferHeaderLen || saved > etlMaxBuffer {
		return s.malformed("compressed ETL buffer expands to %d bytes", saved)
	}
	b, err := s.take(size)
	if err != nil {
		return s.fail(err)
	}
	s.raw = append(s.raw[:0], b...)
	if cap(s.page) < saved {
		s.page = make([]byte, 0, saved)
	}
	// the expansion is at most saved bytes, so it is made in place
	s.page = append(s.page[:0], s.raw[:etlBufferHeaderLen]...)
	out, err := lz77Decompress(s.page[etlBufferHeaderLen:], s.raw[etlBufferHeaderLen:], saved-etlBufferHeaderLen)
	s.page = s.page[:etlBufferHeaderLen+len(out)]
	if err != nil {
		// the events before the corruption are good; count the buffer
		s.badBuffers++
	}
	s.end = len(s.page)
	s.pos = etlBufferHeaderLen
	return nil
}

func (s *etlFile) LinkType() layers.LinkType { return s.linkType }

// SkippedRecords is the number of events that carried no packet.
func (s *etlFile) SkippedRecords() uint64 { return s.ev.skipped }

// ReadPacket returns the packet of the next event that carries one.
func (s *etlFile) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if s.err != nil {
		return nil, gopacket.CaptureInfo{}, s.err
	}
	for {
		if s.pos+8 > s.end {
			if err := s.nextBuffer(); err != nil {
				if err == io.EOF {
					s.err = io.EOF
				}
				return nil, gopacket.CaptureInfo{}, err
			}
			continue
		}
		e := s.page[s.pos:s.end]
		if binary.LittleEndian.Uint32(e) == 0xffffffff || e[3]&etlTraceHeaderFlag == 0 {
			s.pos = s.end // the rest of the buffer is padding
			continue
		}
		ht := e[2]
		var size int
		if etlSizeSecond(ht) {
			size = int(binary.LittleEndian.Uint16(e[4:]))
		} else {
			size = int(binary.LittleEndian.Uint16(e))
		}
		if size < 8 || size > len(e) {
			s.badBuffers++
			s.pos = s.end // no way to find the next event: go on with the next buffer
			continue
		}
		s.pos += (size + 7) &^ 7
		if ht != etlHeaderTypeEvent32 && ht != etlHeaderTypeEvent64 {
			s.ev.skipped++ // classic and kernel events carry no packet
			continue
		}
		ev, ts, ok := s.event(e[:size])
		if !ok {
			s.ev.skipped++
			continue
		}
		data, lt, ok := s.ev.packet(&ev)
		if !ok {
			continue
		}
		if len(data) > MaxPacketSize {
			data = data[:MaxPacketSize]
		}
		s.linkType = lt
		s.packets++
		return data, gopacket.CaptureInfo{
			Timestamp:     time.Unix(0, s.time(ts)),
			CaptureLength: len(data),
			Length:        max(len(data), s.ev.origLen),
		}, nil
	}
}

// event reads an EVENT_HEADER event (evntcons.h): Size, HeaderType, Flags,
// EventProperty, ThreadId, ProcessId, TimeStamp, ProviderId,
// EventDescriptor (Id, Version, Channel, Level, Opcode, Task, Keyword),
// processor time, ActivityId; then, with EVENT_HEADER_FLAG_EXTENDED_INFO,
// extended data items (8-byte aligned, each Reserved, ExtType, Linkage,
// DataSize, data) while Linkage is set; then the user data.
func (s *etlFile) event(e []byte) (ev etwEvent, ts int64, ok bool) {
	if len(e) < etlEventHeaderLen {
		return ev, 0, false
	}
	flags := binary.LittleEndian.Uint16(e[4:])
	ts = int64(binary.LittleEndian.Uint64(e[16:]))
	copy(ev.provider[:], e[24:40])
	ev.id = binary.LittleEndian.Uint16(e[40:])
	ev.keyword = binary.LittleEndian.Uint64(e[48:])
	off := etlEventHeaderLen
	if flags&0x0001 != 0 {
		for {
			if off+8 > len(e) {
				return ev, 0, false
			}
			linkage := binary.LittleEndian.Uint16(e[off+4:])
			n := int(binary.LittleEndian.Uint16(e[off+6:]))
			off = (off + 8 + n + 7) &^ 7
			if off > len(e) {
				return ev, 0, false
			}
			if linkage&1 == 0 {
				break
			}
		}
	}
	ev.user = e[off:]
	return ev, ts, true
}
