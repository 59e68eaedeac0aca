package http

import (
	"bytes"

	"ntlmsensor/decoders/internal/decodeerr"
)

var (
	errChunkSize   = &decodeerr.Error{Kind: ErrMalformed, What: "invalid chunk size"}
	errChunkLine   = &decodeerr.Error{Kind: ErrMalformed, What: "chunk line too long"}
	errChunkEnd    = &decodeerr.Error{Kind: ErrMalformed, What: "missing CRLF after chunk data"}
	errTrailerSize = &decodeerr.Error{Kind: ErrMalformed, What: "trailer section too large"}
)

// Limits that make garbage fail fast instead of being skipped forever.
const (
	maxChunkSizeDigits = 15 // < 2^60: no overflow
	maxChunkExtBytes   = 4096
)

// Chunked skips a chunked body (RFC 9112 7.1) incrementally:
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Bare LF line ends are tolerated. The zero value is ready to use.
type Chunked struct {
	state  chunkState
	size   int64 // chunk size being read, then data left to skip
	digits int   // significant hex digits read
	line   int   // bytes of the current chunk-size line or trailer section
}

type chunkState uint8

const (
	csSize         chunkState = iota // at least one hex digit
	csSizeMore                       // more hex digits, extension or CRLF
	csExt                            // chunk-ext up to LF
	csSizeLF                         // LF after chunk-size line CR
	csData                           // chunk-data
	csDataCR                         // CRLF after chunk-data
	csDataLF                         //
	csTrailerStart                   // start of a trailer field line or the final CRLF
	csTrailer                        // inside a trailer field line
	csEndLF                          // LF of the final CRLF
	csDone
)

// Reset prepares c for the next body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Skip consumes as much of b as belongs to the body; done is true once the
// last chunk and trailers are consumed, and consumed then excludes any bytes
// of the next message. It never buffers. After an error the body cannot be
// framed: the stream is lost and c must be Reset before reuse.
func (c *Chunked) Skip(b []byte) (consumed int, done bool, err error) {
	i := 0
	for i < len(b) {
		ch := b[i]
		switch c.state {
		case csSize, csSizeMore:
			if c.line++; c.line > maxChunkExtBytes { // endless leading zeros
				return i, false, errChunkLine
			}
			if v, ok := hexVal(ch); ok {
				if c.digits > 0 || v != 0 { // leading zeros do not count
					c.digits++
				}
				if c.digits > maxChunkSizeDigits {
					return i, false, errChunkSize
				}
				c.size = c.size<<4 | int64(v)
				c.state = csSizeMore
				i++
				continue
			}
			if c.state == csSize {
				return i, false, errChunkSize
			}
			switch ch {
			case ';', ' ', '\t': // chunk-ext, with BWS before it
				c.state = csExt
			case '\r':
				c.state = csSizeLF
			case '\n':
				c.endSizeLine()
			default:
				return i, false, errChunkSize
			}
			i++
		case csExt, csTrailer:
			// Skip to the end of the line, within the limit. consumed stops
			// at the first byte over it, however b is split.
			limit, errLong := maxChunkExtBytes, errChunkLine
			if c.state == csTrailer {
				limit, errLong = MaxHeaderBytes, errTrailerSize
			}
			j := bytes.IndexByte(b[i:], '\n')
			take := len(b) - i
			if j >= 0 {
				take = j + 1
			}
			if room := limit - c.line; take > room {
				return i + room, false, errLong
			}
			c.line += take
			i += take
			if j >= 0 {
				if c.state == csExt {
					c.endSizeLine()
				} else {
					c.state = csTrailerStart
				}
			}
		case csSizeLF:
			if ch != '\n' {
				return i, false, errChunkSize
			}
			c.endSizeLine()
			i++
		case csData:
			n := int64(len(b) - i)
			if n > c.size {
				n = c.size
			}
			i += int(n)
			if c.size -= n; c.size == 0 {
				c.state = csDataCR
			}
		case csDataCR:
			switch ch {
			case '\r':
				c.state = csDataLF
			case '\n':
				c.state, c.line = csSize, 0
			default:
				return i, false, errChunkEnd
			}
			i++
		case csDataLF:
			if ch != '\n' {
				return i, false, errChunkEnd
			}
			c.state, c.line = csSize, 0
			i++
		case csTrailerStart:
			switch ch {
			case '\r':
				c.state = csEndLF
				i++
			case '\n':
				c.state = csDone
				return i + 1, true, nil
			default:
				c.state = csTrailer
			}
		case csEndLF:
			if ch != '\n' {
				return i, false, errChunkEnd
			}
			c.state = csDone
			return i + 1, true, nil
		case csDone:
			return i, true, nil
		}
	}
	return i, c.state == csDone, nil
}

// endSizeLine moves past a chunk-size line: data, or trailers after last-chunk.
func (c *Chunked) endSizeLine() {
	c.digits = 0
	c.line = 0
	if c.size == 0 {
		c.state = csTrailerStart
		return
	}
	c.state = csData
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

var (
	methodHEAD    = []byte("HEAD")
	methodCONNECT = []byte("CONNECT")
)

// ResponseBodyLength gives the framing of a response body per RFC 9112 6.3,
// given the request method: 0 for HEAD, 1xx, 204 and 304 (and for a tunnel,
// see BecomesTunnel); chunked; the Content-Length; else -1, meaning the body
// runs until the server closes the connection.
func ResponseBodyLength(method []byte, resp *Response) (n int64, chunked bool) {
	switch {
	case bytes.Equal(method, methodHEAD),
		resp.StatusCode < 200, resp.StatusCode == 204, resp.StatusCode == 304,
		BecomesTunnel(method, resp):
		return 0, false
	case resp.Chunked:
		return 0, true
	case resp.ContentLength >= 0:
		return resp.ContentLength, false
	}
	return -1, false
}

// RequestBodyLength gives the framing of a request body per RFC 9112 6.3:
// chunked, the Content-Length, or 0 when neither is present. A request whose
// Transfer-Encoding does not end in chunked cannot be framed: -1.
func RequestBodyLength(req *Request) (n int64, chunked bool) {
	switch {
	case req.Chunked:
		return 0, true
	case req.unframed:
		return -1, false
	case req.ContentLength >= 0:
		return req.ContentLength, false
	}
	return 0, false
}

// BecomesTunnel reports whether the connection stops being HTTP after this
// response: 101 Switching Protocols, or a 2xx answer to CONNECT (RFC 9112 6.3
// items 1-2, RFC 9110 9.3.6).
func BecomesTunnel(method []byte, resp *Response) bool {
	return resp.StatusCode == 101 ||
		(resp.StatusCode/100 == 2 && bytes.Equal(method, methodCONNECT))
}
