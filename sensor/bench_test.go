package sensor

import (
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
)

type frame struct {
	data []byte
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
}

// loadFrames reads a capture into memory, so benchmarks measure the
// sensor and not the disk.
func loadFrames(tb testing.TB, rel string) []frame {
	tb.Helper()
	src, err := capture.OpenFile(filepath.Join(pcapsDir(), rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	var out []frame
	for {
		data, ci, err := src.ReadPacket()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, frame{append([]byte(nil), data...), ci, src.LinkType()})
	}
}

// bulk is a capture dominated by SMB2 READ payloads after one logon.
const bulk = "public/suricata-verify/tests/smb2-async-read/input.pcap"

func BenchmarkPipeline(b *testing.B) {
	for _, rel := range []string{bulk, "public/zeek/testing/btest/Traces/smb/smb3_multichannel.pcap", "public/CredSLayer/tests/samples/http-ntlm.pcap"} {
		frames := loadFrames(b, rel)
		var size int64
		for _, f := range frames {
			size += int64(len(f.data))
		}
		b.Run(filepath.Base(filepath.Dir(rel))+"/"+filepath.Base(rel), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			var pkt capture.Packet
			found := 0
			for i := 0; i < b.N; i++ {
				cfg := DefaultConfig()
				cfg.Carriers = Carriers()
				cfg.Emit = func(*findings.Finding) { found++ }
				s := New(cfg)
				dec := capture.NewDecoder(capture.DefaultFragmentLimits)
				for _, f := range frames {
					if dec.Decode(f.lt, f.data, f.ci, &pkt) == capture.Decoded {
						s.Packet(&pkt)
					}
				}
				s.Flush()
			}
			b.ReportMetric(float64(len(frames)), "packets/op")
		})
	}
}

// TestBulkPacketsAllocateNothing: once a connection's logon is done, its
// READ/WRITE packets cost no allocation in decode, flow lookup,
// reassembly or the SMB carrier.
func TestBulkPacketsAllocateNothing(t *testing.T) {
	frames := loadFrames(t, bulk)
	cfg := DefaultConfig()
	cfg.Carriers = Carriers()
	found := 0
	cfg.Emit = func(*findings.Finding) { found++ }
	s := New(cfg)
	dec := capture.NewDecoder(capture.DefaultFragmentLimits)
	var pkt capture.Packet
	i := 0
	for ; i < len(frames) && found == 0; i++ { // up to the logon's finding
		if dec.Decode(frames[i].lt, frames[i].data, frames[i].ci, &pkt) == capture.Decoded {
			s.Packet(&pkt)
		}
	}
	if found == 0 || len(frames)-i < 1000 {
		t.Fatalf("capture shape changed: finding after %d of %d frames", i, len(frames))
	}
	rest := frames[i:]
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for _, f := range rest {
		if dec.Decode(f.lt, f.data, f.ci, &pkt) == capture.Decoded {
			s.Packet(&pkt)
		}
	}
	runtime.ReadMemStats(&m1)
	allocs := m1.Mallocs - m0.Mallocs
	// a few allocations may come from the rare multi-segment header a
	// stream must buffer; per packet it must be nothing
	if perPacket := float64(allocs) / float64(len(rest)); perPacket > 0.01 {
		t.Fatalf("%d allocations over %d bulk packets (%.3f per packet)", allocs, len(rest), perPacket)
	}
	t.Logf("%d allocations over %d bulk packets, %d MiB skipped unseen", allocs, len(rest), s.Stats().SkippedBytes>>20)
}

// TestWorkersGiveTheSameFindings: spreading flows over workers changes
// nothing but the order of findings, over every capture in pcaps/, and
// the fanout pipeline (each worker reading its own source) agrees too.
func TestWorkersGiveTheSameFindings(t *testing.T) {
	captures := allCaptures(t)
	if len(captures) < 100 {
		t.Fatalf("only %d captures found under %s", len(captures), pcapsDir())
	}
	total := 0
	for _, path := range captures {
		rel, _ := filepath.Rel(pcapsDir(), path)
		one := summaries(analyse(t, path, 1))
		total += len(one)
		for _, n := range []int{2, 3} {
			other := summaries(analyse(t, path, n))
			for k, c := range one {
				if other[k] != c {
					t.Errorf("%s: %q ×%d with 1 worker, ×%d with %d", rel, k, c, other[k], n)
				}
			}
			for k, c := range other {
				if _, ok := one[k]; !ok {
					t.Errorf("%s: %q ×%d with %d workers, never with 1", rel, k, c, n)
				}
			}
		}
	}
	if total < 100 {
		t.Fatalf("only %d distinct findings over %d captures: the captures changed?", total, len(captures))
	}
	t.Logf("%d captures, %d distinct findings, equal with 1, 2 and 3 workers", len(captures), total)
}

// allCaptures lists every pcap, pcapng and gzip capture under pcaps/.
func allCaptures(t *testing.T) []string {
	var out []string
	err := filepath.WalkDir(pcapsDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".pcap", ".pcapng", ".gz", ".cap":
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func summaries(fs []finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[dump([]finding{f})]++
	}
	return m
}

// TestPipelineAllocatesNothingPerPacket: the whole pipeline over the bulk
// capture read from its file, with one worker inline and with two sharing
// the batches: allocations come per connection and per logon, not per
// packet.
func TestPipelineAllocatesNothingPerPacket(t *testing.T) {
	path := filepath.Join(pcapsDir(), filepath.FromSlash(bulk))
	for _, workers := range []int{1, 2} {
		cfg := DefaultConfig()
		cfg.Carriers = Carriers()
		found := 0
		cfg.Emit = func(*findings.Finding) { found++ }
		p := NewPipeline(cfg, workers, nil)
		src, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if err := p.ReadSource(src); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		src.Close()
		st, _ := p.Stats()
		if found == 0 || st.Packets < 1000 {
			t.Fatalf("%d workers: %d findings over %d packets", workers, found, st.Packets)
		}
		if perPacket := float64(m1.Mallocs-m0.Mallocs) / float64(st.Packets); perPacket > 0.05 {
			t.Fatalf("%d workers: %d allocations over %d packets (%.3f per packet)", workers, m1.Mallocs-m0.Mallocs, st.Packets, perPacket)
		}
		t.Logf("%d workers: %d allocations over %d packets", workers, m1.Mallocs-m0.Mallocs, st.Packets)
	}
}
