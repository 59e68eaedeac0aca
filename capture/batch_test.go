package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
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
		s, _ := OpenFile(path)
		var want []frame
		var wantErr error
		for {
			data, ci, err := s.ReadPacket()
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, frame{s.LinkType(), bytes.Clone(data), ci})
		}
		s.Close()
		if strings.HasPrefix(tt.name, "huge") && !errors.Is(wantErr, ErrMalformedFile) {
			t.Fatalf("%s: %v", tt.name, wantErr)
		}
		for _, g := range batchGeometries {
			s, _ := OpenFile(path)
			got, err := readBatched(s, g.data, g.frames)
			if err == nil || wantErr == nil || err.Error() != wantErr.Error() {
				t.Fatalf("%s: error %v, want %v", tt.name, err, wantErr)
			}
			if again := s.(BatchReader).ReadBatch(NewBatch(64, 1)); again != err {
				t.Fatalf("%s: error not sticky: %v", tt.name, again)
			}
			s.Close()
			sameFrames(t, tt.name, got, want)
		}
	}
}
