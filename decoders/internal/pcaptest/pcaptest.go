// Package pcaptest gives decoder tests the real bytes of the captures in pcaps/.
//
// It is deliberately slow and simple (gopacket's full packet decoding, no
// reassembly): tests want the payload of each packet, not speed.
package pcaptest

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ntlmsensor/capture"
)

// Segment is the transport payload of one captured packet.
type Segment struct {
	Frame            int // 1-based frame number, as tshark counts
	SrcPort, DstPort uint16
	UDP              bool
	Payload          []byte
}

// Path returns the absolute path of a capture given relative to pcaps/,
// e.g. "real-implementations/smb2_wrong_password.pcap".
func Path(rel string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "pcaps", rel)
}

// Segments reads a capture (pcap, pcapng, NetMon, ETL; optionally
// gzip-compressed) below
// pcaps/ and returns the non-empty TCP and UDP payloads in capture order.
func Segments(tb testing.TB, rel string) []Segment {
	tb.Helper()
	raw, err := os.ReadFile(Path(rel))
	if err != nil {
		tb.Fatalf("read %s: %v", rel, err)
	}
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			tb.Fatalf("gunzip %s: %v", rel, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			tb.Fatalf("gunzip %s: %v", rel, err)
		}
	}
	var src gopacket.PacketDataSource
	var lt layers.LinkType
	// NetMon 2.x magic; ETL: the logfile header's SYSTEM_TRACE_HEADER marker after the first buffer header
	if len(raw) >= 4 && string(raw[:4]) == "GMBU" || len(raw) > 0x50 && raw[0x48] == 2 && raw[0x49] == 0 && raw[0x4b] == 0xc0 {
		return windowsSegments(tb, rel, raw)
	}
	if len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			tb.Fatalf("pcapng %s: %v", rel, err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			tb.Fatalf("pcap %s: %v", rel, err)
		}
		src, lt = r, r.LinkType()
	}
	var out []Segment
	for frame := 1; ; frame++ {
		data, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		out = appendSegment(out, frame, data, lt)
	}
	return out
}

// windowsSegments reads NetMon and ETL files with the sensor's reader (gopacket
// has none); a frame's number counts the event frames skipped before it, as
// tshark counts them.
func windowsSegments(tb testing.TB, rel string, raw []byte) []Segment {
	src, err := capture.NewReader(bytes.NewReader(raw), rel)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	rs, _ := src.(capture.RecordSkipper)
	var out []Segment
	for n := 1; ; n++ {
		data, _, err := src.ReadPacket()
		if err != nil {
			break
		}
		frame := n
		if rs != nil {
			frame += int(rs.SkippedRecords())
		}
		out = appendSegment(out, frame, bytes.Clone(data), src.LinkType())
	}
	return out
}

func appendSegment(out []Segment, frame int, data []byte, lt layers.LinkType) []Segment {
	p := gopacket.NewPacket(data, lt, gopacket.Default)
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && len(t.Payload) > 0 {
		out = append(out, Segment{Frame: frame, SrcPort: uint16(t.SrcPort), DstPort: uint16(t.DstPort), Payload: t.Payload})
	} else if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && len(u.Payload) > 0 {
		out = append(out, Segment{Frame: frame, SrcPort: uint16(u.SrcPort), DstPort: uint16(u.DstPort), UDP: true, Payload: u.Payload})
	}
	return out
}

// Find returns every payload that contains sig, with the bytes from sig on.
func Find(tb testing.TB, rel string, sig []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, s := range Segments(tb, rel) {
		if i := bytes.Index(s.Payload, sig); i >= 0 {
			out = append(out, s.Payload[i:])
		}
	}
	return out
}
