package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// batchGeometries are the batch sizes ReadBatch is tried with: a frame at
// a time in a buffer smaller than most records (every record carried over
// or grown into), a few frames, and the pipeline's own.
var batchGeometries = []struct{ data, frames int }{{64, 1}, {700, 3}, {512 << 10, 4096}}

// testBatches keeps a batch of each size for readBatched: the tests read
// thousands of small files (none runs in parallel).
var testBatches = map[[2]int]*Batch{}

// readBatched reads a source to its end with ReadBatch, copying the frames
// out, and returns them with the final error.
func readBatched(s Source, dataBytes, frames int) ([]frame, error) {
	br := s.(BatchReader)
	b := testBatches[[2]int{dataBytes, frames}]
	if b == nil || cap(b.Data) != dataBytes { // new, or grown by the last file
		b = NewBatch(dataBytes, frames)
		testBatches[[2]int{dataBytes, frames}] = b
	}
	var out []frame
	for {
		err := br.ReadBatch(b)
		if err != nil && len(b.Frames) > 0 {
			return out, errors.New("frames returned with an error")
		}
		for i := range b.Frames {
			f := &b.Frames[i]
			out = append(out, frame{f.Link, bytes.Clone(b.Bytes(i)), f.CaptureInfo()})
		}
		if err != nil {
			return out, err
		}
	}
}

// sameFrames compares the frames ReadBatch gave with those ReadPacket gave.
// Times are compared as a Frame holds them, in Unix ns as Batch.Append
// stores them: a pcapng time after 2262 does not fit.
func sameFrames(t *testing.T, name string, got, want []frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames by ReadBatch, %d by ReadPacket", name, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.lt != w.lt || !bytes.Equal(g.data, w.data) || g.ci.Timestamp.UnixNano() != w.ci.Timestamp.UnixNano() ||
			g.ci.CaptureLength != w.ci.CaptureLength || g.ci.Length != w.ci.Length {
			t.Fatalf("%s: frame %d differs: %v %d bytes %+v, want %v %d bytes %+v", name, i+1, g.lt, len(g.data), g.ci, w.lt, len(w.data), w.ci)
		}
	}
}

// Every pcap and pcapng file bundled, gzipped or not, reads to the same
// frames, byte for byte and with the same times and link types, by
// ReadBatch as by ReadPacket, whatever the batch size.
func TestReadBatchMatchesReadPacket(t *testing.T) {
	tried := map[string]int{}
	eachCapture(t, func(path string, want []frame) {
		s, _ := OpenFile(path)
		kind := fmt.Sprintf("%T", s)
		s.Close()
		if _, ok := s.(BatchReader); !ok {
			return // NetMon, ETL
		}
		for _, g := range batchGeometries {
			s, _ := OpenFile(path)
			got, err := readBatched(s, g.data, g.frames)
			s.Close()
			if err != io.EOF {
				t.Fatalf("%s: %v", path, err)
			}
			sameFrames(t, path, got, want)
		}
		tried[kind]++
	}, ".pcap", ".pcapng", ".cap", ".gz")
	if tried["*capture.pcapFile"] < 160 || tried["*capture.pcapngFile"] < 11 {
		t.Fatalf("captures tried: %v", tried)
	}
}

