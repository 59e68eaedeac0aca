// Command pass makes one pass over a capture and reports what it read, as
// one JSON line: the floors of the benchmark, and the sensor itself under
// the profiler.
//
//	pass -mode read FILE     read every record (the sensor's reader) and nothing else
//	pass -mode dlp FILE      read, and decode Ethernet/VLAN/IPv4/IPv6/TCP/UDP with gopacket's DecodingLayerParser
//	pass -mode decode FILE   read, and decode with the sensor's own decoder (capture.Decoder)
//	pass -mode sensor [-workers N] [-cpuprofile F] [-memprofile F] [-o FINDINGS] FILE
//	                         the ntlmsensor pipeline, as the command runs it
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	sinkjson "ntlmsensor/sinks/json"
)

type result struct {
	Mode     string  `json:"mode"`
	Frames   uint64  `json:"frames"`
	Decoded  uint64  `json:"decoded"` // frames with TCP or UDP
	Bytes    uint64  `json:"bytes"`   // captured frame bytes
	Findings uint64  `json:"findings,omitempty"`
	Seconds  float64 `json:"seconds"`
}

func main() {
	mode := flag.String("mode", "read", "read, dlp, decode or sensor")
	workers := flag.Int("workers", 1, "sensor workers (0: one per core)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile")
	memprofile := flag.String("memprofile", "", "write an allocation profile at the end")
	out := flag.String("o", os.DevNull, "sensor findings (JSON lines)")
	heapprofile := flag.String("heapprofile", "", "write a heap (in-use) profile of the sensor after -heap-at frames")
	heapFrames := flag.Uint64("heap-at", 0, "frames read before the heap profile is written (0: the last frame)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pass -mode read|dlp|decode|sensor FILE")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	src, err := capture.OpenFile(flag.Arg(0))
	check(err)
	r := result{Mode: *mode}
	switch *mode {
	case "read":
		for {
			data, _, err := src.ReadPacket()
			if err == io.EOF {
				break
			}
			check(err)
			r.Frames++
			r.Bytes += uint64(len(data))
		}
	case "dlp":
		var (
			eth     layers.Ethernet
			dot1q   layers.Dot1Q
			ip4     layers.IPv4
			ip6     layers.IPv6
			tcp     layers.TCP
			udp     layers.UDP
			payload gopacket.Payload
		)
		parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp, &payload)
		parser.IgnoreUnsupported = true
		decoded := make([]gopacket.LayerType, 0, 8)
		for {
			data, _, err := src.ReadPacket()
			if err == io.EOF {
				break
			}
			check(err)
			r.Frames++
			r.Bytes += uint64(len(data))
			parser.DecodeLayers(data, &decoded)
			for _, l := range decoded {
				if l == layers.LayerTypeTCP || l == layers.LayerTypeUDP {
					r.Decoded++
				}
			}
		}
	case "decode":
		d := capture.NewDecoder(capture.DefaultFragmentLimits)
		var p capture.Packet
		for {
			data, ci, err := src.ReadPacket()
			if err == io.EOF {
				break
			}
			check(err)
			r.Frames++
			r.Bytes += uint64(len(data))
			if d.Decode(src.LinkType(), data, ci, &p) == capture.Decoded {
				r.Decoded++
			}
		}
	case "sensor":
		f, err := os.Create(*out)
		check(err)
		sink := sinkjson.New(f)
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		cfg.Observer = "bench"
		cfg.Emit = func(fd *findings.Finding) { check(sink.Write(fd)) }
		n := *workers
		if n == 0 {
			n = runtime.NumCPU()
		}
		p := sensor.NewPipeline(cfg, n, nil)
		if *heapprofile != "" {
			src = &heapAt{Source: src, at: *heapFrames, path: *heapprofile}
		}
		check(p.ReadSource(src))
		check(p.Close())
		check(sink.Close())
		check(f.Close())
		st, ds := p.Stats()
		r.Frames, r.Decoded, r.Findings = p.Read(), ds.Decoded, st.Findings
	default:
		fmt.Fprintf(os.Stderr, "pass: unknown mode %q\n", *mode)
		os.Exit(2)
	}
	src.Close()
	r.Seconds = time.Since(start).Seconds()
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		check(err)
		check(pprof.Lookup("allocs").WriteTo(f, 0))
		f.Close()
	}
	check(json.NewEncoder(os.Stdout).Encode(r))
}

// heapAt writes a heap profile when a given frame is read (or at the end).
type heapAt struct {
	capture.Source
	n, at uint64
	path  string
	done  bool
}

func (h *heapAt) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := h.Source.ReadPacket()
	h.n++
	if !h.done && (h.n == h.at || err == io.EOF) {
		h.done = true
		runtime.GC()
		f, ferr := os.Create(h.path)
		check(ferr)
		check(pprof.Lookup("heap").WriteTo(f, 0))
		f.Close()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "pass: heap profile after %d frames: %d MiB in use, %d MiB from the OS\n", h.n, ms.HeapInuse>>20, ms.Sys>>20)
	}
	return data, ci, err
}

func check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "pass: %v\n", err)
		os.Exit(1)
	}
}
