package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// partSizes are the part sizes Parts are tried with: smaller than most
// records (most parts hold no record start), a few records, many.
var partSizes = []int64{64, 700, 4096, 64 << 10}

// readParted reads a capture as the pipeline does with several workers:
// the parts by three goroutines at once (the last first), then in order, each proven to
// follow the one before, then serially from where the parts ended. It
// returns the frames, how many parts were read again, and the final error.
func readParted(tb testing.TB, path string, partSize int64) (_ []frame, again int, _ error) {
	tb.Helper()
	s, err := OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	p, ok := s.(Splitter).Split()
	if !ok {
		tb.Fatalf("%s: not split", path)
	}
	p.setPartSize(partSize)
	batches, spans := make([]*Batch, p.Count()), make([]Span, p.Count())
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := p.Count() - 1 - int(next.Add(1)-1); j >= 0; j = p.Count() - 1 - int(next.Add(1)-1) {
				batches[j] = NewBatch(1024, 16)
				spans[j] = p.Read(j, batches[j])
			}
		}()
	}
	wg.Wait()
	var out []frame
	end := p.Start()
	for j := range batches {
		span, re := p.Follow(j, end, batches[j], spans[j])
		if re {
			again++
		}
		b := batches[j]
		for i := range b.Frames {
			out = append(out, frame{b.Frames[i].Link, bytes.Clone(b.Bytes(i)), b.Frames[i].CaptureInfo()})
		}
		if span.Start > end || span.End < span.Start {
			tb.Fatalf("%s: part %d spans %d..%d after %d", path, j, span.Start, span.End, end)
		}
		end = span.End
		if span.Stop {
			break
		}
	}
	if err := p.Resume(end, len(out)); err != nil {
		return out, again, err
	}
	rest, err := readBatched(s, 512<<10, 4096)
	return append(out, rest...), again, err
}

// readSerial reads a capture to its end with ReadBatch: the frames and the
// error the pipeline gets without parts.
func readSerial(tb testing.TB, path string) ([]frame, error) {
	tb.Helper()
	s, err := OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	return readBatched(s, 512<<10, 4096)
}

// splittable reports whether a capture file can be read in parts.
func splittable(path string) bool {
	s, err := OpenFile(path)
	if err != nil {
		return false
	}
	defer s.Close()
	sp, ok := s.(Splitter)
	if !ok {
		return false
	}
	_, ok = sp.Split()
	return ok
}

// Every pcap and pcapng file bundled reads to the same frames in parts as
// serially, whatever the part size.
func TestPartsMatchReadPacket(t *testing.T) {
	tried, ng, rereads := 0, 0, 0
	eachCapture(t, func(path string, want []frame) {
		if !splittable(path) {
			return
		}
		for _, size := range partSizes {
			got, again, err := readParted(t, path, size)
			if err != io.EOF {
				t.Fatalf("%s, parts of %d: %v", path, size, err)
			}
			sameFrames(t, path, got, want)
			rereads += again
		}
		tried++
		if s, _ := OpenFile(path); s != nil {
			if _, ok := s.(*pcapngFile); ok {
				ng++
			}
			s.Close()
		}
	}, ".pcap", ".pcapng")
	if tried < 50 || ng < 5 {
		t.Fatalf("only %d captures tried, %d of them pcapng", tried, ng)
	}
	t.Logf("%d captures (%d pcapng), %d parts read again", tried, ng, rereads)
}

