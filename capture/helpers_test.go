package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capturePath returns the path of a capture given relative to pcaps/.
func capturePath(rel string) string {
	return filepath.Join("..", "pcaps", filepath.FromSlash(rel))
}

// frame is one packet read from a capture, copied out of the reader's buffer.
type frame struct {
	lt   layers.LinkType
	data []byte
	ci   gopacket.CaptureInfo
}

// readFrames reads every packet of a capture below pcaps/ with OpenFile.
func readFrames(tb testing.TB, rel string) []frame {
	tb.Helper()
	out, err := readPackets(tb, capturePath(rel))
	if err != io.EOF {
		tb.Fatalf("%s: frame %d: %v", rel, len(out)+1, err)
	}
	return out
}

// readPackets reads a capture with ReadPacket: the frames and the error
// that ends them.
func readPackets(tb testing.TB, path string) ([]frame, error) {
	tb.Helper()
	s, err := OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	return readPacketsFrom(s)
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	return gz.Bytes()
}

// frameNo returns frame n (1-based, as tshark counts) of a capture.
func frameNo(tb testing.TB, rel string, n int) frame {
	tb.Helper()
	fs := readFrames(tb, rel)
	if n > len(fs) {
		tb.Fatalf("%s has %d frames, want frame %d", rel, len(fs), n)
	}
	return fs[n-1]
}

// Real packets the synthetic encapsulations wrap.
const (
	// smb2_ntlmv2_unsigned.pcap frame 10: NTLMSSP AUTHENTICATE of carol
	// (FS1\carol from WKS01), 127.0.0.5:46724 -> 127.0.0.20:445.
	realV4Capture = "real-implementations/smb2_ntlmv2_unsigned.pcap"
	realV4Frame   = 10
	// ntlm_synthetic.pcap frame 36: NTLMSSP AUTHENTICATE of V6DOM\charlie,
	// [2001:db8:10::100]:50003 -> [2001:db8:10::1]:445.
	realV6Capture = "public/arkime/tests/pcap/ntlm_synthetic.pcap"
	realV6Frame   = 36
)

// realIPv4 returns the IPv4 datagram (Ethernet header stripped) of the real
// NTLMSSP packet, and its TCP payload.
func realIPv4(tb testing.TB) (ip, payload []byte) {
	tb.Helper()
	f := frameNo(tb, realV4Capture, realV4Frame)
	ip = f.data[14:]
	return ip, ip[20+32:]
}

// realIPv6 returns the IPv6 packet (Ethernet header stripped) of the real
// NTLMSSP packet over IPv6.
func realIPv6(tb testing.TB) []byte {
	tb.Helper()
	f := frameNo(tb, realV6Capture, realV6Frame)
	return f.data[14:]
}

// wantCarol checks p is the decoded smb2_ntlmv2_unsigned.pcap frame 10
// (values from tshark: tcp.seq_raw, tcp.ack_raw, tcp.flags, tcp.len).
func wantCarol(tb testing.TB, p *Packet) {
	tb.Helper()
	want := Packet{
		Src: netip.MustParseAddr("127.0.0.5"), Dst: netip.MustParseAddr("127.0.0.20"),
		SrcPort: 46724, DstPort: 445, Proto: 6, TCPFlags: FlagPSH | FlagACK,
		Seq: 3629395845, Ack: 2338328974,
	}
	if got := headerOf(p); got != headerOf(&want) {
		tb.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	if len(p.Payload) != 492 || !bytes.Contains(p.Payload, []byte("NTLMSSP\x00\x03")) ||
		!bytes.Contains(p.Payload, utf16("carol")) || !bytes.Contains(p.Payload, utf16("WKS01")) {
		tb.Errorf("payload: %d bytes, want the 492-byte NTLMSSP AUTHENTICATE of carol from WKS01", len(p.Payload))
	}
}

// wantCharlie checks p is the decoded ntlm_synthetic.pcap frame 36.
func wantCharlie(tb testing.TB, p *Packet) {
	tb.Helper()
	want := Packet{
		Src: netip.MustParseAddr("2001:db8:10::100"), Dst: netip.MustParseAddr("2001:db8:10::1"),
		SrcPort: 50003, DstPort: 445, Proto: 6, TCPFlags: FlagPSH | FlagACK, Seq: 1415, Ack: 2215,
	}
	if got := headerOf(p); got != headerOf(&want) {
		tb.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	if len(p.Payload) != 336 || !bytes.Contains(p.Payload, []byte("NTLMSSP\x00\x03")) ||
		!bytes.Contains(p.Payload, utf16("charlie")) || !bytes.Contains(p.Payload, utf16("V6DOM")) {
		tb.Errorf("payload: %d bytes, want the 336-byte NTLMSSP AUTHENTICATE of V6DOM\\charlie", len(p.Payload))
	}
}

// header is the comparable part of a Packet: addresses, ports, protocol, TCP fields.
type header struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto, TCPFlags  uint8
	Seq, Ack         uint32
}

func headerOf(p *Packet) header {
	return header{p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto, p.TCPFlags, p.Seq, p.Ack}
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

// --- synthetic headers around real packets ---------------------------------

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	macA = []byte{0x00, 0x0c, 0x29, 0x40, 0xd0, 0xad}
	macB = []byte{0x00, 0x21, 0x1c, 0x2e, 0x41, 0x46}
)

// eth builds an Ethernet II frame.
func eth(etherType uint16, payload []byte) []byte {
	return cat(macA, macB, be16(etherType), payload)
}

// vlan builds an 802.1Q-style tag: TPID is written by the caller's EtherType.
func vlan(id uint16, next uint16, payload []byte) []byte {
	return cat(be16(id&0x0fff), be16(next), payload)
}

// ipv4Header builds an IPv4 header (checksum left 0) with the given options.
func ipv4Header(src, dst string, proto uint8, id uint16, flagsOff uint16, payloadLen int, options []byte) []byte {
	hl := 20 + len(options)
	h := make([]byte, 20, hl)
	h[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(h[2:], uint16(hl+payloadLen))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], flagsOff)
	h[8] = 64
	h[9] = proto
	a, b := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], a[:])
	copy(h[16:], b[:])
	return append(h, options...)
}

