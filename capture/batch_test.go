package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// batchGeometries are the batch sizes ReadBatch is tried with: a frame at
// a time in a buffer smaller than most records (every record carried over
// or grown into), a few frames, and the pipeline's own.
var batchGeometries = []struct{ data, frames int }{{64, 1}, {700, 3}, {512 << 10, 4096}}

// readBatched reads a source to its end with ReadBatch, copying the frames
// out, and returns them with the final error.
func readBatched(s Source, dataBytes, frames int) ([]frame, error) {
	br := s.(BatchReader)
	b := NewBatch(dataBytes, frames)
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

func sameFrames(t *testing.T, name string, got, want []frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames by ReadBatch, %d by ReadPacket", name, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.lt != w.lt || !bytes.Equal(g.data, w.data) || !g.ci.Timestamp.Equal(w.ci.Timestamp) ||
			g.ci.CaptureLength != w.ci.CaptureLength || g.ci.Length != w.ci.Length {
			t.Fatalf("%s: frame %d differs: %v %d bytes %+v, want %v %d bytes %+v", name, i+1, g.lt, len(g.data), g.ci, w.lt, len(w.data), w.ci)
		}
	}
}

// Every classic pcap file bundled reads to the same frames, byte for byte
// and with the same times, by ReadBatch as by ReadPacket, whatever the
// batch size.
func TestReadBatchMatchesReadPacket(t *testing.T) {
	tried := 0
	eachCapture(t, func(path string, want []frame) {
		for _, g := range batchGeometries {
			s, _ := OpenFile(path)
			if _, ok := s.(BatchReader); !ok {
				s.Close()
				return // pcapng under a .pcap name
			}
			got, err := readBatched(s, g.data, g.frames)
			s.Close()
			if err != io.EOF {
				t.Fatalf("%s: %v", path, err)
			}
			sameFrames(t, path, got, want)
		}
		tried++
	}, ".pcap")
	if tried < 50 {
		t.Fatalf("only %d captures tried", tried)
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
	var gz, gzWhole bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw[:offs[20]+16+30])
	zw.Close()
	zw = gzip.NewWriter(&gzWhole)
	zw.Write(raw)
	zw.Close()
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"cut-in-data.pcap", raw[:offs[10]+16+40]},
		{"cut-in-header.pcap", raw[:offs[7]+9]},
		{"cut-in-gzip.pcap.gz", gz.Bytes()[:gz.Len()-5]},
		{"whole.pcap.gz", gzWhole.Bytes()},
		{"huge-record.pcap", cat(raw[:offs[3]], []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0}, make([]byte, 64))}, // 2 MiB
	} {
		path := writeFile(t, tt.name, tt.b)
		open := func() Source { s, _ := OpenFile(path); return s }
		_, wantErr := batchAgrees(t, tt.name, open)
		if strings.HasPrefix(tt.name, "huge") && !errors.Is(wantErr, ErrMalformedFile) {
			t.Fatalf("%s: %v", tt.name, wantErr)
		}
	}
}

// readPackets reads a source to its end with ReadPacket, copying the
// frames out, and returns them with the final error.
func readPackets(s Source) ([]frame, error) {
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
	want, wantErr := readPackets(s)
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
