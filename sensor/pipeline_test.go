package sensor

import (
	"encoding/json"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
)

// memSource replays frames from memory.
type memSource struct {
	frames []frame
	i      int
}

func (m *memSource) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if m.i >= len(m.frames) {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	f := m.frames[m.i]
	m.i++
	return f.data, f.ci, nil
}

func (m *memSource) LinkType() layers.LinkType {
	if m.i == 0 {
		return layers.LinkTypeEthernet
	}
	return m.frames[m.i-1].lt
}
func (m *memSource) Name() string { return "memory" }
func (m *memSource) Close() error { return nil }

// TestFanoutPipeline: workers that each read their own source, split by
// flow as the kernel's fanout does, report what one worker reports (but
// for @timestamp of findings closed at the end or idle: each worker's
// clock is its own packets').
func TestFanoutPipeline(t *testing.T) {
	tried := 0
	for _, path := range allCaptures(t) {
		rel, _ := filepath.Rel(pcapsDir(), path)
		frames := loadFramesAbs(t, path)
		// split as a fanout group would: by the symmetric flow hash
		dec := capture.NewDecoder(capture.DefaultFragmentLimits)
		const n = 3
		split := make([][]frame, n)
		var pkt capture.Packet
		fragments := false
		for _, f := range frames {
			i := 0
			switch dec.Decode(f.lt, f.data, f.ci, &pkt) {
			case capture.Decoded:
				i = int(flowHash(&pkt) % n)
			case capture.Held:
				fragments = true
			}
			split[i] = append(split[i], f)
		}
		if fragments || dec.Stats().Reassembled > 0 {
			continue // the kernel defragments before hashing; this split cannot
		}
		tried++
		want := withoutTime(analyse(t, path, 1))
		var got []finding
		var mu sync.Mutex
		cfg := DefaultConfig()
		cfg.Carriers = Carriers()
		cfg.Observer = "test"
		cfg.Emit = func(f *findings.Finding) {
			var m map[string]any
			json.Unmarshal(f.AppendJSON(nil), &m)
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
		p := NewFanoutPipeline(cfg, n)
		srcs := make([]capture.Source, n)
		for i := range srcs {
			srcs[i] = &memSource{frames: split[i]}
		}
		if err := p.ReadSources(srcs); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if err := p.Close(); err != nil && len(frames) > 0 {
			t.Fatalf("%s: %v", rel, err)
		}
		if p.Read() != uint64(len(frames)) {
			t.Errorf("%s: read %d of %d frames", rel, p.Read(), len(frames))
		}
		gotS := withoutTime(got)
		for k, c := range want {
			if gotS[k] != c {
				t.Errorf("%s: %q ×%d with 1 worker, ×%d with %d fanout workers", rel, k, c, gotS[k], n)
			}
		}
		for k, c := range gotS {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: %q ×%d with fanout only", rel, k, c)
			}
		}
	}
	if tried < 100 {
		t.Fatalf("only %d captures tried", tried)
	}
}

func withoutTime(fs []finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		delete(f, "@timestamp")
		b, _ := json.Marshal(map[string]any(f))
		m[string(b)]++
	}
	return m
}

func loadFramesAbs(t *testing.T, path string) []frame {
	rel, err := filepath.Rel(pcapsDir(), path)
	if err != nil {
		t.Fatal(err)
	}
	return loadFrames(t, rel)
}

// TestSnapshotWhileRunning: Snapshot may be called at any time from
// another goroutine (run with -race), and is exact after Close.
func TestSnapshotWhileRunning(t *testing.T) {
	frames := loadFrames(t, bulk)
	for _, workers := range []int{1, 3} {
		cfg := DefaultConfig()
		cfg.Carriers = Carriers()
		p := NewPipeline(cfg, workers, nil)
		done := make(chan struct{})
		var seen []Snapshot
		go func() {
			defer close(done)
			for i := 0; i < 50; i++ {
				seen = append(seen, p.Snapshot())
			}
		}()
		if err := p.ReadSource(&memSource{frames: frames}); err != nil {
			t.Fatal(err)
		}
		<-done
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		st, ds := p.Stats()
		s := p.Snapshot()
		if s.Read != uint64(len(frames)) || s.Sensor != st || s.Decoder != ds || s.Flows != 0 || s.Buffered != 0 || s.Bytes == 0 {
			t.Errorf("%d workers: snapshot %+v after Close; stats %+v %+v", workers, s, st, ds)
		}
		for _, e := range seen {
			if e.Read > s.Read || e.Sensor.Packets > s.Sensor.Packets {
				t.Errorf("%d workers: a snapshot ahead of the end: %+v", workers, e)
			}
		}
	}
}
