package capture

import (
	"fmt"
	"io"
	"os"
	"testing"
)

func TestDumpFrames(t *testing.T) {
	f := os.Getenv("DUMPF")
	if f == "" {
		t.Skip()
	}
	s, err := OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(FragmentLimits{})
	var p Packet
	for n := 1; ; n++ {
		data, ci, err := s.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		r := d.Decode(s.LinkType(), data, ci, &p)
		fmt.Printf("%d %v %d %v %v %d %d %d %v vlan=%d\n", n, r, p.Proto, p.Src, p.Dst, p.SrcPort, p.DstPort, len(p.Payload), p.Truncated, p.VLAN)
	}
}
