package capture

import (
	"encoding/binary"
	"errors"
)

// errXpress is a plain LZ77 stream that does not decode.
var errXpress = errors.New("corrupt XPRESS (MS-XCA plain LZ77) data")

// lz77Decompress appends to dst[:0] the expansion of src, which is in
// MS-XCA section 2.4 "Plain LZ77 Decompression" format (Windows'
// COMPRESSION_FORMAT_XPRESS, used by ETW for compressed ETL buffers), and
// returns it. The output may not exceed max bytes: a stream that says more
// is an error, as is a match that reaches before the start of the output.
func lz77Decompress(dst, src []byte, max int) ([]byte, error) {
	out := dst[:0]
	var flags uint32
	flagCount := 0
	in := 0
	lastHalfByte := -1 // position of the byte whose high nibble is still unused
	for {
		if flagCount == 0 {
			if in+4 > len(src) {
				return out, nil // the stream ends at a flag word boundary
			}
			flags = binary.LittleEndian.Uint32(src[in:])
			in += 4
			flagCount = 32
		}
		flagCount--
		if flags&(1<<flagCount) == 0 {
			// a literal byte
			if in == len(src) {
				return out, nil
			}
			if len(out) == max {
				return out, errXpress
			}
			out = append(out, src[in])
			in++
			continue
		}
		// a match: 13 bits of offset-1, 3 bits of length-3
		if in == len(src) {
			return out, nil
		}
		if in+2 > len(src) {
			return out, errXpress
		}
		m := int(binary.LittleEndian.Uint16(src[in:]))
		in += 2
		length := m & 7
		offset := m>>3 + 1
		if length == 7 {
			// the length goes on in half a byte (two matches share a byte),
			// then a byte, then 2 bytes, then 4 bytes
			if lastHalfByte < 0 {
				if in >= len(src) {
					return out, errXpress
				}
				length = int(src[in] & 0x0f)
				lastHalfByte = in
				in++
			} else {
				length = int(src[lastHalfByte] >> 4)
				lastHalfByte = -1
			}
			if length == 15 {
				if in >= len(src) {
					return out, errXpress
				}
				length = int(src[in])
				in++
				if length == 255 {
					if in+2 > len(src) {
						return out, errXpress
					}
					length = int(binary.LittleEndian.Uint16(src[in:]))
					in += 2
					if length == 0 {
						if in+4 > len(src) {
							return out, errXpress
						}
						length = int(binary.LittleEndian.Uint32(src[in:]))
						in += 4
					}
					if length < 15+7 {
						return out, errXpress
					}
					length -= 15 + 7
				}
				length += 15
			}
			length += 7
		}
		length += 3
		if offset > len(out) || length > max-len(out) {
			return out, errXpress
		}
		// byte by byte: a match may overlap the bytes it produces
		from := len(out) - offset
		for i := range length {
			out = append(out, out[from+i])
		}
	}
}
