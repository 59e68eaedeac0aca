package capture

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestDumpCounts(t *testing.T) {
	root := "../../pcaps"
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	out, _ := os.Create("/tmp/our_counts.txt")
	defer out.Close()
	for _, f := range files {
		s, err := OpenFile(f)
		if err != nil {
			fmt.Fprintf(out, "%s ERR %v\n", f, err)
			continue
		}
		d := NewDecoder(FragmentLimits{})
		var p Packet
		tcp, udp := 0, 0
		for {
			data, ci, err := s.ReadPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				fmt.Fprintf(out, "%s READERR %v\n", f, err)
				break
			}
			if d.Decode(s.LinkType(), data, ci, &p) == Decoded {
				if p.Proto == 6 {
					tcp++
				} else {
					udp++
				}
			}
		}
		st := d.Stats()
		fmt.Fprintf(out, "%s %d %d %d %+v\n", strings.TrimPrefix(f, root+"/"), st.Packets, tcp, udp, st)
	}
}
