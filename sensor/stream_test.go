package sensor

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/decoders/carrier"
)

// recorder is a carrier that keeps every byte it is fed, consuming in
// messages of a fixed size (so partial messages stay buffered) or skipping.
type recorder struct {
	got    [2]bytes.Buffer
	msg    int // consume in multiples of msg bytes (0: everything)
	skip   int // after the first message, ask to skip this many bytes
	gaps   [2]int
	closed bool
}

func (r *recorder) Feed(toServer bool, b []byte, ts time.Time) int {
	d := carrier.Side(toServer)
	n := len(b)
	if r.msg > 0 {
		n -= n % r.msg
	}
	r.got[d].Write(b[:n])
	if r.skip > 0 && n > 0 {
		s := r.skip
		r.skip = 0
		return n + s
	}
	return n
}
func (r *recorder) Gap(toServer bool, ts time.Time) { r.gaps[carrier.Side(toServer)]++ }
func (r *recorder) Close(ts time.Time)              { r.closed = true }

func recordingSensor(r *recorder) *Sensor {
	c := &carrier.Carrier{
		Protocol: "rec",
		Detect:   func(bool, []byte) carrier.Verdict { return carrier.Yes },
		New:      func(*carrier.Conn) carrier.Handler { return r },
	}
	cfg := DefaultConfig()
	cfg.Carriers = []*carrier.Carrier{c}
	return New(cfg)
}

var (
	cli = netip.MustParseAddr("10.0.0.1")
	srv = netip.MustParseAddr("10.0.0.2")
	t0  = time.Unix(1700000000, 0)
)

func seg(seq uint32, flags uint8, payload []byte) *capture.Packet {
	return &capture.Packet{Time: t0, Src: cli, Dst: srv, SrcPort: 40000, DstPort: 445, Proto: 6, TCPFlags: flags, Seq: seq, Payload: payload}
}

// stream of 0..n-1 as bytes, the data every test sends.
func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestReassemblyInOrderOutOfOrderRetransmit(t *testing.T) {
	r := &recorder{msg: 10}
	s := recordingSensor(r)
	d := data(100)
	s.Packet(seg(999, capture.FlagSYN, nil))
	s.Packet(seg(1000, capture.FlagACK, d[0:25]))
	s.Packet(seg(1050, capture.FlagACK, d[50:75])) // early
	s.Packet(seg(1000, capture.FlagACK, d[0:25]))  // retransmission
	s.Packet(seg(1020, capture.FlagACK, d[20:50])) // overlap, fills the hole
	s.Packet(seg(1075, capture.FlagACK, d[75:100]))
	s.Packet(seg(1100, capture.FlagFIN|capture.FlagACK, nil))
	if got := r.got[0].Bytes(); !bytes.Equal(got, d) {
		t.Fatalf("reassembled %d bytes, want %d: %v", len(got), len(d), got)
	}
	if r.gaps[0] != 0 {
		t.Fatalf("gaps %d", r.gaps[0])
	}
	st := s.Stats()
	if st.OutOfOrder != 1 || st.Retransmitted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReassemblySkipPassesOverPayloadUnseen(t *testing.T) {
	r := &recorder{skip: 1000}
	s := recordingSensor(r)
	d := data(1300)
	s.Packet(seg(0, capture.FlagSYN, nil))
	s.Packet(seg(1, capture.FlagACK, d[0:100]))      // consumed, then skip 1000
	s.Packet(seg(801, capture.FlagACK, d[800:1100])) // early, partly inside the skip
	s.Packet(seg(101, capture.FlagACK, d[100:800]))  // wholly inside the skip
	s.Packet(seg(1101, capture.FlagACK, d[1100:1300]))
	want := append(append([]byte{}, d[:100]...), d[1100:1300]...)
	if got := r.got[0].Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if s.Stats().SkippedBytes != 1000 {
		t.Fatalf("skipped %d", s.Stats().SkippedBytes)
	}
}

func TestReassemblyGapWhenHoleNeverFills(t *testing.T) {
	r := &recorder{}
	s := recordingSensor(r)
	s.lim.maxOOOSegs = 4
	d := data(1000)
	s.Packet(seg(0, capture.FlagSYN, nil))
	s.Packet(seg(1, 0, d[0:100]))
	for i := 2; i < 9; i++ { // 100..199 never comes
		s.Packet(seg(uint32(1+i*100), 0, d[i*100:i*100+100]))
	}
	s.Flush()
	if r.gaps[0] == 0 {
		t.Fatal("no gap reported")
	}
	want := append(append([]byte{}, d[0:100]...), d[200:900]...)
	if got := r.got[0].Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if !r.closed {
		t.Fatal("handler not closed")
	}
}

func TestMidstreamAndServerDirection(t *testing.T) {
	r := &recorder{}
	s := recordingSensor(r)
	p := seg(5000, capture.FlagACK, []byte("hello"))
	p.Src, p.Dst, p.SrcPort, p.DstPort = srv, cli, 445, 40000 // the server speaks first, mid-connection
	s.Packet(p)
	if r.got[1].String() != "hello" {
		t.Fatalf("server bytes %q", r.got[1].String())
	}
}

// TestReassemblyRandomOrder sends a stream cut at random points, shuffled
// and partly duplicated: the consumer must see it whole and in order.
func TestReassemblyRandomOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		r := &recorder{msg: 1 + rng.IntN(40)}
		s := recordingSensor(r)
		d := data(2000 + rng.IntN(2000))
		s.Packet(seg(41, capture.FlagSYN, nil))
		var segs []*capture.Packet
		for off := 0; off < len(d); {
			n := 1 + rng.IntN(300)
			n = min(n, len(d)-off)
			segs = append(segs, seg(uint32(42+off), capture.FlagACK, d[off:off+n]))
			off += n
		}
		for i := range segs { // local disorder only, as on a real link
			j := min(len(segs)-1, i+rng.IntN(4))
			segs[i], segs[j] = segs[j], segs[i]
		}
		for _, p := range segs {
			s.Packet(p)
			if rng.IntN(5) == 0 {
				s.Packet(p)
			}
		}
		got := r.got[0].Bytes()
		want := d[:len(d)-len(d)%r.msg]
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: got %d bytes, want %d", round, len(got), len(want))
		}
	}
}

