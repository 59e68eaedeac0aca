package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// seedCaptures has real frames of every link type and encapsulation.
var seedCaptures = []string{
	realV4Capture, // Ethernet, IPv4
	realV6Capture, // Ethernet, IPv6
	"public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap", // Linux SLL
	"public/suricata-verify/tests/smb-length-5770/input.pcap",      // BSD null, IPv4 and IPv6
	"public/arkime/tests/pcap/smb-smb1-ascii.pcap",                 // 802.1Q
	"public/arkime/tests/pcap/krb5-udp.pcap",                       // 802.1Q, UDP
	"public/zeek/testing/btest/Traces/erspan.pcap",                 // GRE, fragments
	"public/arkime/tests/pcap/arkime_synthetic.pcap",               // QinQ, ERSPAN II, AH, IPv6 options, tunnels
	"public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng",
	"public/zeek/testing/btest/Traces/krb/smb2_krb.pcap", // snaplen cut
}

// within reports whether b is a sub-slice of outer.
func within(b, outer []byte) bool {
	if len(b) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(outer)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p+uintptr(len(b)) <= start+uintptr(len(outer))
}

func FuzzDecode(f *testing.F) {
	for _, rel := range seedCaptures {
		frames := readFrames(f, rel)
		for i, fr := range frames {
			// A sample of each capture: its start and every 25th frame.
			if i < 8 || i%25 == 0 {
				f.Add(uint16(fr.lt), fr.data)
			}
		}
	}
	// Link types no real capture has, around real packets.
	ip4, _ := realIPv4(f)
	ip6 := realIPv6(f)
	f.Add(uint16(layers.LinkTypeLinuxSLL2), cat(be16(etherTypeIPv4), make([]byte, 6), be16(1), []byte{0, 6}, macA, []byte{0, 0}, ip4))
	f.Add(uint16(layers.LinkTypeRaw), ip6)
	f.Add(uint16(linkTypeRawBSD), ip4)
	f.Add(uint16(layers.LinkTypeIPv6), ip6)
	f.Add(uint16(layers.LinkTypeLoop), cat([]byte{0, 0, 0, 24}, ip6))
	f.Add(uint16(layers.LinkTypeEthernet), eth(etherTypeQinQ, vlan(100, etherTypeDot1Q, vlan(200, etherTypeIPv4, ip4))))
	f.Add(uint16(layers.LinkTypeRaw), ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0x1000), be16(etherTypeERSPAN3), be32(1), []byte{0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 8), eth(etherTypeIPv4, ip4))))
	f.Add(uint16(layers.LinkTypeRaw), ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0xf000), be16(etherTypeIPv4), make([]byte, 12), []byte{0, 1, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0}, ip4)))
	for _, fr := range fragsV6("2001:db8::1", "2001:db8::2", ipProtoDstOpts, 1, cat(extHeader(ipProtoTCP, 1), ip6[40:]), 96) {
		f.Add(uint16(layers.LinkTypeRaw), fr)
	}

	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		d := NewDecoder(FragmentLimits{MaxDatagrams: 4, MaxBytes: 16 << 10, Timeout: time.Second})
		var p Packet
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(data), Length: len(data)}
		if fl, ok := Peek(layers.LinkType(lt), data); ok {
			peekAgrees(t, fl, data, ci)
		}
		for round := range 3 {
			r := d.Decode(layers.LinkType(lt), data, ci, &p)
			switch r {
			case Decoded:
				if p.Proto != ProtoTCP && p.Proto != ProtoUDP || !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
					t.Fatalf("decoded %+v", p)
				}
				// One frame alone can never complete a fragmented datagram.
				if round == 0 && !within(p.Payload, data) {
					t.Fatalf("payload outside the frame")
				}
			case Skipped, Held, Malformed:
			default:
				t.Fatalf("result %d", r)
			}
		}
		st := d.Stats()
		if st.Packets != 3 || st.Decoded+st.Skipped+st.Held+st.Malformed != 3 || st.Reassembled > st.Fragments {
			t.Fatalf("stats %+v", st)
		}
		if !SupportedLinkType(layers.LinkType(lt)) && st.UnsupportedLink != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// FuzzReassembly cuts real packets into IPv4 or IPv6 fragments as the plan
