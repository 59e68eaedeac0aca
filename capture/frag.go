package capture

import (
	"net/netip"
)

const (
	// maxDatagram bounds a reassembled payload: an IP total length is 16
	// bits, so anything reaching past it is a "ping of death".
	maxDatagram = 65535
	// maxFragments bounds the fragments of one datagram. A 64 KiB datagram
	// over the smallest IPv4 MTU (576) has ~120; more is an attack.
	maxFragments = 256
)

// fragKey identifies a datagram under reassembly: RFC 791 (source,
// destination, protocol, identification); RFC 8200 4.5 (source,
// destination, identification).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only
	v6       bool
}

type fragRange struct{ off, end int }

// datagram is one datagram under reassembly. Datagrams are linked in
// arrival order, which is also expiry order (same timeout for all).
type datagram struct {
	key        fragKey
	deadline   int64 // unix nanoseconds, packet time
	buf        []byte
	ranges     []fragRange
	got        int   // bytes received (ranges never overlap)
	total      int   // payload length, -1 until the last fragment arrives
	proto      uint8 // protocol of the fragmentable part (IPv6: from the offset-0 fragment)
	prev, next *datagram
}

// reassembler holds fragments until their datagram is complete. Overlaps
// are never resolved: as RFC 5722 requires for IPv6 (and Linux does for
// IPv4), a datagram with overlapping fragments is discarded whole, so no
// overlap policy can make us see bytes the receiving host did not. Exact
// duplicates (retransmissions) are dropped and the datagram kept.
type reassembler struct {
	limits         FragmentLimits
	disabled       bool
	table          map[fragKey]*datagram
	oldest, newest *datagram
	free           []*datagram
	bytes          int // capacity of the buffers of datagrams under reassembly
	retained       int // capacity of the buffers kept by free datagrams
	dropped        uint64
	// out[depth] holds the datagram completed at that encapsulation depth
	// in this Decode call; Packet.Payload may point into it.
	out [maxReassembleDepth][]byte
}

func (f *reassembler) init(l FragmentLimits) {
	if l.MaxDatagrams < 0 {
		f.disabled = true
	}
	if l.MaxDatagrams == 0 {
		l.MaxDatagrams = DefaultFragmentLimits.MaxDatagrams
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultFragmentLimits.MaxBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultFragmentLimits.Timeout
	}
	f.limits = l
	if !f.disabled {
		f.table = make(map[fragKey]*datagram, min(l.MaxDatagrams, 1024))
	}
}

// fragmentFollowed reports whether a fragmented datagram of this protocol
// could yield a packet; others (ICMP, ESP, ...) are not buffered.
func fragmentFollowed(proto uint8, v6 bool) bool {
	switch proto {
	case ipProtoTCP, ipProtoUDP, ipProtoGRE, ipProtoIPIP, ipProtoIPv6, ipProtoAH:
		return true
	case ipProtoDstOpts, ipProtoRouting:
		return v6
	}
	return false
}

// fragment adds one fragment (payload data at byte offset off; more = the
// MF/M flag) and, when it completes its datagram, decodes the datagram.
func (d *Decoder) fragment(k fragKey, off int, more bool, data []byte, proto uint8, p *Packet, depth int) Result {
	d.stats.Fragments++
	f := &d.frag
	if !fragmentFollowed(proto, k.v6) {
		return Skipped
	}
	if f.disabled || p.Truncated {
		// A snaplen-cut fragment cannot complete a datagram.
		f.dropped++
		return Skipped
	}
	end := off + len(data)
	// RFC 791/8200: every fragment but the last carries a multiple of 8 bytes.
	if (more && (len(data) == 0 || len(data)%8 != 0)) || end > maxDatagram {
		f.dropped++
		return Malformed
	}
	dg := f.table[k]
	if dg == nil {
		dg = f.start(k, d.now)
	}
	for _, r := range dg.ranges {
		if off < r.end && r.off < end {
			if off == r.off && end == r.end {
				f.dropped++ // duplicate: the first copy stays
				return Held
			}
			f.dropped++
			f.drop(dg)
			return Malformed
		}
	}
	switch {
	case !more && dg.total >= 0 && dg.total != end,
		more && dg.total >= 0 && end > dg.total,
		!more && dg.got > 0 && f.maxEnd(dg) > end:
		// Two different last fragments, or data past the end.
		f.dropped++
		f.drop(dg)
		return Malformed
	case len(dg.ranges) == maxFragments:
		f.dropped++
		f.drop(dg)
		return Skipped
	}
	if !f.fit(dg, end) {
		f.dropped++
		f.drop(dg)
		return Skipped
	}
	copy(dg.buf[off:end], data)
	dg.ranges = append(dg.ranges, fragRange{off, end})
	dg.got += len(data)
	if off == 0 {
		dg.proto = proto
	}
	if !more {
		dg.total = end
	}
	if dg.total < 0 || dg.got != dg.total {
		return Held
	}

	// Complete: hand the buffer to out[depth] and recycle the datagram.
	d.stats.Reassembled++
	payload := dg.buf[:dg.total]
	proto = dg.proto
	f.unlink(dg)
	f.bytes -= cap(dg.buf)
	dg.buf, f.out[depth] = f.out[depth][:0], dg.buf
	f.release(dg)
	p.Reassembled = true
	if k.v6 {
		return d.ipv6Headers(proto, payload, p, depth, false)
	}
	return d.transport(proto, payload, p, depth)
}

