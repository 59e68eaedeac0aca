package capture

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fragsV4 splits an IPv4 payload at the given byte offsets (multiples of
// 8) into fragments (RFC 791), returned in natural order.
func fragsV4(src, dst string, proto uint8, id uint16, payload []byte, cuts ...int) [][]byte {
	var out [][]byte
	bounds := append(append([]int{0}, cuts...), len(payload))
	for i := 0; i+1 < len(bounds); i++ {
		off, end := bounds[i], bounds[i+1]
		ff := uint16(off / 8)
		if end < len(payload) {
			ff |= 0x2000
		}
		out = append(out, cat(ipv4Header(src, dst, proto, id, ff, end-off, nil), payload[off:end]))
	}
	return out
}

// fragsV6 splits the fragmentable part of an IPv6 packet (first header nh)
// at the given offsets (RFC 8200 4.5). A hop-by-hop header stays in the
// unfragmentable part of every fragment.
func fragsV6(src, dst string, nh uint8, id uint32, part []byte, cuts ...int) [][]byte {
	var out [][]byte
	bounds := append(append([]int{0}, cuts...), len(part))
	for i := 0; i+1 < len(bounds); i++ {
		off, end := bounds[i], bounds[i+1]
		om := uint16(off)
		if end < len(part) {
			om |= 1
		}
		fh := cat([]byte{nh, 0}, be16(om), binary.BigEndian.AppendUint32(nil, id))
		body := cat(extHeader(ipProtoFragment, 1), fh, part[off:end])
		out = append(out, ipv6(src, dst, ipProtoHopByHop, body))
	}
	return out
}

type step struct {
	frame []byte
	want  Result
}

// run decodes frames (raw IP link type unless lt is given) one millisecond
// apart and checks each result; it returns the last packet.
func runSteps(t *testing.T, d *Decoder, lt layers.LinkType, steps ...step) Packet {
	t.Helper()
	var p Packet
	t0 := time.Unix(1700000000, 0)
	for i, s := range steps {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(s.frame), Length: len(s.frame)}
		if r := d.Decode(lt, s.frame, ci, &p); r != s.want {
			t.Fatalf("step %d: %v, want %v", i, r, s.want)
		}
	}
	return p
}

// Carol's real NTLMSSP segment in four IPv4 fragments, out of order, with
// an unrelated packet in between, read back from a pcapng-free pcap file.
func TestReassembleIPv4OutOfOrder(t *testing.T) {
	ip4, _ := realIPv4(t)
	seg := ip4[20:]
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 0x6580, seg, 128, 256, 384)
	other := frameNo(t, realV4Capture, 1).data
	path := writePcap(t, layers.LinkTypeEthernet,
		eth(etherTypeIPv4, fr[2]), eth(etherTypeIPv4, fr[0]), other, eth(etherTypeIPv4, fr[3]), eth(etherTypeIPv4, fr[1]))
	rs, ps, d := decodeFile(t, path, FragmentLimits{})
	if want := []Result{Held, Held, Decoded, Held, Decoded}; !equalResults(rs, want) {
		t.Fatalf("results %v, want %v", rs, want)
	}
	wantCarol(t, &ps[4])
	st := d.Stats()
	if st.Fragments != 4 || st.Reassembled != 1 || st.Held != 3 || st.Decoded != 2 || st.FragmentsDropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func equalResults(a, b []Result) bool { return bytes.Equal(resultBytes(a), resultBytes(b)) }

func resultBytes(rs []Result) []byte {
	b := make([]byte, len(rs))
	for i, r := range rs {
		b[i] = byte(r)
	}
	return b
}

// Charlie's real NTLMSSP segment over IPv6: hop-by-hop in the unfragmentable
// part, a destination options header in the fragmentable part, three
// fragments last-first, on a VLAN.
func TestReassembleIPv6(t *testing.T) {
	ip6 := realIPv6(t)
	part := cat(extHeader(ipProtoTCP, 2), ip6[40:])
	fr := fragsV6("2001:db8:10::100", "2001:db8:10::1", ipProtoDstOpts, 0xdeadbeef, part, 96, 200)
	tag := func(b []byte) []byte { return eth(etherTypeDot1Q, vlan(77, etherTypeIPv6, b)) }
	path := writePcap(t, layers.LinkTypeEthernet, tag(fr[2]), tag(fr[0]), tag(fr[1]))
	rs, ps, d := decodeFile(t, path, FragmentLimits{})
	if want := []Result{Held, Held, Decoded}; !equalResults(rs, want) {
		t.Fatalf("results %v", rs)
	}
	wantCharlie(t, &ps[2])
	if ps[2].VLAN != 77 {
		t.Errorf("VLAN %d", ps[2].VLAN)
	}
	if st := d.Stats(); st.Fragments != 3 || st.Reassembled != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Fragments inside a GRE tunnel reassemble at depth 1.
func TestReassembleInsideGRE(t *testing.T) {
	ip4, _ := realIPv4(t)
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 9, ip4[20:], 264)
	wrap := func(b []byte) []byte {
		return ipv4("10.200.0.3", "10.200.0.224", ipProtoGRE, cat(be16(0), be16(etherTypeIPv4), b))
	}
	d := NewDecoder(FragmentLimits{})
	p := runSteps(t, d, layers.LinkTypeRaw, step{wrap(fr[1]), Held}, step{wrap(fr[0]), Decoded})
	wantCarol(t, &p)
}