// A pcapng file of several sections, in both byte orders, with simple and
// obsolete packet blocks, whole and cut around its sections and in its
// last blocks: in parts, the frames and the error of the serial reader (a
// new section stops the parts; the serial reader goes on from it).
func TestPartsPcapng(t *testing.T) {
	file := ngSections(t)
	// the blocks' offsets, each section in its own byte order
	var offs []int
	var order binary.ByteOrder = binary.LittleEndian
	cuts := []int{len(file)}
	for off := 0; off+12 <= len(file); {
		offs = append(offs, off)
		if binary.BigEndian.Uint32(file[off:]) == blockSHB {
			order = binary.BigEndian
			if binary.LittleEndian.Uint32(file[off+8:]) == byteOrderMagic {
				order = binary.LittleEndian
			}
			if off > 0 {
				cuts = append(cuts, off-3, off+5, off+int(order.Uint32(file[off+4:]))+9)
			}
		}
		off += int(order.Uint32(file[off+4:]))
	}
	for c := offs[len(offs)-3]; c < len(file); c += 7 {
		cuts = append(cuts, c)
	}
	if len(cuts) < 10 {
		t.Fatalf("%d cuts", len(cuts))
	}
	for _, c := range cuts {
		path := writeFile(t, "sections.pcapng", file[:c])
		want, wantErr := readSerial(t, path)
		for _, size := range partSizes {
			got, _, err := readParted(t, path, size)
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("cut at %d, parts of %d: error %v, want %v", c, size, err, wantErr)
			}
			sameFrames(t, "sections.pcapng", got, want)
		}
	}
}

// A capture of a capture: a pcap whose packets carry the bytes of another
// (as when one is copied over the network) is full of record headers that
// are not its own. Parts that guess one of them are read again, and the
// frames are still exactly the serial reader's.
func TestPartsCaptureOfACapture(t *testing.T) {
	inner, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	outer := bytes.Clone(inner[:24]) // the same file header
	for ts, off := uint32(1), 0; off < len(inner); ts, off = ts+1, off+3000 {
		chunk := inner[off:min(off+3000, len(inner))]
		var h [16]byte
		binary.LittleEndian.PutUint32(h[0:], 1700000000+ts)
		binary.LittleEndian.PutUint32(h[8:], uint32(len(chunk)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(chunk)))
		outer = append(append(outer, h[:]...), chunk...)
	}
	if binary.BigEndian.Uint32(inner) != magicMicrosSwap {
		t.Fatal("the inner capture is not little-endian microseconds")
	}
	path := writeFile(t, "capture-of-capture.pcap", outer)
	want, wantErr := readPackets(t, path)
	if wantErr != io.EOF {
		t.Fatal(wantErr)
	}
	total := 0
	for _, size := range partSizes {
		got, again, err := readParted(t, path, size)
		if err != io.EOF {
			t.Fatalf("parts of %d: %v", size, err)
		}
		sameFrames(t, path, got, want)
		total += again
	}
	if total == 0 {
		t.Fatal("no part guessed a record header of the inner capture: the test proves nothing")
	}
	t.Logf("%d parts read again", total)
}

// A truncated or malformed tail, and records appended after the split,
// are read by the serial reader from where the parts stopped: the same
// frames and the same error as ReadPacket.
func TestPartsTails(t *testing.T) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(raw)
	huge := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0} // 2 MiB
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"cut-in-data.pcap", raw[:offs[10]+16+40]},
		{"cut-in-header.pcap", raw[:offs[7]+9]},
		{"huge-record.pcap", cat(raw[:offs[3]], huge, make([]byte, 64))},
		{"huge-record-later.pcap", cat(raw[:offs[30]], huge, raw[offs[30]:])},
		{"header-only.pcap", raw[:24]},
	} {
		path := writeFile(t, tt.name, tt.b)
		want, wantErr := readPackets(t, path)
		for _, size := range partSizes {
			got, _, err := readParted(t, path, size)
			if err == nil || err.Error() != wantErr.Error() {
				t.Fatalf("%s, parts of %d: error %v, want %v", tt.name, size, err, wantErr)
			}
			sameFrames(t, tt.name, got, want)
		}
	}

	// appended after the split: the parts cover what was there, the serial
	// reader the rest
	path := writeFile(t, "growing.pcap", raw[:offs[12]])
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _ := s.(Splitter).Split()
	p.setPartSize(700)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var got []frame
	end := p.Start()
	for j := 0; j < p.Count(); j++ {
		b := NewBatch(1024, 16)
		span, _ := p.Follow(j, end, b, p.Read(j, b))
		for i := range b.Frames {
			got = append(got, frame{b.Frames[i].Link, bytes.Clone(b.Bytes(i)), b.Frames[i].CaptureInfo()})
		}
		end = span.End
	}
	if len(got) != 12 {
		t.Fatalf("the parts gave %d frames, want the 12 there were at the split", len(got))
	}
	p.Resume(end, len(got))
	rest, err := readBatched(s, 512<<10, 4096)
	if err != io.EOF {
		t.Fatal(err)
	}
	want, _ := readPackets(t, capturePath(realV4Capture))
	sameFrames(t, "growing.pcap", append(got, rest...), want)
}

