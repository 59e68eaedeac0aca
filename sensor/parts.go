package sensor

import (
	"sync"
	"sync/atomic"
	"time"

	"ntlmsensor/capture"

	"github.com/gopacket/gopacket/layers"
)

// readParts reads a pcap or pcapng file from several goroutines at once
// (capture.Parts), so that the read is no longer the serial part of the
// pipeline. One part reader per worker takes the next part, reads it with
// one pread and finds the flow of each of its frames (the expensive half
// of dispatch); this goroutine takes the parts in file order, checks that
// each starts where the one before ended (reading it again from there when
// its resynchronisation guessed wrong), and dispatches it as ReadSource
// does. Afterwards the source reads on serially from where the parts
// ended: a truncated or malformed tail, and anything appended since, give
// what they always give.
//
// At most cap(p.free) parts are out at once: a part reader takes a free
// batch before it takes a part, so the parts waiting in slots never need
// more, and each slot is empty when its next part arrives.
func (p *Pipeline) readParts(parts *capture.Parts) error {
	count := parts.Count()
	ring := cap(p.free)
	slots := make([]chan *batch, ring)
	for i := range slots {
		slots[i] = make(chan *batch, 1)
	}
	var next atomic.Int64
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range p.workers {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				var b *batch
				select {
				case <-stop:
					return
				case b = <-p.free:
				}
				j := int(next.Add(1) - 1)
				if j >= count {
					p.free <- b
					return
				}
				b.span = parts.Read(j, &b.Batch)
				b.peek()
				slots[j%ring] <- b
			}
		}()
	}
	end, packets := parts.Start(), 0
	for j := 0; j < count && !parts.Stopped(); j++ {
		b := <-slots[j%ring]
		var again bool
		if b.span, again = parts.Follow(j, end, &b.Batch, b.span); again {
			b.peek()
			p.reread++
		}
		p.parts++
		b.tick, b.endSet, b.brk, b.file = time.Time{}, false, false, p.file
		end, packets = b.span.End, packets+len(b.Frames)
		stopped := b.span.Stop
		p.dispatch(b)
		parts.Progress(end)
		if stopped {
			break
		}
	}
	close(stop)
	readers.Wait()
	for _, s := range slots {
		select {
		case b := <-s: // read past a stop: unused
			p.free <- b
		default:
		}
	}
	return parts.Resume(end, packets)
}

// flowRef is the flow of one frame of a batch, found by a part reader.
type flowRef struct {
	hash uint64
	ok   bool // capture.Peek read the frame; otherwise dispatch decodes it
}

// peek finds the flow of every frame of the batch, for dispatch.
func (b *batch) peek() {
	b.flows = b.flows[:0]
	for i := range b.Frames {
		var r flowRef
		r.hash, r.ok = peekHash(b.Frames[i].Link, b.Bytes(i))
		b.flows = append(b.flows, r)
	}
	b.peeked = true
}

// peekHash is the symmetric flow hash of a common frame (plain
// Ethernet/VLAN, unfragmented IPv4 or IPv6, TCP or UDP), read without
// decoding it; ok is false for the others.
func peekHash(link layers.LinkType, data []byte) (uint64, bool) {
	fl, ok := capture.Peek(link, data)
	if !ok {
		return 0, false
	}
	k, _ := keyOf(&fl.Src, &fl.Dst, fl.SrcPort, fl.DstPort, fl.Proto)
	return k.hash(), true
}
