package sensor

import (
	"net/netip"
	"time"

	"ntlmsensor/sensor/auth"
)

// flowKey names a connection the same way from both directions: the
// smaller endpoint first.
type flowKey struct {
	a, b   [16]byte
	ap, bp uint16
	proto  uint8
}

func makeKey(src, dst netip.Addr, sp, dp uint16, proto uint8) (k flowKey, srcIsA bool) {
	s, d := src.As16(), dst.As16()
	if c := compare16(&s, &d); c < 0 || (c == 0 && sp <= dp) {
		return flowKey{a: s, b: d, ap: sp, bp: dp, proto: proto}, true
	}
	return flowKey{a: d, b: s, ap: dp, bp: sp, proto: proto}, false
}

func compare16(x, y *[16]byte) int {
	for i := range x {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

type flowState uint8

const (
	detecting flowState = iota
	active
	ignored
)

// flow is one TCP connection or UDP conversation.
type flow struct {
	key       flowKey
	aIsClient bool // key.a is the client
	udp       bool
	state     flowState
	carrier   *auth.Carrier
	handler   auth.Handler
	conn      *auth.Conn
	dir       [2]stream // [0] client→server, [1] server→client
	finRst    uint8     // FIN seen per direction (bits 0,1); RST sets both
	held      int       // bytes of this flow on the sensor's memory account
	last      time.Time
	moved     time.Time // when the flow last moved to the back of the idle list

	prev, next   *flow // in the idle list, oldest first
	hprev, hnext *flow // in the list of flows holding bytes, oldest first
}

// flowList is the intrusive doubly linked list of flows, least recently
// seen first: idle expiry and eviction take from the front.
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
