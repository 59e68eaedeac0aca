// Package gen writes large, realistic captures for benchmarking the sensor,
// deterministic from a seed: bulk traffic that dominates a real link (SMB2
// reads and writes of files in real I/O sizes, HTTP downloads, TLS, SSH and
// database sessions, QUIC, DNS and other UDP, many short connections and
// refused ones), with correct TCP sequence and acknowledgement numbers,
// delayed ACKs, a rare retransmission or reordering, and IPv6 beside IPv4.
// Into it go the real authentication connections of small captures
// (pcaps/real-implementations), replayed under rewritten addresses, ports
// and times; the Manifest says what was planted where, so that a run can
// check every planted authentication was found, with the fields the small
// capture gives.
package gen

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Config says what to generate.
type Config struct {
	Seed uint64
	// Size is the capture size in bytes: background traffic stops there;
	// replicas still playing are finished.
	Size int64
	// LinkRate (bit/s) sets the capture's clock: connections arrive at
	// rates that fill a link of this speed with the mix.
	LinkRate float64
	// PlantEvery: one replica of an original per this many bytes of
	// capture (0: none). Originals are taken in a shuffled round, so every
	// one is planted once before any twice.
	PlantEvery int64
	// Originals is the directory of the captures to plant ("": none).
	Originals string
	// Start is the time of the first packet.
	Start time.Time
	// Classes, when not empty, keeps only these kinds of traffic (see
	// ClassNames), e.g. the bulk ones alone to measure the per-packet path
	// without the cost of new connections.
	Classes []string
	// Mix names a mix of the kinds of traffic (see Mixes; "": the default).
	Mix string
}

// ClassNames lists the kinds of traffic, bulk ones first.
func ClassNames() (bulk, short []string) {
	for _, c := range classes {
		if c.bulk {
			bulk = append(bulk, c.name)
		} else {
			short = append(short, c.name)
		}
	}
	return bulk, short
}

// DefaultConfig: 1 GiB on a 2 Gbit/s link, a replica every MiB.
func DefaultConfig() Config {
	return Config{
		Seed:       1,
		Size:       1 << 30,
		LinkRate:   2e9,
		PlantEvery: 1 << 20,
		Start:      time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC),
	}
}

// Version changes whenever the same Config would give other bytes.
const Version = 3

// Manifest describes a generated capture.
type Manifest struct {
	Version     int                    `json:"version"`
	Seed        uint64                 `json:"seed"`
	Only        []string               `json:"classes_only,omitempty"`
	Mix         string                 `json:"mix,omitempty"`
	Size        int64                  `json:"size"`
	LinkRate    float64                `json:"link_rate"`
	PlantEvery  int64                  `json:"plant_every"`
	Bytes       int64                  `json:"bytes"` // file size
	Packets     int64                  `json:"packets"`
	Start       time.Time              `json:"start"`
	End         time.Time              `json:"end"`
	Connections int64                  `json:"connections"`
	Classes     map[string]*classStats `json:"classes"`
	Replicas    []Replica              `json:"replicas"`
}

// classStats counts what one kind of traffic put into the capture.
type classStats struct {
	Connections int64 `json:"connections"` // begun (bulk ones also before the capture)
	Packets     int64 `json:"packets"`
	Bytes       int64 `json:"bytes"` // frame bytes
}

// source is anything that writes packets over time: a connection, a
// replica, a spawner of connections.
type source interface {
	time() int64 // when the next packet goes
	emit(g *Gen) bool
}

// Gen is one generation run.
type Gen struct {
	cfg       Config
	mix       *Mix
	rng       *rand.Rand
	w         *pcapWriter
	pool      []byte
	frame     []byte
	h         sched
	seq       uint64
	manifest  Manifest
	draining  bool
	nextPlant int64
	originals []*original
	order     []int
	orderPos  int
	live      int   // replicas playing
	t0        int64 // the capture begins: earlier packets are not written
	ports     []uint16
}

const (
	nClients = 4000
	warmUp   = 3e9 // ns of bulk traffic before the capture begins
)

