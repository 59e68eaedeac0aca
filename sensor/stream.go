package sensor

import (
	"time"
)

// stream reassembles one direction of a TCP connection (RFC 9293 3.4
// sequence numbers) and hands the in-order bytes to the connection's
// consumer. It copies bytes only when a consumer leaves part of a message
// unconsumed or a segment arrives early; everything else is passed through
// from the packet buffer.
type stream struct {
	next     uint32 // sequence number of the next byte wanted
	seqKnown bool
	buf      []byte    // in-order bytes the consumer has not consumed yet
	ooo      []segment // early segments, kept in arrival order (few)
	oooBytes int
	acked    uint32 // highest acknowledgement the peer sent for this direction
	ackKnown bool
}

type segment struct {
	seq  uint32
	data []byte
}

// limits bound what one stream may hold.
type limits struct {
	maxBuffer   int // unconsumed bytes per direction
	maxOOOSegs  int // early segments per direction
	maxOOOBytes int // early bytes per direction
}

// consumer is where a stream's bytes go: one direction of one flow. It is
// passed by value so that no closure is allocated per packet.
type consumer struct {
	s        *Sensor
	f        *flow
	toServer bool
}

// deliver feeds bytes to the flow and returns what was consumed; a result
// beyond len(b) skips the excess.
func (c consumer) deliver(b []byte, ts time.Time) int { return c.s.deliver(c.f, c.toServer, b, ts) }

// gap tells the flow that bytes were lost.
func (c consumer) gap(ts time.Time) { c.s.gap(c.f, c.toServer, ts) }

// segment handles one TCP segment's payload.
func (s *stream) segment(seq uint32, payload []byte, ts time.Time, lim *limits, st *Stats, out consumer) {
	if len(payload) == 0 {
		return
	}
	if !s.seqKnown {
		// capture began mid-connection (or after a truncated packet): take
		// this segment as the start; the consumer resynchronises
		s.next, s.seqKnown = seq, true
	}
	rel := int32(seq - s.next)
	switch {
	case rel < 0:
		// retransmission or overlap: keep only bytes not yet seen
		if int(-rel) >= len(payload) {
			st.Retransmitted++
			return
		}
		payload = payload[-rel:]
	case rel > 0:
		s.early(seq, payload, ts, lim, st, out)
		return
	}
	s.inOrder(payload, ts, lim, st, out)
	s.drain(ts, lim, st, out)
}

// inOrder appends bytes that start exactly at s.next.
func (s *stream) inOrder(payload []byte, ts time.Time, lim *limits, st *Stats, out consumer) {
	s.next += uint32(len(payload))
	if len(s.buf) == 0 {
		n := out.deliver(payload, ts)
		s.consumed(n, len(payload), payload, lim, st, out, ts)
		return
	}
	if len(s.buf)+len(payload) > lim.maxBuffer {
		// the consumer wants more than we may hold: lose the message
		st.BufferLimitHits++
		s.buf = s.buf[:0]
		out.gap(ts)
		n := out.deliver(payload, ts)
		s.consumed(n, len(payload), payload, lim, st, out, ts)
		return
	}
	s.buf = append(s.buf, payload...)
	n := out.deliver(s.buf, ts)
	s.consumed(n, len(s.buf), s.buf, lim, st, out, ts)
}

// consumed keeps the unconsumed tail of b (which may be s.buf itself), or
// turns an over-consumption into a skip of bytes not yet arrived.
func (s *stream) consumed(n, have int, b []byte, lim *limits, st *Stats, out consumer, ts time.Time) {
	switch {
	case n >= have:
		s.buf = s.buf[:0]
		if cap(s.buf) > 64<<10 {
			s.buf = nil // a large message passed: give its memory back
		}
		if skip := n - have; skip > 0 {
			// bytes to pass over unseen: move the wanted sequence number
			// past them, so they cost nothing when they come (in order or
			// not), and early segments inside them are dropped
			s.next += uint32(skip)
			st.SkippedBytes += uint64(skip)
		}
	case n <= 0 && have > lim.maxBuffer:
		st.BufferLimitHits++
		s.buf = s.buf[:0]
		out.gap(ts)
	default:
		if n < 0 {
			n = 0
		}
		rest := b[n:]
		if len(s.buf) > 0 && &b[0] == &s.buf[0] {
			s.buf = s.buf[:copy(s.buf, rest)]
		} else {
			s.buf = append(s.buf[:0], rest...)
		}
	}
}

