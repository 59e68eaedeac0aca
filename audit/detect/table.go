package detect

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// table is a bounded map from an xxhash key to state that lives for one
// window from its creation. Entries leave in creation order (a FIFO): when
// their window is over, or, when the table is full, the oldest first (a
// limit hit, counted). Order depends only on the input sequence, so the
// same findings give the same alerts however many workers read them.
type table[V any] struct {
	m      map[uint64]*entry[V]
	q      []*entry[V] // creation order; q[head:] are live or stale
	head   int
	max    int
	window time.Duration
	hits   *uint64 // limit hits: live entries evicted because the table was full
}

type entry[V any] struct {
	key   uint64
	start time.Time
	v     V
}

func newTable[V any](max int, window time.Duration, hits *uint64) *table[V] {
	return &table[V]{m: make(map[uint64]*entry[V]), max: max, window: window, hits: hits}
}

// expire drops the entries whose window ended before now.
func (t *table[V]) expire(now time.Time) {
	for t.head < len(t.q) {
		e := t.q[t.head]
		if now.Sub(e.start) <= t.window {
			break
		}
		t.pop()
	}
}

func (t *table[V]) pop() {
	e := t.q[t.head]
	t.q[t.head] = nil
	t.head++
	if t.m[e.key] == e {
		delete(t.m, e.key)
	}
	if t.head > 1024 && t.head*2 > len(t.q) {
		t.q = append(t.q[:0], t.q[t.head:]...)
		t.head = 0
	}
}

// get returns the live entry for k, or nil.
func (t *table[V]) get(k uint64, now time.Time) *entry[V] {
	t.expire(now)
	return t.m[k]
}

// put makes a new entry for k (replacing any), evicting the oldest when full.
func (t *table[V]) put(k uint64, now time.Time) *entry[V] {
	t.expire(now)
	for len(t.m) >= t.max && t.head < len(t.q) {
		if e := t.q[t.head]; t.m[e.key] == e {
			*t.hits++
		}
		t.pop()
	}
	e := &entry[V]{key: k, start: now}
	t.m[k] = e
	t.q = append(t.q, e)
	return e
}

// pop1 forgets e (its queue slot goes when it reaches the front).
func (t *table[V]) pop1(e *entry[V]) {
	if t.m[e.key] == e {
		delete(t.m, e.key)
	}
}

// getOrPut returns the live entry for k, making it when there is none.
func (t *table[V]) getOrPut(k uint64, now time.Time) (e *entry[V], fresh bool) {
	if e = t.get(k, now); e != nil {
		return e, false
	}
	return t.put(k, now), true
}

func (t *table[V]) reset() {
	clear(t.m)
	clear(t.q)
	t.q, t.head = t.q[:0], 0
}

// key hashes an address and strings (lower-cased, NUL-separated) with xxhash.
func key(a netip.Addr, parts ...string) uint64 {
	var d xxhash.Digest
	d.Reset()
	if a.IsValid() {
		b := a.Unmap().As16()
		_, _ = d.Write(b[:])
	}
	var buf [64]byte
	for _, p := range parts {
		_, _ = d.Write([]byte{0})
		for len(p) > 0 {
			n := 0
			for n < len(buf)-utf8.UTFMax && len(p) > 0 {
				r, size := utf8.DecodeRuneInString(p)
				p = p[size:]
				n += utf8.EncodeRune(buf[n:], toLower(r))
			}
			_, _ = d.Write(buf[:n])
		}
	}
	return d.Sum64()
}

func toLower(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return []rune(strings.ToLower(string(r)))[0]
}
