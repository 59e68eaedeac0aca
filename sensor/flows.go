package sensor

import (
	"encoding/binary"
	"net/netip"

	"github.com/cespare/xxhash/v2"

	"ntlmsensor/decoders/carrier"
)

// flowKey names a connection the same way from both directions: the
// smaller endpoint first.
type flowKey struct {
	a, b   [16]byte
	ap, bp uint16
	proto  uint8
}

func makeKey(src, dst netip.Addr, sp, dp uint16, proto uint8) (k flowKey, srcIsA bool) {
	if src.Is4() && dst.Is4() {
		// the common case, compared as two numbers
		s4, d4 := src.As4(), dst.As4()
		su, du := binary.BigEndian.Uint32(s4[:]), binary.BigEndian.Uint32(d4[:])
		srcIsA = su < du || su == du && sp <= dp
		if !srcIsA {
			s4, d4, sp, dp = d4, s4, dp, sp
		}
		k = flowKey{ap: sp, bp: dp, proto: proto}
		k.a[10], k.a[11], k.b[10], k.b[11] = 0xff, 0xff, 0xff, 0xff // v4-mapped, as As16 gives them
		copy(k.a[12:], s4[:])
		copy(k.b[12:], d4[:])
		return k, srcIsA
	}
	s, d := src.As16(), dst.As16()
	return keyOf(&s, &d, sp, dp, proto)
}

// keyOf is makeKey for addresses in their 16-byte form.
func keyOf(s, d *[16]byte, sp, dp uint16, proto uint8) (k flowKey, srcIsA bool) {
	// big-endian halves compare as the bytes do
	sh, sl := binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:])
	dh, dl := binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
	if sh < dh || sh == dh && (sl < dl || sl == dl && sp <= dp) {
		return flowKey{a: *s, b: *d, ap: sp, bp: dp, proto: proto}, true
	}
	return flowKey{a: *d, b: *s, ap: dp, bp: sp, proto: proto}, false
}

// hash is the flow's xxhash, the same from both directions; never 0 (the
// flow table's empty mark). IPv4 addresses (v4-mapped in the key) are
// hashed without their constant prefix: 16 bytes in, a faster hash.
func (k *flowKey) hash() uint64 {
	var buf [40]byte
	var in []byte
	ports := uint64(k.ap)<<24 | uint64(k.bp)<<8 | uint64(k.proto)
	if isV4Mapped(&k.a) && isV4Mapped(&k.b) {
		binary.LittleEndian.PutUint64(buf[0:], uint64(binary.LittleEndian.Uint32(k.a[12:]))<<32|uint64(binary.LittleEndian.Uint32(k.b[12:])))
		binary.LittleEndian.PutUint64(buf[8:], ports)
		in = buf[:16]
	} else {
		copy(buf[0:16], k.a[:])
		copy(buf[16:32], k.b[:])
		binary.LittleEndian.PutUint64(buf[32:], ports)
		in = buf[:40]
	}
	if h := xxhash.Sum64(in); h != 0 {
		return h
	}
	return 1
}

// equal is k == o, word by word: the compiler's equality for the struct
// calls memequal, which costs more than the probe it serves.
func (k *flowKey) equal(o *flowKey) bool {
	le := binary.LittleEndian
	return le.Uint64(k.a[8:]) == le.Uint64(o.a[8:]) && le.Uint64(k.b[8:]) == le.Uint64(o.b[8:]) &&
		k.ap == o.ap && k.bp == o.bp && k.proto == o.proto &&
		le.Uint64(k.a[:8]) == le.Uint64(o.a[:8]) && le.Uint64(k.b[:8]) == le.Uint64(o.b[:8])
}

// isV4Mapped: ::ffff:a.b.c.d (RFC 4291 2.5.5.2), as netip.Addr.As16 gives IPv4.
func isV4Mapped(a *[16]byte) bool {
	return binary.LittleEndian.Uint64(a[:8]) == 0 && binary.LittleEndian.Uint32(a[8:12]) == 0xffff0000
}

type flowState uint8

const (
	detecting flowState = iota
	active
	ignored
	closed // back on the free list
)

// flow is one TCP connection or UDP conversation.
type flow struct {
	key       flowKey
	hash      uint64 // key.hash()
	id        uint32 // number in the sensor's arena, from 1
	aIsClient bool   // key.a is the client
	udp       bool
	state     flowState
	carrier   *carrier.Carrier
	handler   carrier.Handler
	conn      *carrier.Conn
	dir       [2]stream // [0] client→server, [1] server→client
	finRst    uint8     // FIN seen per direction (bits 0,1); RST sets both
	held      int       // bytes of this flow on the sensor's memory account
	last      int64     // packet time last seen (Unix ns)
	moved     int64     // when the flow last moved to the back of the idle list

	prev, next   *flow // in the idle list, oldest first
	hprev, hnext *flow // in the list of flows holding bytes, oldest first
}

// flowList is the intrusive doubly linked list of tracked flows, least
// recently seen first: idle expiry and eviction take from the front.
type flowList struct{ head, tail *flow }

func (l *flowList) pushBack(f *flow) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *flowList) remove(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (l *flowList) touch(f *flow) {
	if l.tail == f {
		return
	}
	l.remove(f)
	l.pushBack(f)
}

// holderList is the intrusive list of flows that hold buffered bytes, in
// the order they began to: under memory pressure the oldest give first.
type holderList struct{ head, tail *flow }

func (l *holderList) pushBack(f *flow) {
	f.hprev, f.hnext = l.tail, nil
	if l.tail != nil {
		l.tail.hnext = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *holderList) remove(f *flow) {
	if f.hprev != nil {
		f.hprev.hnext = f.hnext
	} else {
		l.head = f.hnext
	}
	if f.hnext != nil {
		f.hnext.hprev = f.hprev
	} else {
		l.tail = f.hprev
	}
	f.hprev, f.hnext = nil, nil
}