// says (sizes, order, duplicates, forged overlaps with other bytes) and
// checks every delivered datagram against a naive reference model of the
// same policy (first complete set wins; any non-identical overlap discards
// the datagram). Without forged fragments, what is delivered must be
// exactly the original segment.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 3, 5, 1, 2, 0x80, 7})
	f.Add([]byte{1, 10, 20, 30, 3, 2, 1})
	f.Add([]byte{0, 200, 1, 7, 14, 21, 0x87})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	ip4, _ := realIPv4(f)
	ip6 := realIPv6(f)
	seg4, seg6 := ip4[20:], ip6[40:]
	type piece struct {
		off, end int
		data     []byte
	}
	f.Fuzz(func(t *testing.T, plan []byte) {
		if len(plan) < 2 || len(plan) > 64 {
			return
		}
		v6 := plan[0]&1 != 0
		seg := seg4
		if v6 {
			seg = seg6
		}
		var pieces []piece
		forged := false
		for i, pos := 1, 0; pos < len(seg); i++ {
			b := plan[i%len(plan)]
			end := min(pos+(int(b%24)+1)*8, len(seg))
			pieces = append(pieces, piece{pos, end, seg[pos:end]})
			if b&0x80 != 0 {
				pieces = append(pieces, pieces[len(pieces)-1]) // duplicate
			}
			if b%7 == 0 && end < len(seg) {
				// Forged fragment overlapping this one and the next with other bytes.
				fend := min(end+16, len(seg))
				pieces = append(pieces, piece{end - 8, fend, bytes.Repeat([]byte{'X'}, fend-end+8)})
				forged = true
			}
			pos = end
		}
		// Reorder with the plan bytes as a Fisher-Yates source.
		for i := len(pieces) - 1; i > 0; i-- {
			j := int(plan[i%len(plan)]) % (i + 1)
			pieces[i], pieces[j] = pieces[j], pieces[i]
		}
		// The reference model: the pieces of the datagram under reassembly.
		var held []piece
		total := -1
		model := func(pc piece) []byte {
			last := pc.end == len(seg)
			for _, h := range held {
				if pc.off < h.end && h.off < pc.end {
					if pc.off == h.off && pc.end == h.end {
						return nil
					}
					held, total = nil, -1
					return nil
				}
			}
			for _, h := range held {
				if last && h.end > pc.end || !last && total >= 0 && pc.end > total {
					held, total = nil, -1
					return nil
				}
			}
			held = append(held, pc)
			if last {
				total = pc.end
			}
			got := 0
			for _, h := range held {
				got += h.end - h.off
			}
			if total < 0 || got != total {
				return nil
			}
			out := make([]byte, total)
			for _, h := range held {
				copy(out[h.off:], h.data)
			}
			held, total = nil, -1
			return out
		}
		d := NewDecoder(FragmentLimits{})
		var p Packet
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0)}
		for _, pc := range pieces {
			var fr []byte
			if v6 {
				om := uint16(pc.off)
				if pc.end < len(seg) {
					om |= 1
				}
				fr = ipv6("2001:db8:10::100", "2001:db8:10::1", ipProtoFragment, cat([]byte{ipProtoTCP, 0}, be16(om), be32(77), pc.data))
			} else {
				ff := uint16(pc.off / 8)
				if pc.end < len(seg) {
					ff |= 0x2000
				}
				fr = cat(ipv4Header("127.0.0.5", "127.0.0.20", ipProtoTCP, 77, ff, len(pc.data), nil), pc.data)
			}
			r := d.Decode(layers.LinkTypeRaw, fr, ci, &p)
			want := model(pc)
			if want == nil {
				if r == Decoded {
					t.Fatalf("delivered a datagram the model does not complete")
				}
				continue
			}
			doff := int(want[12]>>4) * 4
			if doff < 20 || doff > len(want) {
				if r != Malformed {
					t.Fatalf("result %v for a datagram with a bad TCP header", r)
				}
				continue
			}
			if r != Decoded || !bytes.Equal(p.Payload, want[doff:]) {
				t.Fatalf("result %v, payload differs from the model", r)
			}
			if !forged {
				if v6 {
					wantCharlie(t, &p)
				} else {
					wantCarol(t, &p)
				}
			}
		}
		if st := d.Stats(); st.Packets != uint64(len(pieces)) || st.Reassembled > st.Fragments {
			t.Fatalf("stats %+v over %d fragments", st, len(pieces))
		}
	})
}