func ipv4(src, dst string, proto uint8, payload []byte) []byte {
	return cat(ipv4Header(src, dst, proto, 0x1234, 0x4000, len(payload), nil), payload)
}

// ipv6Header builds an IPv6 fixed header.
func ipv6Header(src, dst string, nh uint8, payloadLen int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(payloadLen))
	h[6] = nh
	h[7] = 64
	a, b := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], a[:])
	copy(h[24:], b[:])
	return h
}

func ipv6(src, dst string, nh uint8, payload []byte) []byte {
	return cat(ipv6Header(src, dst, nh, len(payload)), payload)
}

// extHeader builds an 8-byte-unit IPv6 extension header (hop-by-hop,
// routing, destination options) of 8*units bytes: PadN filled.
func extHeader(nh uint8, units int) []byte {
	h := make([]byte, 8*units)
	h[0], h[1] = nh, byte(units-1)
	h[2], h[3] = 1, byte(len(h)-4) // PadN
	return h
}

// --- writing captures with pcapgo ------------------------------------------

// writePcap writes frames with the given link type to a temporary pcap file.
func writePcap(tb testing.TB, lt layers.LinkType, frames ...[]byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "synthetic.pcap")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, lt); err != nil {
		tb.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// pcapngOf rewrites a pcap file's packets as pcapng (Enhanced Packet
// Blocks, microsecond times), with pcapgo.
func pcapngOf(tb testing.TB, pcap []byte) []byte {
	tb.Helper()
	s, err := NewReader(bytes.NewReader(pcap), "pcap")
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	w, err := pcapgo.NewNgWriter(&out, s.LinkType())
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range readAllFrom(tb, s) {
		if err := w.WritePacket(f.ci, f.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// decodeFile reads a capture with OpenFile and decodes every packet,
// returning the results and a copy of each decoded packet.
func decodeFile(tb testing.TB, path string, limits FragmentLimits) ([]Result, []Packet, *Decoder) {
	tb.Helper()
	s, err := OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	d := NewDecoder(limits)
	var rs []Result
	var ps []Packet
	for {
		data, ci, err := s.ReadPacket()
		if errors.Is(err, io.EOF) {
			return rs, ps, d
		}
		if err != nil {
			tb.Fatal(err)
		}
		var p Packet
		r := d.Decode(s.LinkType(), data, ci, &p)
		p.Payload = bytes.Clone(p.Payload)
		rs = append(rs, r)
		ps = append(ps, p)
	}
}

// eachCapture calls fn with the path and frames of every bundled capture
// whose name ends in one of the suffixes and that opens (the bad-input
// captures do not).
func eachCapture(tb testing.TB, fn func(path string, frames []frame), suffixes ...string) {
	tb.Helper()
	err := filepath.WalkDir(capturePath(""), func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		for _, suf := range suffixes {
			if strings.HasSuffix(path, suf) {
				s, err := OpenFile(path)
				if err != nil {
					return nil
				}
				frames := readAllFrom(tb, s)
				s.Close()
				fn(path, frames)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