// Generate writes a capture to w.
func Generate(cfg Config, w io.Writer) (m *Manifest, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(writeError)
			if !ok {
				panic(r)
			}
			m, err = nil, e.err
		}
	}()
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("size %d", cfg.Size)
	}
	if cfg.LinkRate <= 0 {
		cfg.LinkRate = DefaultConfig().LinkRate
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultConfig().Start
	}
	mix, err := LookupMix(cfg.Mix)
	if err != nil {
		return nil, err
	}
	pw, err := newPcapWriter(w)
	if err != nil {
		return nil, err
	}
	g := &Gen{
		cfg:   cfg,
		mix:   mix,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x62656e6368)),
		w:     pw,
		pool:  filler,
		frame: make([]byte, 1<<17),
		ports: make([]uint16, nClients),
		manifest: Manifest{
			Version: Version, Seed: cfg.Seed, Only: cfg.Classes, Mix: cfg.Mix, Size: cfg.Size, LinkRate: cfg.LinkRate, PlantEvery: cfg.PlantEvery,
			Start: cfg.Start.UTC(), Classes: map[string]*classStats{},
		},
	}
	for i := range g.ports {
		g.ports[i] = uint16(32768 + g.rng.IntN(28232))
	}
	if cfg.Originals != "" && cfg.PlantEvery > 0 {
		paths, err := Originals(cfg.Originals)
		if err != nil {
			return nil, err
		}
		for i, p := range paths {
			o, err := loadOriginal(p)
			if err != nil {
				return nil, err
			}
			g.originals = append(g.originals, o)
			g.order = append(g.order, i)
		}
		g.orderPos = len(g.order)
		g.nextPlant = cfg.PlantEvery / 2
	}
	g.t0 = cfg.Start.UnixNano()
	gib := float64(1 << 30)
	bytesPerSec := cfg.LinkRate / 8
	for _, c := range classes {
		if len(cfg.Classes) > 0 && !slices.Contains(cfg.Classes, c.name) {
			continue
		}
		w := mix.weight(c.name)
		if w == 0 {
			continue
		}
		// connections per second of capture time
		rate := w * c.perGiB * bytesPerSec / gib
		at := g.t0
		if c.bulk {
			// bulk flows last seconds: start them before the capture does,
			// so that it begins in the steady state, mid-transfer
			at -= warmUp
		}
		g.push(&spawner{at: at + int64(g.rng.ExpFloat64()/rate*1e9), mean: 1e9 / rate, c: c, st: g.class(c.name), r: g.child()})
	}
	for g.h.len() > 0 {
		src := g.h.pop()
		if g.draining {
			if _, ok := src.(*replay); !ok {
				continue
			}
		}
		if src.emit(g) {
			g.push(src)
		}
		if !g.draining && g.w.bytes >= cfg.Size {
			g.draining = true
		}
	}
	if err := g.w.flush(); err != nil {
		return nil, err
	}
	m = &g.manifest
	m.Bytes, m.Packets = g.w.bytes, g.w.packets
	m.End = time.Unix(0, g.w.last).UTC()
	for _, c := range m.Classes {
		m.Connections += c.Connections
	}
	return m, nil
}

// child makes the random source of one connection: what happens inside it
// does not depend on what else is in flight.
func (g *Gen) child() *rand.Rand {
	return rand.New(rand.NewPCG(g.rng.Uint64(), g.rng.Uint64()))
}

func (g *Gen) class(name string) *classStats {
	s := g.manifest.Classes[name]
	if s == nil {
		s = &classStats{}
		g.manifest.Classes[name] = s
	}
	return s
}

func (g *Gen) push(s source) {
	g.seq++
	g.h.push(s, g.seq)
}

// write records one frame; planting happens on the byte count.
func (g *Gen) write(ts int64, frame []byte, st *classStats) {
	if ts < g.t0 {
		return
	}
	if err := g.w.record(ts, frame); err != nil {
		panic(writeError{err})
	}
	st.Packets++
	st.Bytes += int64(len(frame))
	if g.cfg.PlantEvery > 0 && !g.draining && g.w.bytes >= g.nextPlant {
		g.nextPlant += g.cfg.PlantEvery
		g.plant(g.w.last)
	}
}

type writeError struct{ err error }

// spawner starts connections of one class at Poisson times.
type spawner struct {
	at   int64
	mean float64 // ns between arrivals
	c    *class
	st   *classStats
	r    *rand.Rand
}

