package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// NetMon 2.x is the capture file of Network Monitor 3.x and Message
// Analyzer (magic "GMBU"). Layout from the Network Monitor 3.4 help
// ("Capture File Format"), as Wireshark's wiretap/netmon.c also reads it:
// a 128-byte header (version, MAC type, start time as a SYSTEMTIME, then
// offset/length pairs of the frame table, user data, comments, process
// info, network info), frames wherever the frame table says, each a
// 16-byte record header (microseconds since the start, original length,
// captured length), the bytes, and from 2.1 a trailer: media type (2.1),
// process info index (2.2), UTC FILETIME and time zone index (2.3).
// Comments sit in their own table, keyed by frame offset: the frame bytes
// are the same with or without one.
const (
	netmonHeaderLen = 128
	netmonRecordLen = 16
	// maxNetmonFrames bounds the frame table read into memory (4 bytes a frame).
	maxNetmonFrames = 64 << 20
	// maxNetmonInMemory bounds a NetMon file read from a pipe or through
	// gzip: its frame table is at the end, so it is held whole.
	maxNetmonInMemory = 256 << 20
)

// NetMon per-frame media types (the trailer's first field).
const (
	netmonEthernet0     = 0 // NetMon 3.4 VPN captures write 0 for Ethernet
	netmonEthernet      = 1
	netmonWiFi          = 6 // 802.11 behind NetMon's own metadata header
	netmonTunnel        = 7 // raw IP
	netmonWirelessWAN   = 8 // raw IP
	netmonRawIP         = 9
	netmonPcapBase      = 0xe000 // 0xE000 | LINKTYPE_: a converted pcap file
	netmonNetEvent      = 0xffe0 // an ETW event
	netmonFirstMetadata = 0xfff0 // 0xFFFB..0xFFFF: network info, DNS cache, filter, ...
)

// isNetmon tells NetMon 2.x by its magic.
func isNetmon(h []byte) bool { return len(h) >= 4 && string(h[:4]) == "GMBU" }

type netmonFile struct {
	name     string
	closer   io.Closer
	ra       io.ReaderAt
	size     int64
	minor    uint8
	trailer  int   // trailer length by version
	startNs  int64 // capture start, for versions before 2.3
	table    []uint32
	next     int
	buf      []byte
	linkType layers.LinkType
	ev       etwPackets
	packets  int
	err      error
}

// openNetmon reads the header and frame table of a NetMon 2.x file held in
// ra (size bytes).
func openNetmon(name string, ra io.ReaderAt, size int64, closer io.Closer) (Source, error) {
	s := &netmonFile{name: name, ra: ra, size: size, closer: closer}
	var h [netmonHeaderLen]byte
	if _, err := ra.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w: NetMon header cut short", name, ErrTruncatedFile)
	}
	major, minor := h[5], h[4]
	if major != 2 {
		return nil, fmt.Errorf("%s: %w: NetMon version %d.%d (only 2.x is read)", name, ErrMalformedFile, major, minor)
	}
	s.minor = minor
	switch {
	case minor >= 3:
		s.trailer = 15
	case minor == 2:
		s.trailer = 6
	case minor == 1:
		s.trailer = 2
	}
	// SYSTEMTIME: year, month, day of week, day, hour, minute, second, ms
	st := func(i int) int { return int(binary.LittleEndian.Uint16(h[8+2*i:])) }
	start := time.Date(st(0), time.Month(st(1)), st(3), st(4), st(5), st(6), st(7)*1e6, time.UTC)
	s.startNs = start.UnixNano()
	off := int64(binary.LittleEndian.Uint32(h[24:]))
	n := int64(binary.LittleEndian.Uint32(h[28:]))
	if n%4 != 0 || n/4 > maxNetmonFrames || off+n > size {
		return nil, fmt.Errorf("%s: %w: NetMon frame table of %d bytes at %d in a file of %d", name, ErrMalformedFile, n, off, size)
	}
	raw := make([]byte, n)
	if _, err := ra.ReadAt(raw, off); err != nil {
		return nil, fmt.Errorf("%s: %w: NetMon frame table cut short", name, ErrTruncatedFile)
	}
	s.table = make([]uint32, n/4)
	for i := range s.table {
		s.table[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	s.linkType = layers.LinkTypeEthernet
	return s, nil
}

func (s *netmonFile) Name() string              { return s.name }
func (s *netmonFile) LinkType() layers.LinkType { return s.linkType }

// SkippedRecords is the number of frames that carried no packet: ETW
// events of other providers, and NetMon's own metadata frames.
func (s *netmonFile) SkippedRecords() uint64 { return s.ev.skipped }

func (s *netmonFile) Close() error {
	if s.closer != nil {
		c := s.closer
		s.closer = nil
		return c.Close()
	}
	return nil
}

func (s *netmonFile) malformed(format string, args ...any) error {
	s.err = fmt.Errorf("%s: %w after %d packets: %s", s.name, ErrMalformedFile, s.packets, fmt.Sprintf(format, args...))
	return s.err
}

// ReadPacket returns the next frame that holds a packet.
func (s *netmonFile) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	for s.err == nil {
		if s.next == len(s.table) {
			s.err = io.EOF
			break
		}
		off := int64(s.table[s.next])
		s.next++
		var rh [netmonRecordLen]byte
		if off+netmonRecordLen > s.size {
			return nil, gopacket.CaptureInfo{}, s.malformed("frame %d at %d lies beyond the end", s.next, off)
		}
		s.ra.ReadAt(rh[:], off)
		delta := binary.LittleEndian.Uint64(rh[:])
		orig := binary.LittleEndian.Uint32(rh[8:])
		caplen := binary.LittleEndian.Uint32(rh[12:])
		if caplen > MaxPacketSize {
			return nil, gopacket.CaptureInfo{}, s.malformed("frame %d: captured length %d exceeds %d", s.next, caplen, MaxPacketSize)
		}
		n := int(caplen) + s.trailer
		if off+netmonRecordLen+int64(n) > s.size {
			return nil, gopacket.CaptureInfo{}, s.malformed("frame %d of %d bytes at %d lies beyond the end", s.next, caplen, off)
		}
		if cap(s.buf) < n {
			s.buf = make([]byte, n)
		}
		b := s.buf[:n]
		if _, err := s.ra.ReadAt(b, off+netmonRecordLen); err != nil && err != io.EOF {
			s.err = fmt.Errorf("%s: read error after %d packets: %v", s.name, s.packets, err)
			break
		}
		data, trl := b[:caplen], b[caplen:]
		// 2.0-2.2: microseconds since the capture start (signed, per
		// Microsoft, once multiplied by 10); 2.3: the trailer's FILETIME.
		ts := s.startNs + int64(delta*10)*100
		media := uint16(netmonEthernet)
		if len(trl) >= 2 {
			media = binary.LittleEndian.Uint16(trl)
		}
		if len(trl) >= 14 {
			ts = (int64(binary.LittleEndian.Uint64(trl[6:])) - filetimeUnixEpoch) * 100
		}
		lt, data, ok := s.frame(media, data)
		if !ok {
			continue
		}
		if o := int(orig); media == netmonNetEvent || o < len(data) {
			orig = uint32(max(len(data), s.ev.origLen))
		}
		s.linkType = lt
		s.packets++
		return data, gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: len(data), Length: int(orig)}, nil
	}
	return nil, gopacket.CaptureInfo{}, s.err
}

