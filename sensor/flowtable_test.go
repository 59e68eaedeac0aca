package sensor

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"
)

// TestFlowTableAgainstMap inserts, finds and removes at random, with hash
// values squeezed into few bits so that probe runs collide and wrap around
// the end of the table: every entry must stay reachable, none may appear.
func TestFlowTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	var tab flowTable
	tab.init(400)
	want := map[flowKey]uint32{}
	var keys []flowKey
	for step := 0; step < 200_000; step++ {
		switch op := rng.IntN(10); {
		case op < 6 && tab.count < 400:
			k, _ := makeKey(netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(256))}), netip.MustParseAddr("192.0.2.1"), uint16(rng.IntN(64)), 445, 6)
			h := k.hash()
			h = h&^(0xffff<<48) | (h & 0xf << 60) // few distinct top bits: long runs
			if h == 0 {
				h = 1
			}
			i, found := tab.find(h, &k)
			if _, ok := want[k]; ok != found {
				t.Fatalf("step %d: find says %v, map says %v", step, found, ok)
			}
			if !found {
				id := uint32(rng.IntN(1000))
				tab.insert(i, h, &k, id, 0)
				want[k] = id
				keys = append(keys, k)
			}
		case len(keys) > 0:
			j := rng.IntN(len(keys))
			k := keys[j]
			keys[j] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			found := false
			for i := range tab.slots {
				if s := &tab.slots[i]; s.hash != 0 && s.key == k {
					if s.id != want[k] {
						t.Fatalf("step %d: id %d, want %d", step, s.id, want[k])
					}
					tab.removeAt(i)
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("step %d: key lost", step)
			}
			delete(want, k)
		}
		if tab.count != len(want) {
			t.Fatalf("step %d: count %d, want %d", step, tab.count, len(want))
		}
	}
	// every remaining key is found from its ideal slot
	for i := range tab.slots {
		if s := &tab.slots[i]; s.hash != 0 {
			if j, ok := tab.find(s.hash, &s.key); !ok || j != i {
				t.Fatalf("slot %d unreachable", i)
			}
		}
	}
}

// TestFlowTableExpiry: ignored connections leave after their timeout,
// tracked ones (with a flow id) are left to the idle list.
func TestFlowTableExpiry(t *testing.T) {
	var tab flowTable
	tab.init(100)
	for i := 0; i < 100; i++ {
		proto := uint8(6)
		if i%2 == 0 {
			proto = 17
		}
		k, _ := makeKey(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), netip.MustParseAddr("192.0.2.1"), 1000, 53, proto)
		id := uint32(0)
		if i%10 == 0 {
			id = uint32(i + 1)
		}
		j, _ := tab.find(k.hash(), &k)
		tab.insert(j, k.hash(), &k, id, 0)
	}
	// at t=40: UDP (30 s) ignored ones go, TCP (300 s) stay
	removed := tab.expireIgnored(len(tab.slots), 40, 300, 30)
	if removed != 40 || tab.count != 60 {
		t.Fatalf("removed %d, left %d; want 40, 60", removed, tab.count)
	}
	if !tab.evictIgnored(len(tab.slots)) || tab.count != 59 {
		t.Fatalf("no ignored connection evicted (count %d)", tab.count)
	}
	removed = tab.expireIgnored(len(tab.slots), 400, 300, 30)
	if removed != 49 || tab.count != 10 {
		t.Fatalf("removed %d, left %d; want 49, 10 tracked", removed, tab.count)
	}
	if tab.evictIgnored(len(tab.slots)) {
		t.Fatal("evicted a tracked flow")
	}
}

// A slot is one cache line: a probe touches one.
func TestSlotIsACacheLine(t *testing.T) {
	if n := unsafe.Sizeof(slot{}); n != 64 {
		t.Fatalf("slot is %d bytes", n)
	}
}

