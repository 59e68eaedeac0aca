package kdc_test

import (
	"net/netip"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/kdc"
	"ntlmsensor/findings"
)

// TestMidReplyIsNotSkipped: a TCP connection to port 88 seen from the
// middle of a reply. Microsoft's AUTHSOD capture (Example 2-1) holds the
// AS-REQ (frame 3) and AS-REP (frame 4, 1398 bytes) of Administrator; the
// reply's second half, fed first as if the capture began there, is
// payload, not a record mark: the handler drops it (it once returned the
// bytes read as a length, up to 2 GiB, for the stream to skip), then
// follows the next exchange on the connection.
func TestMidReplyIsNotSkipped(t *testing.T) {
	const rel = "public/windows-formats/microsoft__prot-od-netcaps/[MS-AUTHSOD]-captureALL/MS-AUTHSOD_Example2-1_Win2016_X64_Win2016_X64_Domain.cap"
	var req, rep []byte
	for _, s := range pcaptest.Segments(t, rel) {
		switch s.Frame {
		case 3:
			req = s.Payload
		case 4:
			rep = s.Payload
		}
	}
	if len(req) == 0 || len(rep) < 200 {
		t.Fatalf("frames 3/4: %d/%d bytes", len(req), len(rep))
	}
	var out []*findings.Finding
	conn := carrier.NewConn(netip.MustParseAddrPort("192.168.0.101:49704"), netip.MustParseAddrPort("192.168.0.1:88"), false,
		findings.ProtoKerberos, "", func(f *findings.Finding) { out = append(out, f) })
	h := kdc.Carrier.New(conn)
	ts := time.Unix(1700000000, 0)
	for _, off := range []int{len(rep) / 2, 101, 7} {
		mid := rep[off:]
		if n := h.Feed(false, mid, ts); n != len(mid) {
			t.Fatalf("mid-reply at %d: consumed %d of %d bytes", off, n, len(mid))
		}
	}
	if n := h.Feed(true, req, ts); n != len(req) {
		t.Fatalf("request: consumed %d of %d", n, len(req))
	}
	if n := h.Feed(false, rep, ts); n != len(rep) {
		t.Fatalf("reply: consumed %d of %d", n, len(rep))
	}
	h.Close(ts)
	if len(out) != 1 || out[0].Outcome != findings.Success || out[0].UserName != "Administrator" || out[0].Kerberos.Request != findings.KerberosAS {
		t.Fatalf("%d findings: %+v", len(out), out)
	}
}