// A truncated or gzipped capture gives ReadBatch the frames and the error
// ReadPacket gives.
func TestReadBatchTruncated(t *testing.T) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(raw)
	gz := gzipped(raw[:offs[20]+16+30])
	gzWhole := gzipped(raw)
	badCRC := bytes.Clone(gzWhole)
	badCRC[len(badCRC)-8] ^= 1 // the trailer: CRC-32, then the length
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"cut-in-data.pcap", raw[:offs[10]+16+40]},
		{"cut-in-header.pcap", raw[:offs[7]+9]},
		{"cut-in-gzip.pcap.gz", gz[:len(gz)-5]},
		{"whole.pcap.gz", gzWhole},
		{"bad-crc.pcap.gz", badCRC},
		{"huge-record.pcap", cat(raw[:offs[3]], []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0}, make([]byte, 64))}, // 2 MiB
	} {
		path := writeFile(t, tt.name, tt.b)
		open := func() Source { s, _ := OpenFile(path); return s }
		frames, wantErr := batchAgrees(t, tt.name, open)
		if strings.HasPrefix(tt.name, "huge") && !errors.Is(wantErr, ErrMalformedFile) {
			t.Fatalf("%s: %v", tt.name, wantErr)
		}
		// the decompressor's error comes after every packet before it
		if tt.name == "bad-crc.pcap.gz" && (len(frames) != len(offs) || !strings.HasSuffix(wantErr.Error(), ": gzip: invalid checksum")) {
			t.Fatalf("%s: %d frames of %d, %v", tt.name, len(frames), len(offs), wantErr)
		}
	}
}

// readPacketsFrom reads a source to its end with ReadPacket, copying the
// frames out, and returns them with the final error.
func readPacketsFrom(s Source) ([]frame, error) {
	var out []frame
	for {
		data, ci, err := s.ReadPacket()
		if err != nil {
			return out, err
		}
		out = append(out, frame{s.LinkType(), bytes.Clone(data), ci})
	}
}

// batchAgrees checks that the sources open makes give by ReadBatch, in
// every batch geometry, the frames and the error that ReadPacket gives,
// the error again on the next call. It returns ReadPacket's.
func batchAgrees(t *testing.T, name string, open func() Source) ([]frame, error) {
	t.Helper()
	s := open()
	want, wantErr := readPacketsFrom(s)
	s.Close()
	for _, g := range batchGeometries {
		s := open()
		got, err := readBatched(s, g.data, g.frames)
		if err == nil || wantErr == nil || err.Error() != wantErr.Error() {
			t.Fatalf("%s: error %v, want %v", name, err, wantErr)
		}
		if again := s.(BatchReader).ReadBatch(NewBatch(64, 1)); again != err {
			t.Fatalf("%s: error not sticky: %v", name, again)
		}
		s.Close()
		sameFrames(t, name, got, want)
	}
	return want, wantErr
}

// dataThenError reads b, its last bytes coming with err (as a reader may
// return them).
type dataThenError struct {
	b   []byte
	err error
}

func (r *dataThenError) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	if len(r.b) == 0 {
		return n, r.err
	}
	return n, nil
}