// makeKey names a connection alike from both directions, and its IPv4
// shortcut gives the key the general form gives (an IPv4 address and its
// v4-mapped IPv6 form are one endpoint, as As16 makes them).
func TestMakeKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	slow := func(src, dst netip.Addr, sp, dp uint16) (flowKey, bool) {
		s, d := src.As16(), dst.As16()
		if c := bytes.Compare(s[:], d[:]); c < 0 || c == 0 && sp <= dp {
			return flowKey{a: s, b: d, ap: sp, bp: dp, proto: 6}, true
		}
		return flowKey{a: d, b: s, ap: dp, bp: sp, proto: 6}, false
	}
	for i := 0; i < 20000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), 0, byte(rng.IntN(3))})
		b := netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), 0, byte(rng.IntN(3))})
		if rng.IntN(4) == 0 {
			b = netip.AddrFrom16(b.As16()) // ::ffff:10.x.0.y
		}
		if rng.IntN(8) == 0 {
			a = netip.MustParseAddr("2001:db8::1")
		}
		sp, dp := uint16(rng.IntN(3)), uint16(rng.IntN(3))
		k, srcIsA := makeKey(a, b, sp, dp, 6)
		wk, wa := slow(a, b, sp, dp)
		if k != wk || srcIsA != wa {
			t.Fatalf("%v:%d -> %v:%d: key %v %v, want %v %v", a, sp, b, dp, k, srcIsA, wk, wa)
		}
		r, rIsA := makeKey(b, a, dp, sp, 6)
		if r != k || (rIsA == srcIsA && (a.As16() != b.As16() || sp != dp)) || r.hash() != k.hash() {
			t.Fatalf("%v:%d -> %v:%d: not symmetric", a, sp, b, dp)
		}
	}
}

// BenchmarkFlowTable: one op finds one of 100 000 connections (a table
// bigger than the cache, as on a busy link), inserting it the first time.
func BenchmarkFlowTable(b *testing.B) {
	var tab flowTable
	tab.init(200_000)
	keys := make([]flowKey, 100_000)
	hashes := make([]uint64, len(keys))
	for i := range keys {
		keys[i], _ = makeKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), netip.MustParseAddr("192.0.2.1"), uint16(i), 443, 6)
		hashes[i] = keys[i].hash()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i * 7919 % len(keys)
		if j, found := tab.find(hashes[k], &keys[k]); !found {
			tab.insert(j, hashes[k], &keys[k], 0, 0)
		}
	}
}

// flowKey.equal is ==, for keys that differ in any one byte or field.
func TestFlowKeyEqual(t *testing.T) {
	base, _ := makeKey(netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 1000, 445, 6)
	variants := []flowKey{base}
	for i := 0; i < 16; i++ {
		v := base
		v.a[i]++
		variants = append(variants, v)
		v = base
		v.b[i]++
		variants = append(variants, v)
	}
	v := base
	v.ap++
	variants = append(variants, v)
	v = base
	v.bp++
	variants = append(variants, v)
	v = base
	v.proto = 17
	variants = append(variants, v)
	for i := range variants {
		for j := range variants {
			if variants[i].equal(&variants[j]) != (variants[i] == variants[j]) {
				t.Fatalf("variants %d and %d: equal says %v", i, j, variants[i].equal(&variants[j]))
			}
		}
	}
}

// A table that grows past 2 MiB lives in mapped memory: every entry
// survives each move to a larger mapping (the old one is unmapped), and a
// dropped table is unmapped by the garbage collector without harm.
func TestFlowTableMapped(t *testing.T) {
	for round := 0; round < 2; round++ {
		var tab flowTable
		tab.init(200_000)
		keys := make([]flowKey, 100_000)
		for i := range keys {
			keys[i], _ = makeKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), netip.MustParseAddr("192.0.2.1"), uint16(i), 443, 6)
			j, _ := tab.find(keys[i].hash(), &keys[i])
			tab.insert(j, keys[i].hash(), &keys[i], uint32(i+1), 0)
		}
		if tab.mem == nil && runtime.GOOS == "linux" {
			t.Fatalf("a table of %d slots is not mapped", len(tab.slots))
		}
		for i := range keys {
			if j, ok := tab.find(keys[i].hash(), &keys[i]); !ok || tab.slots[j].id != uint32(i+1) {
				t.Fatalf("key %d lost", i)
			}
		}
	}
	runtime.GC()
	runtime.GC()
}
