package capture

import (
	"io"
	"os"
)

// fileOf is a source that knows the file it reads.
type fileOf interface{ setFile(*os.File) }

func (r *reader) setFile(f *os.File) { r.file = f }

func setFile(s Source, f *os.File) {
	if x, ok := s.(fileOf); ok {
		x.setFile(f)
	}
}

// Offset is how far into its file a source opened by OpenFile has read, a
// little ahead of the packets delivered (for a compressed file, the
// compressed bytes its decompressor has read: it runs up to a MiB of
// decompressed bytes ahead, ahead.go): for progress. ok is false for
// stdin, readers and sources that read their file out of order. It may be
// called while another goroutine reads the source.
func Offset(s Source) (n int64, ok bool) {
	x, ok := s.(interface{ offset() (int64, bool) })
	if !ok {
		return 0, false
	}
	return x.offset()
}

// offset is how far the parts or the serial reader have read (progress).
func (r *reader) offset() (int64, bool) {
	if r.partsAt != nil {
		if at := r.partsAt.Load(); at > 0 { // 0: no parts are being read
			return at, true
		}
	}
	return r.fileOffset()
}

func (r *reader) fileOffset() (int64, bool) {
	if r.file == nil {
		return 0, false
	}
	n, err := r.file.Seek(0, io.SeekCurrent)
	return n, err == nil
}