// A read error comes after the records read before it, by ReadBatch as by
// ReadPacket, whether it arrives with the last bytes or after them, in the
// bufio buffer filled at open or past it.
func TestReadBatchReadError(t *testing.T) {
	raw, err := os.ReadFile(capturePath(benchCaptures[0].rel)) // 1.6 MB
	if err != nil {
		t.Fatal(err)
	}
	disk := errors.New("disk on fire")
	for _, cut := range []int{len(raw), len(raw) - 100, 100 << 10} {
		for _, last := range []bool{true, false} {
			name := fmt.Sprintf("cut at %d, error with the last bytes %v", cut, last)
			frames, err := batchAgrees(t, name, func() Source {
				var r io.Reader = &dataThenError{raw[:cut], disk}
				if !last {
					r = io.MultiReader(bytes.NewReader(raw[:cut]), iotest.ErrReader(disk))
				}
				s, err := NewReader(r, "disk.pcap")
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
			if len(frames) < 100 || !strings.Contains(err.Error(), "disk.pcap: read error after") || !strings.HasSuffix(err.Error(), ": disk on fire") {
				t.Fatalf("%s: %d frames, %v", name, len(frames), err)
			}
		}
	}
}

// Real pcapng captures, small ones first: the last has 126 interfaces and
// name resolution and statistics blocks between its packets.
var realPcapngs = []string{
	"public/zeek/testing/btest/Traces/dce-rpc/dce_rpc_ntlm.pcapng",
	"public/zeek/testing/btest/Traces/dce-rpc/kerberos445_auth.pcapng",
	"public/zeek/testing/btest/Traces/dce-rpc/kerberos135_auth.pcapng",
	"public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng",
}

// ngBlocks splits a little-endian pcapng file into its blocks.
func ngBlocks(raw []byte) [][]byte {
	var out [][]byte
	for len(raw) >= 12 {
		n := int(binary.LittleEndian.Uint32(raw[4:]))
		out = append(out, raw[:n])
		raw = raw[n:]
	}
	return out
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngRewrite rewrites a real little-endian pcapng in byte order bo, the
// Enhanced Packet Blocks of interface 0 in turn kept, made obsolete Packet
// Blocks (Appendix A) and, when whole, Simple Packet Blocks (section 4.4):
// the forms no bundled capture has. It returns the file and, for each
// packet, whether it keeps its time (a Simple Packet Block has none).
func ngRewrite(raw []byte, bo byteOrder) ([]byte, []bool) {
	le := binary.LittleEndian
	var out []byte
	var timed []bool
	n0 := 0 // packets of interface 0
	for _, blk := range ngBlocks(raw) {
		b := bytes.Clone(blk)
		n := len(b)
		swap32 := func(off int) { bo.PutUint32(b[off:], le.Uint32(b[off:])) }
		swap16 := func(off int) { bo.PutUint16(b[off:], le.Uint16(b[off:])) }
		// section 3.5: code, length, value; if_tsoffset is the only value
		// either reader reads that is more than a byte
		options := func(off int, idb bool) {
			for off+4 <= n-4 {
				code, olen := le.Uint16(b[off:]), int(le.Uint16(b[off+2:]))
				swap16(off)
				swap16(off + 2)
				if idb && code == 14 && olen == 8 {
					bo.PutUint64(b[off+4:], le.Uint64(b[off+4:]))
				}
				if code == 0 {
					break
				}
				off += 4 + (olen+3)&^3
			}
		}
		switch le.Uint32(b) {
		case blockSHB: // byte-order magic, version, section length
			swap32(8)
			swap16(12)
			swap16(14)
			bo.PutUint64(b[16:], le.Uint64(b[16:]))
			options(24, false)
		case blockIDB: // link type, reserved, snaplen
			swap16(8)
			swap16(10)
			swap32(12)
			options(16, true)
		case blockEPB:
			ifid, caplen, origlen := le.Uint32(b[8:]), le.Uint32(b[20:]), le.Uint32(b[24:])
			timed = append(timed, true)
			if ifid == 0 {
				n0++
				switch {
				case n0%3 == 2 && caplen == origlen:
					data := b[28 : 28+caplen]
					body := bo.AppendUint32(nil, origlen)
					body = append(body, data...)
					body = append(body, make([]byte, -len(body)&3)...)
					l := uint32(12 + len(body))
					out = bo.AppendUint32(out, blockSPB)
					out = bo.AppendUint32(out, l)
					out = append(out, body...)
					out = bo.AppendUint32(out, l)
					timed[len(timed)-1] = false
					continue
				case n0%3 == 1:
					bo.PutUint32(b, blockObsoletPB)
					bo.PutUint16(b[8:], 0)  // interface 0
					bo.PutUint16(b[10:], 7) // drops
					bo.PutUint32(b[4:], uint32(n))
					bo.PutUint32(b[n-4:], uint32(n))
					for _, off := range []int{12, 16, 20, 24} {
						swap32(off)
					}
					options(28+int(caplen+3)&^3, false)
					out = append(out, b...)
					continue
				}
			}
			for _, off := range []int{8, 12, 16, 20, 24} {
				swap32(off)
			}
			options(28+int(caplen+3)&^3, false)
		}
		swap32(0)
		swap32(4)
		swap32(n - 4)
		out = append(out, b...)
	}
	return out, timed
}

// ngSections is one pcapng file of several sections, each a real capture,
// rewritten as ngRewrite does, in both byte orders.
func ngSections(tb testing.TB) []byte {
	tb.Helper()
	var file []byte
	for i, rel := range realPcapngs {
		raw, err := os.ReadFile(capturePath(rel))
		if err != nil {
			tb.Fatal(err)
		}
		var order byteOrder = binary.LittleEndian
		if i%2 == 1 {
			order = binary.BigEndian
		}
		b, _ := ngRewrite(raw, order)
		file = append(file, b...)
	}
	return file
}

// Real pcapng captures rewritten in big-endian byte order, with obsolete
// and simple packet blocks, and put one after the other as the sections of
// one file, read to the frames of the originals by ReadPacket and ReadBatch.
func TestReadBatchPcapngSections(t *testing.T) {
	var want []frame
	var timed []bool
	for i, rel := range realPcapngs {
		raw, _ := os.ReadFile(capturePath(rel))
		_, tm := ngRewrite(raw, binary.BigEndian)
		want = append(want, readFrames(t, rel)...)
		timed = append(timed, tm...)
		if i == 0 {
			// one section in big-endian order
			be, _ := ngRewrite(raw, binary.BigEndian)
			batchAgrees(t, "big-endian", func() Source { s, _ := NewReader(bytes.NewReader(be), "be.pcapng"); return s })
		}
	}
	file := ngSections(t)
	got, err := batchAgrees(t, "sections", func() Source {
		s, err := NewReader(bytes.NewReader(file), "sections.pcapng")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if err != io.EOF || len(got) != len(want) {
		t.Fatalf("%d frames, %v; want %d", len(got), err, len(want))
	}
	simple := 0
	for i := range got {
		g, w := got[i], want[i]
		if g.lt != w.lt || !bytes.Equal(g.data, w.data) || g.ci.Length != w.ci.Length || timed[i] && !g.ci.Timestamp.Equal(w.ci.Timestamp) {
			t.Fatalf("frame %d: %v %d bytes %+v, want %v %d bytes %+v", i+1, g.lt, len(g.data), g.ci, w.lt, len(w.data), w.ci)
		}
		if !timed[i] {
			simple++
		}
	}
	if simple < 10 {
		t.Fatalf("only %d simple packet blocks", simple)
	}
}

// A real pcapng cut at every byte of its last blocks, and of the blocks
// around each new section, gives ReadBatch the frames and the error that
// ReadPacket gives.
func TestReadBatchPcapngCut(t *testing.T) {
	file := ngSections(t)
	tso, err := os.ReadFile(capturePath("public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	// cut at every byte of these: kerberos_tso's last four blocks (packets
	// and an Interface Statistics Block), ...
	last := len(tso)
	blocks := ngBlocks(tso)
	for _, blk := range blocks[len(blocks)-4:] {
		last -= len(blk)
	}
	ranges := [][2]int{{last, len(tso)}}
	// ... and in the file of sections, the blocks around each new section
	// and the last ones
	off := 0
	var order binary.ByteOrder = binary.LittleEndian
	var starts []int
	for off+12 <= len(file) {
		if binary.BigEndian.Uint32(file[off:]) == blockSHB {
			order = binary.LittleEndian
			if binary.BigEndian.Uint32(file[off+8:]) == byteOrderMagic {
				order = binary.BigEndian
			}
			starts = append(starts, off)
		}
		off += int(order.Uint32(file[off+4:]))
	}
	for _, st := range starts[1:] {
		ranges = append(ranges, [2]int{st - 250, st + 350})
	}
	ranges = append(ranges, [2]int{len(file) - 400, len(file)})
	cuts := 0
	for i, r := range ranges {
		src, name := file, "sections.pcapng"
		if i == 0 {
			src, name = tso, "kerberos_tso.pcapng"
		}
		for cut := r[0]; cut < r[1]; cut++ {
			b := src[:cut]
			_, err := batchAgrees(t, fmt.Sprintf("%s cut at %d", name, cut), func() Source {
				s, err := NewReader(bytes.NewReader(b), name)
				if err != nil {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				return s
			})
			if err != io.EOF && !errors.Is(err, ErrTruncatedFile) {
				t.Fatalf("%s cut at %d: %v", name, cut, err)
			}
			cuts++
		}
	}
	if cuts < 2000 {
		t.Fatalf("%d cuts", cuts)
	}
}

// Long blocks, real or lying about their length in a short file: ReadBatch
// gives the frames and the error ReadPacket gives, and allocates nothing
// that the file does not fill.
func TestReadBatchPcapngLongBlocks(t *testing.T) {
	raw, err := os.ReadFile(capturePath("public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := ngBlocks(raw)
	head := bytes.Join(blocks[:6], nil) // SHB, IDB, 4 packets
	tail := bytes.Join(blocks[6:], nil)
	le := binary.LittleEndian
	// block is a block of type typ whose length says n bytes, of which body
	// (after type and length) is given.
	block := func(typ uint32, n int, body []byte) []byte {
		b := le.AppendUint32(nil, typ)
		b = le.AppendUint32(b, uint32(n))
		return append(b, body...)
	}
	whole := func(typ uint32, body []byte) []byte {
		b := block(typ, 12+len(body), body)
		return le.AppendUint32(b, uint32(12+len(body)))
	}
	epb := blocks[6]
	longEPB := whole(blockEPB, cat(epb[8:len(epb)-4], make([]byte, 3<<20))) // 3 MiB of zeros after the options' end
	for _, tt := range []struct {
		name   string
		b      []byte
		frames int  // ReadPacket gives
		lies   bool // about its length: ReadBatch must allocate little
	}{
		{"long-epb.pcapng", cat(head, longEPB, tail), 315, false},
		{"long-other.pcapng", cat(head, whole(0xbad, make([]byte, 3<<20)), tail), 314, false},
		{"mid-other.pcapng", cat(head, whole(0xbad, make([]byte, 100<<10)), tail), 314, false},
		{"huge-epb.pcapng", cat(head, block(blockEPB, 1<<30, epb[8:])), 4, true},
		{"huge-other.pcapng", cat(head, block(0xbad, 1<<30, make([]byte, 200))), 4, true},
		{"huge-idb.pcapng", cat(head, block(blockIDB, maxMetaBlock+4, blocks[1][8:])), 4, true},
		{"lying-idb.pcapng", cat(head, block(blockIDB, maxMetaBlock, blocks[1][8:])), 4, true},
		{"lying-epb.pcapng", cat(head, block(blockEPB, maxWholeBlock, epb[8:])), 4, true},
	} {
		open := func() Source {
			s, err := NewReader(bytes.NewReader(tt.b), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		frames, err := batchAgrees(t, tt.name, open)
		if len(frames) != tt.frames || (err == io.EOF) == tt.lies {
			t.Fatalf("%s: %d frames, %v", tt.name, len(frames), err)
		}
		if !tt.lies {
			continue
		}
		for _, g := range batchGeometries[:2] {
			s := open()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			readBatched(s, g.data, g.frames)
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 512<<10 {
				t.Errorf("%s: %d KiB allocated", tt.name, n>>10)
			}
		}
	}
}

// ReadBatch allocates nothing, per packet or per batch, once the batch has
// its size.
func TestReadBatchAllocatesNothing(t *testing.T) {
	raw := bigCapture(t)
	for name, b := range map[string][]byte{"pcap": raw, "pcapng": pcapngOf(t, raw)} {
		s, err := NewReader(bytes.NewReader(b), name)
		if err != nil {
			t.Fatal(err)
		}
		br := s.(BatchReader)
		batch := NewBatch(64<<10, 256)
		frames := 0
		allocs := testing.AllocsPerRun(50, func() {
			if err := br.ReadBatch(batch); err != nil {
				t.Fatal(err)
			}
			frames += len(batch.Frames)
		})
		if allocs != 0 || frames < 50*40 {
			t.Errorf("%s: %v allocations a batch of %d frames", name, allocs, frames/51)
		}
	}
}
