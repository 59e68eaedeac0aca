package capture

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compressed captures besides gzip: zstd, xz and bzip2 are read through
// (each with a bounded window, so a hostile header cannot make us
// allocate much); other compressions and archives are named, so the
// message says what to do rather than "not a capture".

// maxWindow bounds the decompressor's window (zstd) or dictionary (xz).
const maxWindow = 64 << 20

var compressions = []struct {
	magic []byte
	name  string
	open  func(io.Reader) (io.Reader, io.Closer, error)
}{
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd", func(r io.Reader) (io.Reader, io.Closer, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, nil, err
		}
		return d, closerFunc(func() error { d.Close(); return nil }), nil
	}},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz", func(r io.Reader) (io.Reader, io.Closer, error) {
		c := xz.ReaderConfig{DictCap: maxWindow, SingleStream: false}
		d, err := c.NewReader(r)
		return d, nil, err
	}},
	{[]byte("BZh"), "bzip2", func(r io.Reader) (io.Reader, io.Closer, error) {
		return bzip2.NewReader(r), nil, nil
	}},
	// named only: read them after decompressing or unpacking
	{[]byte{0x04, 0x22, 0x4d, 0x18}, "lz4", nil},
	{[]byte{0x5d, 0, 0}, "lzma", nil},
	{[]byte("PK\x03\x04"), "zip (an archive)", nil},
	{[]byte("7z\xbc\xaf\x27\x1c"), "7z (an archive)", nil},
	{[]byte("Rar!\x1a\x07"), "rar (an archive)", nil},
}

// ErrCompressed is wrapped when a capture is compressed in a way that is
// not read through: "x.pcap.lz4: compressed with lz4: decompress it first".
var ErrCompressed = errors.New("decompress it first")

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// decompress puts a decompressor between base and its bytes when they
// begin with the magic of zstd, xz or bzip2.
func decompress(base *reader) error {
	head, _ := base.r.Peek(8)
	for _, c := range compressions {
		if !bytes.HasPrefix(head, c.magic) {
			continue
		}
		if c.open == nil {
			return fmt.Errorf("%s: compressed with %s: %w", base.name, c.name, ErrCompressed)
		}
		d, closer, err := c.open(base.r)
		if err != nil {
			return fmt.Errorf("%s: %s: %v", base.name, c.name, err)
		}
		base.decompressed(d, closer)
		return nil
	}
	return nil
}

// chainClose closes a, then b (either may be nil).
func chainClose(a, b io.Closer) io.Closer {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return closerFunc(func() error {
		a.Close()
		return b.Close()
	})
}
