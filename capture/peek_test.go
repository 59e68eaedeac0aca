package capture

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// peekAgrees: a frame Peek reads decodes, on a fresh decoder, to a TCP or
// UDP packet of the flow Peek read.
func peekAgrees(t *testing.T, fl Flow, data []byte, ci gopacket.CaptureInfo) {
	t.Helper()
	var p Packet
	if r := NewDecoder(FragmentLimits{}).Decode(layers.LinkTypeEthernet, data, ci, &p); r != Decoded {
		t.Fatalf("Peek read %+v, Decode says %v", fl, r)
	}
	if p.Src.As16() != fl.Src || p.Dst.As16() != fl.Dst || p.SrcPort != fl.SrcPort || p.DstPort != fl.DstPort || p.Proto != fl.Proto {
		t.Fatalf("Peek read %+v, Decode %v:%d > %v:%d proto %d", fl, p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto)
	}
}

// Over every bundled capture, Peek agrees with Decode on each frame it
// reads, and reads most plain Ethernet frames.
func TestPeekAgreesWithDecode(t *testing.T) {
	var peeked, decoded int
	eachCapture(t, func(path string, frames []frame) {
		d := NewDecoder(FragmentLimits{})
		var p Packet
		for _, fr := range frames {
			if fl, ok := Peek(fr.lt, fr.data); ok {
				peekAgrees(t, fl, fr.data, fr.ci)
				peeked++
			}
			if fr.lt == layers.LinkTypeEthernet && d.Decode(fr.lt, fr.data, fr.ci, &p) == Decoded && !p.Reassembled {
				decoded++
			}
		}
	}, ".pcap", ".pcapng")
	if peeked < decoded*9/10 {
		t.Fatalf("Peek read %d frames of %d decoded Ethernet ones", peeked, decoded)
	}
	t.Logf("Peek read %d of %d", peeked, decoded)
}