func (s *spawner) time() int64 { return s.at }

func (s *spawner) emit(g *Gen) bool {
	src := s.c.spawn(g, rand.New(rand.NewPCG(s.r.Uint64(), s.r.Uint64())), s.at, s.st)
	if src != nil {
		s.st.Connections++
		g.push(src)
	}
	s.at += int64(s.r.ExpFloat64()*s.mean) + 1
	return true
}

// sched is a binary heap of sources by (time, arrival order).
type sched struct {
	s   []source
	seq []uint64
	at  []int64
}

func (h *sched) len() int { return len(h.s) }

func (h *sched) less(i, j int) bool {
	return h.at[i] < h.at[j] || h.at[i] == h.at[j] && h.seq[i] < h.seq[j]
}

func (h *sched) swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	h.seq[i], h.seq[j] = h.seq[j], h.seq[i]
	h.at[i], h.at[j] = h.at[j], h.at[i]
}

func (h *sched) push(s source, seq uint64) {
	h.s = append(h.s, s)
	h.seq = append(h.seq, seq)
	h.at = append(h.at, s.time())
	for i := len(h.s) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *sched) pop() source {
	top := h.s[0]
	n := len(h.s) - 1
	h.swap(0, n)
	h.s[n] = nil
	h.s, h.seq, h.at = h.s[:n], h.seq[:n], h.at[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return top
}

// Addresses. Clients live in 10.1.0.0/20 (and fd00:10:1::/64); file
// servers, DNS and NTP in 10.0.0.0/24; internal web, SSH, database and
// cache servers in 10.0.2-6.0/24; the Internet is a few real prefixes.
func (g *Gen) client(r *rand.Rand, v6 bool) (host, uint16) {
	i := r.IntN(nClients)
	ttl := uint8(128) // Windows
	if i%3 == 0 {
		ttl = 64
	}
	var ip netip.Addr
	if v6 {
		ip = netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
	} else {
		ip = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	g.ports[i]++
	if g.ports[i] < 32768 || g.ports[i] > 60999 {
		g.ports[i] = 32768
	}
	return newHost(ip, ttl), g.ports[i]
}

func lan(b3, b4 byte, v6 bool) host {
	if v6 {
		return newHost(netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b3, b4}), 128)
	}
	return newHost(netip.AddrFrom4([4]byte{10, 0, b3, b4}), 128)
}

var internet4 = [][2]byte{{142, 250}, {151, 101}, {104, 16}, {13, 107}, {52, 97}, {23, 55}, {185, 199}, {140, 82}, {20, 190}, {172, 217}}

func internetHost(r *rand.Rand, v6 bool) host {
	if v6 {
		prefixes := [][4]byte{{0x26, 0x06, 0x47, 0x00}, {0x2a, 0x00, 0x14, 0x50}, {0x26, 0x20, 0x01, 0xec}}
		p := prefixes[r.IntN(len(prefixes))]
		var a [16]byte
		copy(a[:4], p[:])
		a[13], a[14], a[15] = byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())
		return newHost(netip.AddrFrom16(a), 57)
	}
	p := internet4[r.IntN(len(internet4))]
	return newHost(netip.AddrFrom4([4]byte{p[0], p[1], byte(r.Uint32()), byte(1 + r.IntN(254))}), 57)
}

func lanRTT(r *rand.Rand) int64 { return us(r, 80, 1500) }
func wanRTT(r *rand.Rand) int64 { return us(r, 3000, 150000) }

// lanRate and wanRate are the pace of one flow, in ns per byte: 50 to
// 800 Mbit/s inside, 5 to 200 Mbit/s to the Internet.
func lanRate(r *rand.Rand) float64 { return rate(r, 50e6, 800e6) }
func wanRate(r *rand.Rand) float64 { return rate(r, 5e6, 200e6) }

func rate(r *rand.Rand, lo, hi float64) float64 {
	return 8e9 / math.Exp(math.Log(lo)+r.Float64()*(math.Log(hi)-math.Log(lo)))
}

func ends(r *rand.Rand, fin, rstp int) int {
	x := r.IntN(100)
	switch {
	case x < fin:
		return endFIN
	case x < fin+rstp:
		return endRST
	}
	return endCut
}
