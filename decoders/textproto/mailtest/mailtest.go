// Package mailtest is what the tests of the mail carriers (smtp, imap,
// pop3) share beyond carriertest. It imports neither the sensor nor
// carriertest, so the carriers' internal tests can use it too.
package mailtest

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
)

// Line is what one side sends at once.
type Line struct {
	ToServer bool
	S        string
}

// Client is a line the client sends.
func Client(s string) Line { return Line{ToServer: true, S: s} }

// Server is a line the server sends.
func Server(s string) Line { return Line{ToServer: false, S: s} }

// Handler is a fresh handler of c whose findings are counted in n.
func Handler(c *carrier.Carrier, n *int) carrier.Handler {
	port := uint16(1)
	if len(c.Ports) > 0 {
		port = c.Ports[0]
	}
	conn := carrier.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.AddrPortFrom(netip.MustParseAddr("192.0.2.2"), port), false, c.Protocol, "", func(*findings.Finding) { *n++ })
	return c.New(conn)
}

// FeedWhole feeds h each line whole, in order, then closes it. Every line
// must be used whole; what a handler asks to skip beyond a line (a literal
// it passes over unseen) is taken from the next lines of that side, and
// must all be skipped by the end.
func FeedWhole(tb testing.TB, h carrier.Handler, lines ...Line) {
	tb.Helper()
	ts := time.Unix(1700000000, 0)
	var skip [2]int
	for _, l := range lines {
		d := carrier.Side(l.ToServer)
		b := []byte(l.S)
		k := min(skip[d], len(b))
		skip[d] -= k
		b = b[k:]
		if len(b) == 0 {
			continue
		}
		used := h.Feed(l.ToServer, b, ts)
		if used < len(b) {
			tb.Fatalf("%q: %d of %d bytes used", b, used, len(b))
		}
		skip[d] = used - len(b)
	}
	if skip != [2]int{} {
		tb.Fatalf("%d bytes still to skip", skip[0]+skip[1])
	}
	h.Close(ts)
}

// GSSTokens are the GSS-wrapped Kerberos AP-REQ and AP-REP (RFC 1964 1.1)
// of the real LDAP SASL GSSAPI bind: what a mail client and server send
// for SASL GSSAPI (RFC 4752).
func GSSTokens(tb testing.TB) (apReq, apRep []byte) {
	tb.Helper()
	oid := []byte("\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")
	for _, s := range pcaptest.Segments(tb, "real-implementations/ldap_sasl_gssapi_kerberos.pcap") {
		if s.UDP || (s.DstPort != 389 && s.SrcPort != 389) {
			continue
		}
		i := bytes.Index(s.Payload, oid)
		if i < 4 {
			continue
		}
		var tok []byte
		for _, hdr := range []int{2, 3, 4} {
			b := s.Payload[i-hdr:]
			n := -1
			switch {
			case b[0] != 0x60:
			case hdr == 2 && b[1] < 0x80:
				n = int(b[1])
			case hdr == 3 && b[1] == 0x81:
				n = int(b[2])
			case hdr == 4 && b[1] == 0x82:
				n = int(b[2])<<8 | int(b[3])
			}
			if n >= 0 && hdr+n <= len(b) {
				tok = b[:hdr+n]
			}
		}
		switch {
		case tok == nil:
		case s.DstPort == 389 && apReq == nil:
			apReq = tok
		case s.SrcPort == 389 && apRep == nil:
			apRep = tok
		}
	}
	if apReq == nil || apRep == nil {
		tb.Fatal("no GSS tokens in the LDAP GSSAPI capture")
	}
	return apReq, apRep
}

// IsGSSAPI: f is the Kerberos attempt of GSSTokens, with that outcome and
// reason, on protocol, and raises no flag.
func IsGSSAPI(f *findings.Finding, protocol findings.Protocol, outcome findings.Outcome, reason string) bool {
	return f.Mechanism == "kerberos" && f.Kerberos.Request == "AP" && f.Kerberos.Realm == "LAB.TEST" && f.Kerberos.SName == "ldap/dc1.lab.test" &&
		f.Kerberos.TicketEtype == 18 && f.Outcome == outcome && f.Reason == reason && f.Protocol == protocol && len(f.Flags) == 0
}