// Overlapping fragments discard the datagram (RFC 5722): whatever policy
// the receiver has, the sensor never reports bytes it may not have used.
func TestReassembleOverlap(t *testing.T) {
	ip4, _ := realIPv4(t)
	seg := ip4[20:]
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 1, seg, 128, 256)
	// A forged fragment overlapping fr[1] with other content.
	forged := cat(ipv4Header("127.0.0.5", "127.0.0.20", ipProtoTCP, 1, 0x2000|(64/8), 128, nil), bytes.Repeat([]byte{'A'}, 128))
	d := NewDecoder(FragmentLimits{})
	runSteps(t, d, layers.LinkTypeRaw,
		step{fr[0], Held}, step{forged, Malformed}, step{fr[1], Held}, step{fr[2], Held})
	if st := d.Stats(); st.FragmentsDropped != 2 || st.Reassembled != 0 || st.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}

	ip6 := realIPv6(t)
	f6 := fragsV6("2001:db8:10::100", "2001:db8:10::1", ipProtoTCP, 5, ip6[40:], 160)
	over := fragsV6("2001:db8:10::100", "2001:db8:10::1", ipProtoTCP, 5, ip6[40:], 152)
	d = NewDecoder(FragmentLimits{})
	runSteps(t, d, layers.LinkTypeRaw, step{f6[1], Held}, step{over[1], Malformed}, step{f6[0], Held})
	if st := d.Stats(); st.FragmentsDropped != 2 || st.Reassembled != 0 {
		t.Errorf("IPv6 stats %+v", st)
	}
}

// An exact duplicate (a retransmitted fragment) is dropped; the datagram completes.
func TestReassembleDuplicate(t *testing.T) {
	ip4, _ := realIPv4(t)
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 2, ip4[20:], 256)
	d := NewDecoder(FragmentLimits{})
	p := runSteps(t, d, layers.LinkTypeRaw, step{fr[0], Held}, step{fr[0], Held}, step{fr[1], Decoded})
	wantCarol(t, &p)
	if st := d.Stats(); st.FragmentsDropped != 1 || st.Reassembled != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Inconsistent fragments are malformed and discard their datagram.
func TestReassembleInconsistent(t *testing.T) {
	ip4, _ := realIPv4(t)
	seg := ip4[20:]
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 3, seg, 256)
	shortLast := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 3, seg[:400], 256)[1] // [256,400), last
	longLast := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 3, seg, 400)[1]        // [400,524), last
	pastEnd := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 3, seg, 400, 448)[1]    // [400,448), more
	odd := cat(ipv4Header("10.0.0.1", "10.0.0.2", ipProtoTCP, 4, 0x2000, 13, nil), make([]byte, 13))
	death := cat(ipv4Header("10.0.0.1", "10.0.0.2", ipProtoUDP, 5, 65528/8, 16, nil), make([]byte, 16))
	tests := []struct {
		name  string
		steps []step
	}{
		{"two different ends", []step{{shortLast, Held}, {longLast, Malformed}, {fr[0], Held}}},
		{"data past the end", []step{{shortLast, Held}, {pastEnd, Malformed}}},
		{"last fragment before data", []step{{pastEnd, Held}, {shortLast, Malformed}}},
		{"overlap", []step{{fr[1], Held}, {shortLast, Malformed}}},
		{"non-final fragment not a multiple of 8", []step{{odd, Malformed}}},
		{"ping of death", []step{{death, Malformed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(FragmentLimits{})
			runSteps(t, d, layers.LinkTypeRaw, tt.steps...)
			if d.Stats().Reassembled != 0 {
				t.Errorf("stats %+v", d.Stats())
			}
		})
	}
}

// Fragments of protocols the sensor never delivers (ICMP) are not held;
// a snaplen-cut fragment cannot be used; reassembly can be disabled.
func TestReassembleNotHeld(t *testing.T) {
	ip4, _ := realIPv4(t)
	icmp := fragsV4("10.0.0.1", "10.0.0.2", 1, 6, make([]byte, 64), 32)
	d := NewDecoder(FragmentLimits{})
	runSteps(t, d, layers.LinkTypeRaw, step{icmp[0], Skipped}, step{icmp[1], Skipped})
	if st := d.Stats(); st.Fragments != 2 || st.Held != 0 || st.FragmentsDropped != 0 {
		t.Errorf("ICMP stats %+v", st)
	}

	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 7, ip4[20:], 256)
	d = NewDecoder(FragmentLimits{})
	runSteps(t, d, layers.LinkTypeRaw, step{fr[0][:100], Skipped})
	if st := d.Stats(); st.Truncated != 1 || st.FragmentsDropped != 1 {
		t.Errorf("cut stats %+v", st)
	}

	d = NewDecoder(FragmentLimits{MaxDatagrams: -1})
	runSteps(t, d, layers.LinkTypeRaw, step{fr[0], Skipped}, step{fr[1], Skipped})
	if st := d.Stats(); st.FragmentsDropped != 2 {
		t.Errorf("disabled stats %+v", st)
	}
}

