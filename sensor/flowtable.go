package sensor

import (
	"unsafe"

	"ntlmsensor/internal/prefetch"
)

// flowTable maps connections to their state: open addressing with linear
// probing over 64-byte slots (one cache line), indexed by the top bits of
// the flow's hash, deleted by backward shift (no tombstones).
//
// Most connections on a link carry no authentication (DNS, TLS, bulk
// transfers). Once one is ignored it keeps nothing but its slot: the key
// and the time it was last seen, no flow struct, no allocation. A packet of
// such a connection costs one probe that usually touches one cache line.
// Connections still detected or followed name their flow by its number in
// the sensor's flow arena: the slots hold no pointer, so the garbage
// collector never scans the table.
type flowTable struct {
	slots    []slot
	mem      *mapping // where slots lie when outside the Go heap
	shift    uint8    // 64 - log2(len(slots)): the index is hash >> shift
	count    int      // occupied slots
	maxSlots int      // the table grows up to this many slots
	cursor   int      // where the idle scan and eviction go on looking
}

type slot struct {
	hash uint64 // of key, never 0; 0 marks an empty slot
	key  flowKey
	last int64  // ignored connections: packet time last seen (Unix ns)
	id   uint32 // the flow's number in the arena; 0: an ignored connection
}

const minSlots = 1 << 10

// init sizes the table for at most maxFlows entries at a load of at most
// one half.
func (t *flowTable) init(maxFlows int) {
	t.maxSlots = minSlots
	for t.maxSlots < 2*maxFlows {
		t.maxSlots *= 2
	}
	t.resize(minSlots)
}

func (t *flowTable) resize(n int) {
	old, oldMem := t.slots, t.mem
	t.slots, t.mem = allocSlots(n)
	t.shift = 64
	for m := n; m > 1; m >>= 1 {
		t.shift--
	}
	t.cursor = 0
	for i := range old {
		if s := &old[i]; s.hash != 0 {
			j, _ := t.find(s.hash, &s.key)
			t.slots[j] = *s
		}
	}
	if old != nil {
		freeSlots(old, oldMem)
	}
}

// find returns the slot holding key, or the empty slot where it would go.
func (t *flowTable) find(h uint64, k *flowKey) (i int, found bool) {
	mask := len(t.slots) - 1
	for i = int(h >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.hash == h && s.key.equal(k) {
			return i, true
		}
		if s.hash == 0 {
			return i, false
		}
	}
}

// prefetch reads the slot where a flow's probe starts, so that its cache
// miss is under way while earlier packets are processed.
func (t *flowTable) prefetch(h uint64) {
	prefetch.Byte((*byte)(unsafe.Pointer(&t.slots[h>>t.shift])))
}

// insert fills the empty slot i (from find) and returns it; the table may
// grow, so the index is not valid afterwards.
func (t *flowTable) insert(i int, h uint64, k *flowKey, id uint32, last int64) {
	t.slots[i] = slot{hash: h, key: *k, id: id, last: last}
	t.count++
	if 2*t.count > len(t.slots) && len(t.slots) < t.maxSlots {
		t.resize(2 * len(t.slots))
	}
}

// removeAt empties slot i and moves later entries of its probe run back
// into the hole, so that every entry stays reachable from its ideal slot.
func (t *flowTable) removeAt(i int) {
	t.count--
	mask := len(t.slots) - 1
	for j := i; ; {
		t.slots[i] = slot{}
		for {
			j = (j + 1) & mask
			s := &t.slots[j]
			if s.hash == 0 {
				return
			}
			// s may fill the hole unless its ideal slot k lies cyclically in (i, j]
			k := int(s.hash >> t.shift)
			if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
				t.slots[i] = *s
				i = j
				break
			}
		}
	}
}

// expireIgnored looks at the next n slots and removes the ignored
// connections silent for longer than their timeout; it returns how many
// it removed. Tracked flows expire through the sensor's idle list.
func (t *flowTable) expireIgnored(n int, now, tcpIdle, udpIdle int64) (removed int) {
	for n > 0 {
		if t.cursor >= len(t.slots) {
			t.cursor = 0
		}
		s := &t.slots[t.cursor]
		if s.hash != 0 && s.id == 0 {
			idle := tcpIdle
			if s.key.proto == 17 {
				idle = udpIdle
			}
			if now-s.last >= idle {
				t.removeAt(t.cursor)
				removed++
				continue // another entry may have moved into this slot
			}
		}
		t.cursor++
		n--
	}
	return removed
}

// evictIgnored removes an ignored connection found within the next n
// slots, reporting whether there was one: a flow that makes room for
// another should be one that keeps nothing.
func (t *flowTable) evictIgnored(n int) bool {
	for ; n > 0; n-- {
		if t.cursor >= len(t.slots) {
			t.cursor = 0
		}
		if s := &t.slots[t.cursor]; s.hash != 0 && s.id == 0 {
			t.removeAt(t.cursor)
			return true
		}
		t.cursor++
	}
	return false
}

// clear empties the table, keeping its size.
func (t *flowTable) clear() {
	clear(t.slots)
	t.count, t.cursor = 0, 0
}
