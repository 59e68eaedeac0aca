package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// TestCompressedCaptures: zstd, xz and bzip2 captures read the same
// packets as the plain file; lz4 is named, with what to do.
func TestCompressedCaptures(t *testing.T) {
	const rel = "real-implementations/smb2_ntlmv2_by_ip.pcap"
	plain, err := os.ReadFile(capturePath(rel))
	if err != nil {
		t.Fatal(err)
	}
	want := readFrames(t, rel)
	if len(want) < 10 {
		t.Fatalf("%d frames", len(want))
	}
	dir := t.TempDir()
	var zb, xb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	xw, _ := xz.NewWriter(&xb)
	xw.Write(plain)
	xw.Close()
	os.WriteFile(filepath.Join(dir, "c.pcap.zst"), zb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "c.pcap.xz"), xb.Bytes(), 0o644)
	for _, path := range []string{filepath.Join(dir, "c.pcap.zst"), filepath.Join(dir, "c.pcap.xz"), "testdata/smb2_ntlmv2_by_ip.pcap.bz2"} {
		s, err := OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n := 0
		for {
			data, ci, err := s.ReadPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if n >= len(want) || !bytes.Equal(data, want[n].data) || !ci.Timestamp.Equal(want[n].ci.Timestamp) {
				t.Fatalf("%s: packet %d differs", path, n)
			}
			n++
		}
		s.Close()
		if n != len(want) {
			t.Errorf("%s: %d packets, want %d", path, n, len(want))
		}
	}
	_, err = OpenFile("testdata/http_ntlmv1.pcap.lz4")
	if !errors.Is(err, ErrCompressed) || err.Error() != "testdata/http_ntlmv1.pcap.lz4: compressed with lz4: decompress it first" {
		t.Errorf("lz4: %v", err)
	}
}

// A NetMon file compressed with zstd is read from its decompressed bytes
// (its frame table is at the end), as a gzipped one is.
func TestCompressedNetmon(t *testing.T) {
	plain, err := os.ReadFile(capturePath(netmonKerberos))
	if err != nil {
		t.Fatal(err)
	}
	want := readFrames(t, netmonKerberos)
	for name, b := range map[string][]byte{"k.cap.zst": zstded(plain), "k.cap.gz": gzipped(plain)} {
		s, err := OpenFile(writeFile(t, name, b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := readPacketsFrom(s)
		s.Close()
		if err != io.EOF {
			t.Fatalf("%s: %v", name, err)
		}
		sameFrames(t, name, got, want)
	}
}