// Only an uncompressed classic pcap file not read yet is split; the
// others are read serially.
func TestSplitOnlyPlainFiles(t *testing.T) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"x.pcap.gz": gzipped(raw)} {
		s, err := OpenFile(writeFile(t, name, b))
		if err != nil {
			t.Fatal(err)
		}
		if sp, ok := s.(Splitter); ok {
			if _, ok := sp.Split(); ok {
				t.Errorf("%s split", name)
			}
		}
		s.Close()
	}
	s, err := NewReader(bytes.NewReader(raw), "reader")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(Splitter).Split(); ok {
		t.Error("a reader split")
	}
	s, err = OpenFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ReadPacket()
	if _, ok := s.(Splitter).Split(); ok {
		t.Error("split after a packet was read")
	}
}

// FuzzParts: whatever the bytes of a pcap or pcapng file, reading it in
// parts gives exactly the frames and the error the serial reader gives.
func FuzzParts(f *testing.F) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		f.Fatal(err)
	}
	offs := recordOffsets(raw)
	f.Add(raw[:offs[24]])
	f.Add(raw[:offs[10]+16+40])
	f.Add(cat(raw[:offs[3]], []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0}, make([]byte, 64)))
	ng, err := os.ReadFile(capturePath(realPcapngs[0]))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ng[:min(len(ng), 3000)])
	f.Fuzz(func(t *testing.T, b []byte) {
		path := writeFile(t, "fuzz.pcap", b)
		s, err := OpenFile(path)
		if err != nil {
			return
		}
		s.Close()
		if len(b) > 64<<10 || !splittable(path) {
			return
		}
		want, wantErr := readSerial(t, path)
		for _, size := range []int64{64, 700} {
			got, _, err := readParted(t, path, size)
			if err == nil || err.Error() != wantErr.Error() {
				t.Fatalf("parts of %d: error %v, want %v", size, err, wantErr)
			}
			sameFrames(t, path, got, want)
		}
	})
}

// unixNano is time(ts).UnixNano() for every resolution, also where the
// nanoseconds no longer fit (past 2262), at the edges of the divisions.
func TestUnixNanoIsTime(t *testing.T) {
	for _, units := range []uint64{1e6, 1e9, 1e3, 1 << 20, 1e12} {
		for _, off := range []int64{0, -5, 1 << 40} {
			i := ngInterface{unitsPerSec: units, offset: off}
			for _, ts := range []uint64{0, 1, units - 1, units, 1700000000*units + units/3, 1<<63 + 12345, ^uint64(0)} {
				if got, want := i.unixNano(ts), i.time(ts).UnixNano(); got != want {
					t.Fatalf("units %d, offset %d, ts %d: %d, want %d", units, off, ts, got, want)
				}
			}
		}
	}
}

// Reading a part into a batch that has its size allocates nothing, for
// pcap and pcapng alike.
func TestPartsAllocateNothing(t *testing.T) {
	for _, rel := range []string{realV4Capture, realPcapngs[0]} {
		s, err := OpenFile(capturePath(rel))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := s.(Splitter).Split()
		if !ok {
			t.Fatalf("%s: not split", rel)
		}
		p.setPartSize(4096)
		b := NewBatch(PartBytes, 4096)
		frames := 0
		allocs := testing.AllocsPerRun(20, func() {
			for j := 0; j < p.Count(); j++ {
				p.Read(j, b)
				frames += len(b.Frames)
			}
		})
		s.Close()
		if frames == 0 || allocs != 0 {
			t.Errorf("%s: %d frames, %.1f allocations per read of every part", rel, frames, allocs)
		}
	}
}
