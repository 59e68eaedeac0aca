package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Windows writes packets as ETW events: netsh trace and NetMon/Message
// Analyzer through Microsoft-Windows-NDIS-PacketCapture, pktmon through
// Microsoft-Windows-PktMon. Both ETL files and NetMon "network event"
// frames hold such events; etwPackets takes the packet out of the ones
// that carry one.

// Provider GUIDs as they lie in an EVENT_HEADER (Data1-3 little-endian).
var (
	// {2ED6006E-4729-4609-B423-3EE7BCD678EF} Microsoft-Windows-NDIS-PacketCapture
	guidNDISCapture = [16]byte{0x6e, 0x00, 0xd6, 0x2e, 0x29, 0x47, 0x09, 0x46, 0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef}
	// {4D4F80D9-C8BD-4D73-BB5B-19C90402C5AC} Microsoft-Windows-PktMon
	guidPktMon = [16]byte{0xd9, 0x80, 0x4f, 0x4d, 0xbd, 0xc8, 0x73, 0x4d, 0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac}
)

// NDIS-PacketCapture's manifest: event 1001 PacketFragment, and the
// keywords that tell its medium and where a packet starts and ends.
const (
	ndisPacketFragment   = 1001
	ndisKwWirelessWAN    = 0x200 // raw IP (mobile broadband)
	ndisKwNative80211    = 0x10000
	ndisKwPacketStart    = 0x40000000
	ndisKwPacketEnd      = 0x80000000
	pktmonFramePayload   = 160
	pktmonFrameDropped   = 170 // a packet a component dropped: still seen on its edge
	pktmonHeaderLen      = 34  // PktGroupId .. LoggedPayloadSize
	pktmonTypeEthernet   = 1
	pktmonTypeWiFi       = 2
	pktmonTypeIP         = 3
	linkTypeIEEE80211    = layers.LinkType(105)
	etwPacketStartOffset = 12 // MiniportIfIndex, LowerIfIndex, FragmentSize
)

// etwEvent is the part of an ETW event a packet is taken from.
type etwEvent struct {
	provider [16]byte
	id       uint16
	keyword  uint64
	user     []byte // the user data
}

// etwPackets turns packet-carrying ETW events into frames. NDIS splits a
// packet larger than its event into fragments flagged start and end: they
// are joined in buf, bounded by MaxPacketSize.
type etwPackets struct {
	buf      []byte
	inPacket bool
	origLen  int    // length on the wire of the packet last returned
	skipped  uint64 // events with no packet (other providers and events)
	dropped  uint64 // NDIS fragments that did not join into a packet
}

// packet returns the packet event e completes, if any. data is valid
// until the next call.
func (p *etwPackets) packet(e *etwEvent) (data []byte, lt layers.LinkType, ok bool) {
	switch {
	case e.provider == guidNDISCapture && e.id == ndisPacketFragment:
		return p.ndis(e)
	case e.provider == guidPktMon && (e.id == pktmonFramePayload || e.id == pktmonFrameDropped):
		return p.pktmon(e)
	}
	p.skipped++
	return nil, 0, false
}

// ndis reads event 1001: MiniportIfIndex, LowerIfIndex, FragmentSize,
// Fragment (Microsoft-Windows-NDIS-PacketCapture manifest).
func (p *etwPackets) ndis(e *etwEvent) ([]byte, layers.LinkType, bool) {
	u := e.user
	if len(u) < etwPacketStartOffset {
		p.dropped++
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint32(u[8:]))
	if n > len(u)-etwPacketStartOffset {
		p.dropped++
		return nil, 0, false
	}
	frag := u[etwPacketStartOffset : etwPacketStartOffset+n]
	lt := layers.LinkTypeEthernet
	switch {
	case e.keyword&ndisKwWirelessWAN != 0:
		lt = layers.LinkTypeRaw
	case e.keyword&ndisKwNative80211 != 0:
		lt = linkTypeIEEE80211
	}
	start, end := e.keyword&ndisKwPacketStart != 0, e.keyword&ndisKwPacketEnd != 0
	if start && end {
		if p.inPacket {
			p.dropped++ // the packet before never ended
		}
		p.inPacket = false
		p.origLen = len(frag)
		return frag, lt, true
	}
	if start {
		if p.inPacket {
			p.dropped++
		}
		p.buf, p.inPacket = append(p.buf[:0], frag...), true
		return nil, 0, false
	}
	if !p.inPacket || len(p.buf)+len(frag) > MaxPacketSize {
		p.dropped++
		p.inPacket = false
		return nil, 0, false
	}
	p.buf = append(p.buf, frag...)
	if !end {
		return nil, 0, false
	}
	p.inPacket = false
	p.origLen = len(p.buf)
	return p.buf, lt, true
}

// pktmon reads events 160 (FramePayload) and 170 (FrameDrop): PktGroupId,
// PktNumber, AppearanceCount, DirTag, PacketType, ComponentId, EdgeId,
// FilterId, DropReason, DropLocation, OriginalPayloadSize,
// LoggedPayloadSize, Payload (Microsoft-Windows-PktMon manifest).
func (p *etwPackets) pktmon(e *etwEvent) ([]byte, layers.LinkType, bool) {
	u := e.user
	if len(u) < pktmonHeaderLen {
		p.dropped++
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint16(u[32:]))
	if n > len(u)-pktmonHeaderLen {
		p.dropped++
		return nil, 0, false
	}
	var lt layers.LinkType
	switch binary.LittleEndian.Uint16(u[14:]) {
	case pktmonTypeEthernet:
		lt = layers.LinkTypeEthernet
	case pktmonTypeWiFi:
		lt = linkTypeIEEE80211
	case pktmonTypeIP:
		lt = layers.LinkTypeRaw
	default:
		p.skipped++
		return nil, 0, false
	}
	p.origLen = max(n, int(binary.LittleEndian.Uint16(u[30:])))
	return u[pktmonHeaderLen : pktmonHeaderLen+n], lt, true
}
