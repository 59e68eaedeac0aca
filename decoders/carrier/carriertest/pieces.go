package carriertest

import (
	"bytes"
	"slices"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// Pieces are the TCP payloads of a capture's connections to port (given
// relative to pcaps/), in order, one piece per segment. A capture with no
// such connection fails the test.
func Pieces(tb testing.TB, rel string, port uint16) []Piece {
	tb.Helper()
	var ps []Piece
	for _, s := range pcaptest.Segments(tb, rel) {
		if !s.UDP && (s.DstPort == port || s.SrcPort == port) {
			ps = append(ps, Piece{ToServer: s.DstPort == port, Data: s.Payload})
		}
	}
	if len(ps) == 0 {
		tb.Fatalf("%s: no connection to port %d", rel, port)
	}
	return ps
}

// Sides are the bytes each side sent, the pieces joined: for seeding fuzz
// targets.
func Sides(ps []Piece) (client, server []byte) {
	for _, p := range ps {
		if p.ToServer {
			client = append(client, p.Data...)
		} else {
			server = append(server, p.Data...)
		}
	}
	return client, server
}

// Client is a piece the client sent.
func Client(s string) Piece { return Piece{ToServer: true, Data: []byte(s)} }

// Server is a piece the server sent.
func Server(s string) Piece { return Piece{ToServer: false, Data: []byte(s)} }

// Join makes one conversation of several.
func Join(parts ...[]Piece) []Piece {
	var out []Piece
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Cut returns the pieces before (and from) the first one that starts with
// prefix; there must be one.
func Cut(tb testing.TB, ps []Piece, prefix string) (before, after []Piece) {
	tb.Helper()
	for i, p := range ps {
		if bytes.HasPrefix(p.Data, []byte(prefix)) {
			return slices.Clone(ps[:i]), slices.Clone(ps[i:])
		}
	}
	tb.Fatalf("no piece starts with %q", prefix)
	return nil, nil
}

// Replace swaps old for new in the first piece that holds old; there must
// be one.
func Replace(tb testing.TB, ps []Piece, old, new string) []Piece {
	tb.Helper()
	out := slices.Clone(ps)
	for i, p := range out {
		if bytes.Contains(p.Data, []byte(old)) {
			out[i].Data = bytes.Replace(p.Data, []byte(old), []byte(new), 1)
			return out
		}
	}
	tb.Fatalf("no piece holds %q", old)
	return nil
}

// Lost marks, for Feed, the first piece that starts with each prefix as
// lost in transit; there must be one for each.
func Lost(tb testing.TB, ps []Piece, prefixes ...string) map[int]bool {
	tb.Helper()
	lost := map[int]bool{}
	for _, prefix := range prefixes {
		i := slices.IndexFunc(ps, func(p Piece) bool { return bytes.HasPrefix(p.Data, []byte(prefix)) })
		if i < 0 {
			tb.Fatalf("no piece starts with %q", prefix)
		}
		lost[i] = true
	}
	return lost
}
