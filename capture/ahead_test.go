package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/klauspost/compress/zstd"
)

// bigCapture is a real pcap (smb2.pcap, 1.6 MB) with its records three
// times over: more than the read-ahead holds.
func bigCapture(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile(capturePath(benchCaptures[0].rel))
	if err != nil {
		tb.Fatal(err)
	}
	return cat(raw, raw[24:], raw[24:])
}

func zstded(b []byte) []byte {
	var z bytes.Buffer
	w, _ := zstd.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

// goroutinesBack waits a little for the goroutines to be as many as
// before: one that has closed its done channel may not have returned yet.
func goroutinesBack(t *testing.T, what string, before int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines, %d before", what, runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// The read-ahead gives the decompressor's bytes in order, in reads of any
// size, then its error, again on every read; Close stops its goroutine.
func TestAheadReaderOrder(t *testing.T) {
	raw := bigCapture(t)
	disk := errors.New("disk on fire")
	for _, last := range []bool{true, false} {
		before := runtime.NumGoroutine()
		var d io.Reader = &dataThenError{raw, disk}
		if !last {
			d = io.MultiReader(iotest.HalfReader(bytes.NewReader(raw)), iotest.ErrReader(disk))
		}
		a := readAhead(d, nil)
		var got []byte
		var err error
		for i := 0; err == nil; i++ {
			p := make([]byte, []int{1, 7, 4096, 300 << 10, 1 << 20}[i%5])
			var n int
			n, err = a.Read(p)
			got = append(got, p[:n]...)
		}
		if err != disk || !bytes.Equal(got, raw) {
			t.Fatalf("%d bytes of %d, then %v", len(got), len(raw), err)
		}
		if n, again := a.Read(make([]byte, 10)); n != 0 || again != disk {
			t.Fatalf("then %d bytes, %v", n, again)
		}
		a.Close()
		if _, err := a.Read(make([]byte, 10)); err != errReadAfterClose {
			t.Fatalf("read after close: %v", err)
		}
		goroutinesBack(t, "after the error", before)
	}
}

// Closing a compressed capture stops its decompressor's goroutine, before
// a packet is read, mid-file (the goroutine waiting for a buffer) and at
// the end; compressed twice, both; a file that is not a capture once
// decompressed leaves none.
func TestCompressedCloseStopsGoroutine(t *testing.T) {
	raw := bigCapture(t)
	dir := t.TempDir()
	files := map[string][]byte{
		"c.pcap.gz":      gzipped(raw),
		"c.pcap.zst":     zstded(raw),
		"c.pcap.zst.gz":  gzipped(zstded(raw)),
		"not-capture.gz": gzipped(bytes.Repeat([]byte("not a capture "), 1<<17)),
	}
	before := runtime.NumGoroutine()
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if name == "not-capture.gz" {
			if _, err := OpenFile(path); !errors.Is(err, ErrNotCapture) {
				t.Fatalf("%s: %v", name, err)
			}
			goroutinesBack(t, name, before)
			continue
		}
		for _, packets := range []int{0, 10, 1 << 30} {
			s, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.NumGoroutine() <= before {
				t.Fatalf("%s: no goroutine decompresses", name)
			}
			n, err := 0, error(nil)
			for ; n < packets && err == nil; n++ {
				_, _, err = s.ReadPacket()
			}
			if packets > n && err != io.EOF {
				t.Fatalf("%s: %v after %d packets", name, err, n)
			}
			time.Sleep(5 * time.Millisecond) // let the goroutine fill its buffers and wait
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			goroutinesBack(t, name+" closed", before)
		}
	}
}

// Compressed captures, pcap and pcapng, read by ReadBatch and ReadPacket
// to the frames of the plain file.
func TestCompressedBatches(t *testing.T) {
	big := bigCapture(t)
	bigPath := writeFile(t, "big.pcap", big)
	dir := t.TempDir()
	for _, plain := range []string{bigPath, capturePath(realPcapngs[3]), capturePath("public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng")} {
		raw, err := os.ReadFile(plain)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := OpenFile(plain)
		want, err := readPacketsFrom(s)
		s.Close()
		if err != io.EOF || len(want) < 18 {
			t.Fatalf("%s: %d frames, %v", plain, len(want), err)
		}
		for ext, b := range map[string][]byte{".gz": gzipped(raw), ".zst": zstded(raw)} {
			path := filepath.Join(dir, filepath.Base(plain)+ext)
			os.WriteFile(path, b, 0o644)
			got, err := batchAgrees(t, path, func() Source { s, _ := OpenFile(path); return s })
			if err != io.EOF {
				t.Fatalf("%s: %v", path, err)
			}
			sameFrames(t, path, got, want)
		}
	}
}

// Offset of a gzipped file is the compressed bytes read: it grows, stays
// within the file (after the first batch, within its first half: the
// read-ahead is bounded), and is the whole file at the end.
func TestOffsetCompressed(t *testing.T) {
	gz := gzipped(bigCapture(t))
	path := writeFile(t, "big.pcap.gz", gz)
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewBatch(64<<10, 256)
	last, first := int64(0), int64(-1)
	for {
		err := s.(BatchReader).ReadBatch(b)
		n, ok := Offset(s)
		if !ok || n < last || n > int64(len(gz)) {
			t.Fatalf("offset %d, %v after %d of %d", n, ok, last, len(gz))
		}
		last = n
		if first < 0 {
			first = n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if first <= 0 || first >= int64(len(gz))/2 || last != int64(len(gz)) {
		t.Fatalf("offset %d after the first batch, %d at the end, of %d bytes", first, last, len(gz))
	}
}
