// Package carriertest drives carriers in tests and fuzz targets: Drive and
// Feed feed a handler pieces of a connection the way the reassembler does,
// Analyse runs the real pipeline over a capture in pcaps/ with chosen
// carriers, and the oracles' answers (expect.json, tshark, Arkime) are read
// to compare findings with. It imports the sensor: the carriers' internal
// tests cannot use it.
package carriertest

import (
	"net/netip"
	"time"

	"ntlmsensor/decoders/carrier"

	"ntlmsensor/findings"
)

// Piece is bytes one side of a connection sent.
type Piece struct {
	ToServer bool
	Data     []byte
}

// Drive feeds a carrier's handler the pieces of a connection in order, each
// cut into chunks, the way the reassembler does: unconsumed bytes are
// presented again with more, an over-consumption skips the bytes that
// follow. It is for tests and fuzz targets of carriers; it returns the
// findings emitted.
func Drive(c *carrier.Carrier, pieces []Piece, chunk int) []*findings.Finding {
	var out []*findings.Finding
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:445"), false, c.Protocol, "", func(f *findings.Finding) { out = append(out, f) })
	h := c.New(conn)
	ts := time.Unix(1700000000, 0)
	type dir struct {
		buf  []byte
		skip int
	}
	var dirs [2]dir
	if chunk < 1 {
		chunk = 1
	}
	for _, p := range pieces {
		di := 1
		if p.ToServer {
			di = 0
		}
		d := &dirs[di]
		for src := p.Data; len(src) > 0; {
			piece := src[:min(chunk, len(src))]
			src = src[len(piece):]
			if d.skip > 0 {
				k := min(d.skip, len(piece))
				d.skip -= k
				piece = piece[k:]
			}
			if len(piece) == 0 {
				continue
			}
			d.buf = append(d.buf, piece...)
			used := h.Feed(p.ToServer, d.buf, ts)
			switch {
			case used >= len(d.buf):
				d.skip = used - len(d.buf)
				d.buf = d.buf[:0]
			case used > 0:
				d.buf = append(d.buf[:0], d.buf[used:]...)
			}
			if len(d.buf) > 1<<20 {
				d.buf = d.buf[:0]
				h.Gap(p.ToServer, ts)
			}
		}
	}
	h.Close(ts)
	return out
}

// Alternate makes pieces of two byte strings, taking turns every n bytes:
// for fuzz targets, where the bytes have no order to keep.
func Alternate(client, server []byte, n int) []Piece {
	n = max(n, 1)
	var ps []Piece
	for len(client) > 0 || len(server) > 0 {
		k := min(n, len(client))
		if k > 0 {
			ps = append(ps, Piece{true, client[:k]})
			client = client[k:]
		}
		k = min(n, len(server))
		if k > 0 {
			ps = append(ps, Piece{false, server[:k]})
			server = server[k:]
		}
	}
	return ps
}

// Feed feeds a fresh handler of c the pieces whole, in order, the way the
// reassembler does, and reports whether the handler ended following the
// connection (Conn.Done); it stops feeding then. The pieces whose index is
// in lost are lost in transit: the handler is told of a gap instead.
func Feed(c *carrier.Carrier, pieces []Piece, lost map[int]bool) ([]*findings.Finding, bool) {
	var out []*findings.Finding
	conn := testConn(c, func(f *findings.Finding) { out = append(out, f) })
	h := c.New(conn)
	ts := time.Unix(1700000000, 0)
	var buf [2][]byte
	var skip [2]int
	for i, p := range pieces {
		if conn.IsDone() {
			break
		}
		d := carrier.Side(p.ToServer)
		if lost[i] {
			buf[d], skip[d] = buf[d][:0], 0
			h.Gap(p.ToServer, ts)
			continue
		}
		data := p.Data
		k := min(skip[d], len(data))
		skip[d] -= k
		data = data[k:]
		if len(data) == 0 {
			continue
		}
		buf[d] = append(buf[d], data...)
		n := h.Feed(p.ToServer, buf[d], ts)
		if n >= len(buf[d]) {
			skip[d] = n - len(buf[d])
			buf[d] = buf[d][:0]
		} else {
			buf[d] = append(buf[d][:0], buf[d][n:]...)
		}
	}
	h.Close(ts)
	return out, conn.IsDone()
}

// testConn is a connection of c from a client to c's first port.
func testConn(c *carrier.Carrier, emit func(*findings.Finding)) *carrier.Conn {
	server := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.2"), 445)
	if len(c.Ports) > 0 {
		server = netip.AddrPortFrom(server.Addr(), c.Ports[0])
	}
	return carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), server, false, c.Protocol, "", emit)
}