// early keeps a segment that arrived before the bytes preceding it. When
// the limits are reached the missing bytes are taken as lost: a gap is
// declared, the stream goes on from the earliest segment held, and this
// one is tried again.
func (s *stream) early(seq uint32, payload []byte, ts time.Time, lim *limits, st *Stats, out consumer) {
	if s.ackKnown && s.lostBelow(s.acked, seq, ts, st, out) {
		s.drain(ts, lim, st, out)
		s.segment(seq, payload, ts, lim, st, out)
		return
	}
	if len(s.ooo) >= lim.maxOOOSegs || s.oooBytes+len(payload) > lim.maxOOOBytes {
		st.OutOfOrderLimitHits++
		if len(s.ooo) == 0 {
			st.Gaps++
			s.buf = s.buf[:0]
			out.gap(ts)
			s.next = seq
			s.inOrder(payload, ts, lim, st, out)
			return
		}
		s.skipGap(ts, st, out)
		s.drain(ts, lim, st, out) // frees at least the earliest segment
		s.segment(seq, payload, ts, lim, st, out)
		return
	}
	st.OutOfOrder++
	s.ooo = append(s.ooo, segment{seq: seq, data: append([]byte(nil), payload...)})
	s.oooBytes += len(payload)
}

// ack records the peer's acknowledgement of this direction's bytes. Bytes
// the peer acknowledged that the capture never had are lost for good (no
// retransmission will come): the gap is declared now rather than when the
// out-of-order limits run out, so the carrier stays in step.
func (s *stream) ack(ack uint32, ts time.Time, lim *limits, st *Stats, out consumer) {
	if !s.seqKnown {
		return
	}
	if !s.ackKnown || int32(ack-s.acked) > 0 {
		s.acked, s.ackKnown = ack, true
	}
	if len(s.ooo) > 0 && s.lostBelow(ack, s.ooo[0].seq, ts, st, out) {
		s.drain(ts, lim, st, out)
	}
}

// lostBelow declares the bytes from s.next up to the acknowledged point
// lost, when there are any, and moves s.next past them (not beyond the
// next byte we hold, at). It reports whether it did.
func (s *stream) lostBelow(acked, at uint32, ts time.Time, st *Stats, out consumer) bool {
	d := int32(acked - s.next)
	if d <= 0 || d > 1<<30 {
		return false // nothing acknowledged beyond what we have, or nonsense
	}
	for _, g := range s.ooo {
		if int32(g.seq-at) < 0 {
			at = g.seq
		}
	}
	if int32(at-acked) < 0 {
		acked = at
	}
	st.Gaps++
	s.buf = s.buf[:0]
	out.gap(ts)
	s.next = acked
	return true
}

// skipGap jumps to the earliest early segment, telling the consumer.
func (s *stream) skipGap(ts time.Time, st *Stats, out consumer) {
	st.Gaps++
	s.buf = s.buf[:0]
	out.gap(ts)
	if len(s.ooo) == 0 {
		return
	}
	min := s.ooo[0].seq
	for _, g := range s.ooo[1:] {
		if int32(g.seq-min) < 0 {
			min = g.seq
		}
	}
	if int32(min-s.next) > 0 {
		s.next = min
	}
}

// drain delivers early segments that have become in order.
func (s *stream) drain(ts time.Time, lim *limits, st *Stats, out consumer) {
	for progressed := true; progressed && len(s.ooo) > 0; {
		progressed = false
		for i := 0; i < len(s.ooo); i++ {
			g := s.ooo[i]
			rel := int32(g.seq - s.next)
			if rel > 0 {
				continue
			}
			s.ooo = append(s.ooo[:i], s.ooo[i+1:]...)
			s.oooBytes -= len(g.data)
			i--
			if int(-rel) >= len(g.data) {
				continue // wholly old: already seen or skipped
			}
			s.inOrder(g.data[-rel:], ts, lim, st, out)
			progressed = true
		}
	}
}

// flushGap is called when the connection ends with bytes still missing:
// the early segments are delivered after a gap.
func (s *stream) flushGap(ts time.Time, lim *limits, st *Stats, out consumer) {
	for len(s.ooo) > 0 {
		s.skipGap(ts, st, out)
		s.drain(ts, lim, st, out)
	}
}

// held is the memory the stream holds: its buffer's capacity and the early
// segments.
func (s *stream) held() int { return cap(s.buf) + s.oooBytes }

// drop frees what the stream holds (the total memory limit was reached).
func (s *stream) drop(ts time.Time, st *Stats, out consumer) {
	s.buf, s.ooo, s.oooBytes = nil, nil, 0
	st.Gaps++
	out.gap(ts)
	s.seqKnown = false // resynchronise on the next segment
}

// release forgets everything, for a flow nobody follows.
func (s *stream) release() {
	s.buf, s.ooo, s.oooBytes = nil, nil, 0
}