func FuzzOpenFile(f *testing.F) {
	for _, rel := range []string{
		realV4Capture,
		"public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap",
		"public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng",
		"public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng",
	} {
		raw, err := os.ReadFile(capturePath(rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw[:min(len(raw), 3000)])
	}
	var gz bytes.Buffer
	raw, _ := os.ReadFile(capturePath(realV4Capture))
	zw := gzip.NewWriter(&gz)
	zw.Write(raw[:1500])
	zw.Close()
	f.Add(gz.Bytes())
	ip4, _ := realIPv4(f)
	first := 40 + int(binary.LittleEndian.Uint32(raw[32:]))
	f.Add(rewritePcap(f, raw[:first], binary.BigEndian, true, false))
	f.Add(cat(raw[:20], []byte{147, 0, 0, 0}))
	f.Add(ip4)
	// NetMon 2.3 and ETL, whole: the NetMon frame table is at the end
	for _, rel := range []string{netmonKerberos, etlPktmon} {
		win, err := os.ReadFile(capturePath(rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(win)
	}

	// pcapng in big-endian order with simple and obsolete packet blocks,
	// and a file of two sections
	ng, _ := os.ReadFile(capturePath(realPcapngs[1]))
	be, _ := ngRewrite(ng, binary.BigEndian)
	f.Add(be[:min(len(be), 3000)])
	f.Add(ngSections(f)[:5000])

	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewReader(bytes.NewReader(b), "fuzz.pcap")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.pcap: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		defer s.Close()
		want, err := readPacketsFrom(s)
		if err != io.EOF && !strings.HasPrefix(err.Error(), "fuzz.pcap: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
		if _, _, again := s.ReadPacket(); again != err {
			t.Fatalf("error not sticky: %v then %v", err, again)
		}
		if errors.Is(err, ErrTruncatedFile) && !strings.Contains(err.Error(), " after ") {
			t.Fatalf("truncation error without a count: %v", err)
		}
		d := NewDecoder(FragmentLimits{})
		var p Packet
		for n, fr := range want {
			if len(fr.data) != fr.ci.CaptureLength || len(fr.data) > MaxPacketSize {
				t.Fatalf("packet %d: %d bytes, ci %+v", n, len(fr.data), fr.ci)
			}
			d.Decode(fr.lt, fr.data, fr.ci, &p)
		}
		// ReadBatch, where the format has it, gives the same frames and
		// error, with a batch smaller than most records and with a larger one
		for _, g := range batchGeometries[:2] {
			bs, _ := NewReader(bytes.NewReader(b), "fuzz.pcap")
			if _, ok := bs.(BatchReader); ok {
				got, batchErr := readBatched(bs, g.data, g.frames)
				if batchErr == nil || batchErr.Error() != err.Error() {
					t.Fatalf("ReadBatch error %v, ReadPacket %v", batchErr, err)
				}
				sameFrames(t, "fuzz.pcap", got, want)
			}
			bs.Close()
		}
	})
}

// FuzzLZ77: any input decodes to at most the bound, or fails; never a
// panic, never a read or write out of range.
func FuzzLZ77(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01}, 300)
	f.Add([]byte{0x3f, 0, 0, 0, 'a', 'b'}, 10)
	raw, err := os.ReadFile(capturePath(etlPktmon))
	if err != nil {
		f.Fatal(err)
	}
	// the first compressed buffer of pktmon's ETL
	f.Add(raw[1024+etlBufferHeaderLen:1024+11926], 50160-etlBufferHeaderLen)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		max = max & 0xfffff
		out, err := lz77Decompress(nil, b, max)
		if len(out) > max {
			t.Fatalf("%d bytes out of a bound of %d (err %v)", len(out), max, err)
		}
	})
}