// Datagrams expire Timeout after their first fragment, in packet time.
func TestReassembleTimeout(t *testing.T) {
	ip4, _ := realIPv4(t)
	fr := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 8, ip4[20:], 256)
	other := frameNo(t, realV4Capture, 1)
	d := NewDecoder(FragmentLimits{Timeout: time.Second})
	var p Packet
	t0 := time.Unix(1700000000, 0)
	at := func(dt time.Duration) gopacket.CaptureInfo { return gopacket.CaptureInfo{Timestamp: t0.Add(dt)} }
	if r := d.Decode(layers.LinkTypeRaw, fr[0], at(0), &p); r != Held {
		t.Fatal(r)
	}
	// Any packet moves the clock: 999 ms later the datagram is still there.
	d.Decode(other.lt, other.data, at(999*time.Millisecond), &p)
	if st := d.Stats(); st.FragmentsDropped != 0 {
		t.Fatalf("expired early: %+v", st)
	}
	d.Decode(other.lt, other.data, at(1500*time.Millisecond), &p)
	if st := d.Stats(); st.FragmentsDropped != 1 {
		t.Fatalf("not expired: %+v", st)
	}
	if r := d.Decode(layers.LinkTypeRaw, fr[1], at(1600*time.Millisecond), &p); r != Held {
		t.Errorf("late fragment: %v, want held (a new datagram)", r)
	}
}

// MaxDatagrams evicts the oldest datagram; MaxBytes bounds buffer memory.
func TestReassembleLimits(t *testing.T) {
	ip4, _ := realIPv4(t)
	seg := ip4[20:]
	frag := func(id uint16) [][]byte { return fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, id, seg, 256) }
	d := NewDecoder(FragmentLimits{MaxDatagrams: 2})
	runSteps(t, d, layers.LinkTypeRaw,
		step{frag(1)[0], Held}, step{frag(2)[0], Held}, step{frag(3)[0], Held}, // evicts 1
		step{frag(1)[1], Held}, // evicts 2, starts 1 again
		step{frag(3)[1], Decoded})
	if st := d.Stats(); st.FragmentsDropped != 2 || st.Reassembled != 1 {
		t.Errorf("MaxDatagrams stats %+v", st)
	}

	// Each datagram's buffer starts at 2 KiB: 4 KiB holds two.
	d = NewDecoder(FragmentLimits{MaxBytes: 4096})
	p := runSteps(t, d, layers.LinkTypeRaw,
		step{frag(1)[0], Held}, step{frag(2)[0], Held}, step{frag(3)[0], Held}, // evicts 1 for room
		step{frag(3)[1], Decoded})
	wantCarol(t, &p)
	if st := d.Stats(); st.FragmentsDropped != 1 || d.frag.bytes > 4096 {
		t.Errorf("MaxBytes stats %+v, %d bytes held", st, d.frag.bytes)
	}
	// A datagram that alone needs more than MaxBytes is dropped.
	big := make([]byte, 8000)
	d = NewDecoder(FragmentLimits{MaxBytes: 4096})
	runSteps(t, d, layers.LinkTypeRaw, step{fragsV4("10.0.0.1", "10.0.0.2", ipProtoUDP, 1, big, 4000)[1], Skipped})
	if st := d.Stats(); st.FragmentsDropped != 1 || d.frag.bytes != 0 {
		t.Errorf("oversize stats %+v", st)
	}
}

// Reassembly allocates nothing once its buffers exist.
func TestReassembleZeroAllocs(t *testing.T) {
	ip4, _ := realIPv4(t)
	ip6 := realIPv6(t)
	frames := fragsV4("127.0.0.5", "127.0.0.20", ipProtoTCP, 1, ip4[20:], 128, 256, 384)
	frames = append(frames, fragsV6("2001:db8:10::100", "2001:db8:10::1", ipProtoTCP, 5, ip6[40:], 160)...)
	d := NewDecoder(FragmentLimits{})
	var p Packet
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0)}
	run := func() {
		for _, f := range frames {
			d.Decode(layers.LinkTypeRaw, f, ci, &p)
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per pass", n)
	}
	if st := d.Stats(); st.Reassembled != 204 || st.FragmentsDropped != 0 {
		t.Errorf("stats %+v", st)
	}
}
