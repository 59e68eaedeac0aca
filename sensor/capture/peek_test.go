package capture

import (
	"os"
	"path/filepath"
	"strings"
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
	root := capturePath("")
	var peeked, decoded int
	err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			return err
		}
		s, err := OpenFile(path)
		if err != nil {
			return nil // the bad-input captures
		}
		frames := readAllFrom(t, s)
		s.Close()
		d := NewDecoder(FragmentLimits{})
		var p Packet
		for _, fr := range frames {
			fl, ok := Peek(fr.lt, fr.data)
			if ok {
				peekAgrees(t, fl, fr.data, fr.ci)
				peeked++
			}
			if fr.lt == layers.LinkTypeEthernet && d.Decode(fr.lt, fr.data, fr.ci, &p) == Decoded && !p.Reassembled {
				decoded++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if peeked < decoded*9/10 {
		t.Fatalf("Peek read %d frames of %d decoded Ethernet ones", peeked, decoded)
	}
	t.Logf("Peek read %d of %d", peeked, decoded)
}