// frame maps a frame of a media type to a link type and its packet bytes;
// ok is false for frames that hold no packet.
func (s *netmonFile) frame(media uint16, data []byte) (layers.LinkType, []byte, bool) {
	switch {
	case media == netmonEthernet0 || media == netmonEthernet:
		return layers.LinkTypeEthernet, data, true
	case media == netmonTunnel || media == netmonWirelessWAN || media == netmonRawIP:
		return layers.LinkTypeRaw, data, true
	case media == netmonWiFi:
		// NetMon's 802.11 metadata header: version (1 byte), its length
		// (2 bytes), radio details; the 802.11 frame follows it
		if len(data) < 3 {
			return 0, nil, false
		}
		n := int(binary.LittleEndian.Uint16(data[1:]))
		if n > len(data) {
			return 0, nil, false
		}
		return linkTypeIEEE80211, data[n:], true
	case media == netmonNetEvent:
		return s.netEvent(data)
	case media >= netmonFirstMetadata:
		s.ev.skipped++
		return 0, nil, false
	case media&0xf000 == netmonPcapBase:
		return layers.LinkType(media & 0x0fff), data, true
	}
	// Token Ring, FDDI, ATM and other media: handed on, and the decoder
	// counts them as an unsupported link type
	return layers.LinkType(0xffff), data, true
}

// netEvent reads an ETW event frame (media type 0xFFE0): EVENT_HEADER (80
// bytes: Size, HeaderType, Flags, EventProperty, ThreadId, ProcessId,
// TimeStamp, ProviderId, EventDescriptor, processor time, ActivityId),
// ETW_BUFFER_CONTEXT (4), ExtendedDataCount (2), UserDataLength (2), a
// reassembled flag (1), the extended data items (Reserved, ExtType,
// Linkage, DataSize, data: not aligned here), then the user data.
func (s *netmonFile) netEvent(b []byte) (layers.LinkType, []byte, bool) {
	const fixed = etlEventHeaderLen + 4 + 2 + 2 + 1
	if len(b) < fixed {
		s.ev.skipped++
		return 0, nil, false
	}
	var ev etwEvent
	copy(ev.provider[:], b[24:40])
	ev.id = binary.LittleEndian.Uint16(b[40:])
	ev.keyword = binary.LittleEndian.Uint64(b[48:])
	count := int(binary.LittleEndian.Uint16(b[84:]))
	userLen := int(binary.LittleEndian.Uint16(b[86:]))
	off := fixed
	for range count {
		if off+8 > len(b) {
			s.ev.skipped++
			return 0, nil, false
		}
		off += 8 + int(binary.LittleEndian.Uint16(b[off+6:]))
	}
	if off > len(b) {
		s.ev.skipped++
		return 0, nil, false
	}
	ev.user = b[off:min(len(b), off+userLen)]
	data, lt, ok := s.ev.packet(&ev)
	return lt, data, ok
}