func (f *reassembler) maxEnd(dg *datagram) int {
	m := 0
	for _, r := range dg.ranges {
		m = max(m, r.end)
	}
	return m
}

// start begins a new datagram, evicting the oldest if the table is full.
func (f *reassembler) start(k fragKey, now int64) *datagram {
	if len(f.table) >= f.limits.MaxDatagrams {
		f.drop(f.oldest)
	}
	var dg *datagram
	if n := len(f.free); n > 0 {
		dg = f.free[n-1]
		f.free = f.free[:n-1]
		f.retained -= cap(dg.buf)
		if f.bytes+cap(dg.buf) > f.limits.MaxBytes {
			dg.buf = nil
		}
		f.bytes += cap(dg.buf)
	} else {
		dg = &datagram{}
	}
	dg.key, dg.deadline, dg.got, dg.total, dg.proto = k, now+int64(f.limits.Timeout), 0, -1, 0
	dg.buf = dg.buf[:0]
	dg.prev, dg.next = f.newest, nil
	if f.newest != nil {
		f.newest.next = dg
	} else {
		f.oldest = dg
	}
	f.newest = dg
	f.table[k] = dg
	return dg
}

// fit makes dg.buf at least end bytes long within MaxBytes, evicting older
// datagrams if needed. false if it cannot.
func (f *reassembler) fit(dg *datagram, end int) bool {
	if end <= len(dg.buf) {
		return true
	}
	if end <= cap(dg.buf) {
		dg.buf = dg.buf[:end]
		return true
	}
	newCap := min(max(end, 2*cap(dg.buf), 2048), maxDatagram)
	grow := newCap - cap(dg.buf)
	for f.bytes+grow > f.limits.MaxBytes {
		victim := f.oldest
		if victim == dg {
			victim = dg.next
		}
		if victim == nil {
			return false
		}
		f.drop(victim)
	}
	nb := make([]byte, end, newCap)
	copy(nb, dg.buf)
	dg.buf = nb
	f.bytes += grow
	return true
}

// drop discards a datagram under reassembly and counts its fragments.
func (f *reassembler) drop(dg *datagram) {
	f.dropped += uint64(len(dg.ranges))
	f.unlink(dg)
	f.bytes -= cap(dg.buf)
	f.release(dg)
}

func (f *reassembler) unlink(dg *datagram) {
	delete(f.table, dg.key)
	if dg.prev != nil {
		dg.prev.next = dg.next
	} else {
		f.oldest = dg.next
	}
	if dg.next != nil {
		dg.next.prev = dg.prev
	} else {
		f.newest = dg.prev
	}
	dg.prev, dg.next = nil, nil
}

// release puts a datagram on the free list, keeping its buffer only while
// the kept buffers stay within MaxBytes.
func (f *reassembler) release(dg *datagram) {
	if f.retained+cap(dg.buf) > f.limits.MaxBytes {
		dg.buf = nil
	}
	f.retained += cap(dg.buf)
	dg.ranges = dg.ranges[:0]
	dg.key = fragKey{}
	f.free = append(f.free, dg)
}

// expire drops the datagrams whose first fragment is older than the timeout.
func (f *reassembler) expire(now int64) {
	for f.oldest != nil && f.oldest.deadline <= now {
		f.drop(f.oldest)
	}
}
