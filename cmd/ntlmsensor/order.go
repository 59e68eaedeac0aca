package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/gopacket/gopacket"

	"ntlmsensor/capture"
)

// Several -r files are read as one trace in the order of their first
// packet, whatever their order on the command line: rotated captures
// (dumpcap ring files, where a connection goes on in the next file) keep
// their state from one file to the next. A file that begins before the
// latest packet already read is an unrelated capture (time would go
// backwards): every connection is ended first (a trace break, as at the
// end of the input), so nothing carries over. Either way the findings do
// not depend on the order of -r.

// traceFile is one -r file, its first packet peeked.
type traceFile struct {
	path  string
	first int64          // Unix ns of its first packet; 0: none (empty or damaged)
	stdin capture.Source // "-": stdin cannot be opened twice, it stays open
}

// orderFiles opens every file to read its first packet's time and returns
// them in trace order. A file that cannot be opened is reported and left
// out.
func orderFiles(paths []string, stderr io.Writer) []traceFile {
	var out []traceFile
	for _, path := range paths {
		src, err := capture.OpenFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			continue
		}
		tf := traceFile{path: path}
		data, ci, err := src.ReadPacket()
		if err == nil {
			tf.first = ci.Timestamp.UnixNano()
		}
		if path == "-" {
			tf.stdin = &peeked{Source: src, data: append([]byte(nil), data...), ci: ci, err: err}
		} else {
			src.Close() // opened again when its turn comes
		}
		out = append(out, tf)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].first != out[j].first {
			return out[i].first < out[j].first
		}
		return out[i].path < out[j].path // the same first packet: still one order
	})
	return out
}

// peeked hands back the packet read to order the files, then the rest.
type peeked struct {
	capture.Source
	data []byte
	ci   gopacket.CaptureInfo
	err  error
	used bool
}

func (p *peeked) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if !p.used {
		p.used = true
		return p.data, p.ci, p.err
	}
	return p.Source.ReadPacket()
}
