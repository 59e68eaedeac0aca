package audit

// lru is a bounded table keyed by a 64-bit xxhash: a map to slots and a
// doubly linked list of the slots, most recently used first. When it is
// full, the least recently used slot is reused and counted in evicted.
// Callers keep their real key in V and check it: a hash collision reads
// as a miss.
type lru[V any] struct {
	max        int
	idx        map[uint64]int32
	ents       []lruEnt[V]
	head, tail int32 // -1: none
	evicted    uint64
}

type lruEnt[V any] struct {
	key        uint64
	prev, next int32
	v          V
}

func newLRU[V any](max int) *lru[V] {
	if max < 1 {
		max = 1
	}
	return &lru[V]{max: max, idx: make(map[uint64]int32), head: -1, tail: -1}
}

func (l *lru[V]) len() int { return len(l.idx) }

// peek returns the value under k without touching the order.
func (l *lru[V]) peek(k uint64) *V {
	i, ok := l.idx[k]
	if !ok {
		return nil
	}
	return &l.ents[i].v
}

// put returns the value under k, made the most recent, creating a zero one
// (fresh) when there is none; a full table gives up its oldest.
func (l *lru[V]) put(k uint64) (v *V, fresh bool) {
	if i, ok := l.idx[k]; ok {
		l.front(i)
		return &l.ents[i].v, false
	}
	var i int32
	if len(l.ents) < l.max {
		l.ents = append(l.ents, lruEnt[V]{prev: -1, next: -1})
		i = int32(len(l.ents) - 1)
	} else {
		i = l.tail
		l.unlink(i)
		delete(l.idx, l.ents[i].key)
		l.evicted++
		var zero V
		l.ents[i].v = zero
	}
	l.ents[i].key = k
	l.idx[k] = i
	l.pushFront(i)
	return &l.ents[i].v, true
}

// each calls fn on every value, most recent first.
func (l *lru[V]) each(fn func(*V)) {
	for i := l.head; i >= 0; i = l.ents[i].next {
		fn(&l.ents[i].v)
	}
}

func (l *lru[V]) reset() {
	clear(l.idx)
	l.ents = l.ents[:0]
	l.head, l.tail = -1, -1
}

func (l *lru[V]) front(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *lru[V]) unlink(i int32) {
	e := &l.ents[i]
	if e.prev >= 0 {
		l.ents[e.prev].next = e.next
	} else {
		l.head = e.next
	}
	if e.next >= 0 {
		l.ents[e.next].prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (l *lru[V]) pushFront(i int32) {
	e := &l.ents[i]
	e.prev, e.next = -1, l.head
	if l.head >= 0 {
		l.ents[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}
