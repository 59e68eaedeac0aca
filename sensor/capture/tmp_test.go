package capture

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestTmpReasm(t *testing.T) {
	ip6 := realIPv6(t)
	seg := ip6[40:]
	fmt.Println("seglen", len(seg), "doff", int(seg[12]>>4)*4)
	plan := []byte("1AA\x00")
	frag := func(off, end int, content []byte) []byte {
		om := uint16(off)
		if end < len(seg) {
			om |= 1
		}
		fmt.Println("frag", off, end, len(content), om&1)
		return ipv6("2001:db8:10::100", "2001:db8:10::1", ipProtoFragment, cat([]byte{ipProtoTCP, 0}, be16(om), be32(77), content))
	}
	var frames [][]byte
	for i, pos := 1, 0; pos < len(seg); i++ {
		b := plan[i%len(plan)]
		end := min(pos+(int(b%24)+1)*8, len(seg))
		frames = append(frames, frag(pos, end, seg[pos:end]))
		if b&0x80 != 0 {
			frames = append(frames, frames[len(frames)-1])
		}
		if b%7 == 0 && end < len(seg) {
			fend := min(end+16, len(seg))
			frames = append(frames, frag(end-8, fend, bytes.Repeat([]byte{'X'}, fend-end+8)))
		}
		pos = end
	}
	for i := len(frames) - 1; i > 0; i-- {
		j := int(plan[i%len(plan)]) % (i + 1)
		frames[i], frames[j] = frames[j], frames[i]
	}
	d := NewDecoder(FragmentLimits{})
	var p Packet
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0)}
	for i, fr := range frames {
		r := d.Decode(layers.LinkTypeRaw, fr, ci, &p)
		fmt.Println(i, r, len(p.Payload), d.Stats())
	}
}