// FuzzReassembly feeds arbitrary segments: no panic, and buffered bytes
// stay within the limits.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 10, 5, 1, 200, 3, 2, 0, 9})
	f.Fuzz(func(t *testing.T, script []byte) {
		r := &recorder{msg: 7}
		s := recordingSensor(r)
		s.lim = limits{maxBuffer: 1 << 10, maxOOOSegs: 4, maxOOOBytes: 2 << 10}
		d := data(4096)
		for i := 0; i+2 < len(script); i += 3 {
			off := int(script[i]) * 16
			n := int(script[i+1])
			flags := script[i+2] & (capture.FlagSYN | capture.FlagFIN | capture.FlagRST | capture.FlagACK)
			if off+n > len(d) {
				n = len(d) - off
			}
			s.Packet(seg(uint32(off), flags, d[off:off+n]))
			for fl := s.lru.head; fl != nil; fl = fl.next {
				for _, st := range fl.dir {
					if len(st.buf) > s.lim.maxBuffer || st.oooBytes > s.lim.maxOOOBytes || len(st.ooo) > s.lim.maxOOOSegs {
						t.Fatalf("limits exceeded: buf %d ooo %d/%d", len(st.buf), len(st.ooo), st.oooBytes)
					}
				}
			}
		}
		s.Flush()
	})
}

// TestMemoryBound: many connections each holding early bytes that never
// become in order cannot make the sensor hold more than MaxBuffered.
func TestMemoryBound(t *testing.T) {
	r := &recorder{}
	s := recordingSensor(r)
	s.cfg.MaxBuffered = 64 << 10
	d := data(2000)
	for i := 0; i < 200; i++ {
		p := seg(1000, capture.FlagACK, d[:10])
		p.SrcPort = uint16(10000 + i)
		s.Packet(p)
		p = seg(5000, capture.FlagACK, d) // early: waits for bytes that never come
		p.SrcPort = uint16(10000 + i)
		s.Packet(p)
		if s.buffered > s.cfg.MaxBuffered {
			t.Fatalf("after %d flows: %d bytes held, limit %d", i+1, s.buffered, s.cfg.MaxBuffered)
		}
	}
	if s.stats.MemoryLimitHits == 0 {
		t.Fatal("limit never hit")
	}
	// the oldest flows gave their bytes up, the newest kept theirs
	if s.lru.head.held != 0 || s.lru.tail.held == 0 {
		t.Fatalf("oldest holds %d, newest %d", s.lru.head.held, s.lru.tail.held)
	}
	s.Flush()
	if s.buffered != 0 {
		t.Fatalf("%d bytes still accounted after flush", s.buffered)
	}
}
