package capture

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Real captures the benchmarks run on, one per link type or encapsulation.
var benchCaptures = []struct{ name, rel string }{
	{"ethernet", "public/zeek/testing/btest/Traces/smb/smb2.pcap"}, // 1.6 MB of SMB2
	{"vlan", "public/suricata-verify/tests/filestore-filecontainer-smb/filecontainer-smb.pcap"},
	{"sll", "public/suricata-verify/tests/smb-eicar-overlap/input.pcap"},
	{"null", "public/suricata-verify/tests/smb-length-5770/input.pcap"},
	{"ipv6", realV6Capture},
	{"gre-fragments", "public/zeek/testing/btest/Traces/erspan.pcap"},
}

// BenchmarkDecode: one op is one frame of a real capture; ns/op is ns per packet.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchCaptures {
		b.Run(bc.name, func(b *testing.B) {
			frames := readFrames(b, bc.rel)
			d := NewDecoder(FragmentLimits{})
			var p Packet
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f := &frames[i%len(frames)]
				d.Decode(f.lt, f.data, f.ci, &p)
			}
		})
	}
}

// BenchmarkPeek: one op reads the flow of one frame (what the reader of a
// pipeline with several workers does per frame).
func BenchmarkPeek(b *testing.B) {
	for _, bc := range benchCaptures[:2] {
		b.Run(bc.name, func(b *testing.B) {
			frames := readFrames(b, bc.rel)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f := &frames[i%len(frames)]
				Peek(f.lt, f.data)
			}
		})
	}
}

// BenchmarkReadBatch: one op reads a capture file into batches, as the
// pipeline does.
func BenchmarkReadBatch(b *testing.B) {
	path := capturePath(benchCaptures[0].rel)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	batch := NewBatch(512<<10, 4096)
	for b.Loop() {
		s, err := OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		for s.(BatchReader).ReadBatch(batch) == nil {
		}
		s.Close()
	}
}

// BenchmarkReadBatchVsPacket: one op reads a whole file (smb2.pcap's
// records three times, 4.8 MB) into batches of the pipeline's size, by
// ReadBatch (straight into the batch) and by ReadPacket and Batch.Append
// (what the pipeline does with a source that has no ReadBatch: one copy a
// packet), as pcapng, gzipped pcap and gzipped pcapng.
func BenchmarkReadBatchVsPacket(b *testing.B) {
	raw := bigCapture(b)
	ng := pcapngOf(b, raw)
	dir := b.TempDir()
	for _, f := range []struct {
		name       string
		data, file []byte
	}{
		{"pcapng", ng, ng},
		{"pcap.gz", raw, gzipped(raw)},
		{"pcapng.gz", ng, gzipped(ng)},
	} {
		path := filepath.Join(dir, "c."+f.name)
		if err := os.WriteFile(path, f.file, 0o644); err != nil {
			b.Fatal(err)
		}
		for _, batched := range []bool{true, false} {
			name := f.name + "/ReadBatch"
			if !batched {
				name = f.name + "/ReadPacket+Append"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(f.data)))
				b.ReportAllocs()
				batch := NewBatch(512<<10, 4096)
				packets := 0
				for b.Loop() {
					s, err := OpenFile(path)
					if err != nil {
						b.Fatal(err)
					}
					for err == nil {
						if batched {
							err = s.(BatchReader).ReadBatch(batch)
						} else {
							err = appendBatch(s, batch)
						}
						packets += len(batch.Frames)
					}
					if err != io.EOF {
						b.Fatal(err)
					}
					s.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
			})
		}
	}
}

// appendBatch fills b as the pipeline does from a source without
// ReadBatch: ReadPacket, and a copy of each packet.
func appendBatch(s Source, b *Batch) error {
	b.Reset()
	for !b.Full() {
		data, ci, err := s.ReadPacket()
		if err != nil {
			return err
		}
		b.Append(data, ci, s.LinkType())
	}
	return nil
}

// BenchmarkDecodeGopacket is the alternative the Decoder was measured
// against: gopacket's DecodingLayerParser over Ethernet/802.1Q/IPv4/IPv6/
// TCP/UDP (no GRE, no reassembly), on the same Ethernet frames.
func BenchmarkDecodeGopacket(b *testing.B) {
	for _, bc := range benchCaptures[:2] {
		b.Run(bc.name, func(b *testing.B) {
			frames := readFrames(b, bc.rel)
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
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				parser.DecodeLayers(frames[i%len(frames)].data, &decoded)
			}
		})
	}
}

// BenchmarkReadFile is the raw read floor: one op reads every packet of a
// capture file and does nothing else.
func BenchmarkReadFile(b *testing.B) {
	benchFile(b, false)
}

// BenchmarkReadDecode: one op reads and decodes every packet of a capture file.
func BenchmarkReadDecode(b *testing.B) {
	benchFile(b, true)
}

func benchFile(b *testing.B, decode bool) {
	for _, bc := range []struct{ name, rel string }{
		{"pcap", benchCaptures[0].rel},
		{"pcapng", "public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng"},
		{"gzip", "public/zeek/testing/btest/Traces/smb/smb_many_open_files_500.pcap.gz"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := capturePath(bc.rel)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			d := NewDecoder(FragmentLimits{})
			var p Packet
			packets := 0
			for b.Loop() {
				s, err := OpenFile(path)
				if err != nil {
					b.Fatal(err)
				}
				for {
					data, ci, err := s.ReadPacket()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					packets++
					if decode {
						d.Decode(s.LinkType(), data, ci, &p)
					}
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
		})
	}
}
