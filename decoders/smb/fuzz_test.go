package smb

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"ntlmsensor/decoders/internal/utf16le"
)

// seed adds the messages of the given protocol from all test captures,
// leaving out bulk data (large READ/WRITE): minimizing a new input found
// from a 64 KiB seed stalls the fuzzer for a minute.
func seed(f *testing.F, p Protocol) {
	for _, c := range allCaptures {
		for _, m := range messages(f, c) {
			if ProtocolOf(m.Msg) == p && len(m.Msg) <= 2048 {
				f.Add(m.Msg)
			}
		}
	}
}

// checkErr: every error wraps one of the package sentinels.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongMessage) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

// checkSub: a returned buffer is a capacity-clipped sub-slice of msg.
func checkSub(t *testing.T, msg, b []byte) {
	t.Helper()
	if b == nil {
		return
	}
	if len(b) == 0 || cap(b) != len(b) || !bytes.Contains(msg, b) {
		t.Fatalf("buffer of %d bytes (cap %d) is not a clipped sub-slice of msg", len(b), cap(b))
	}
}

func checkText(t *testing.T, msg []byte, ss ...string) {
	t.Helper()
	for _, s := range ss {
		if !utf8.ValidString(s) || len(s) > 2*len(msg) {
			t.Fatalf("bad string %q", s)
		}
	}
}

func FuzzSMB2(f *testing.F) {
	seed(f, ProtoSMB2)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := ParseHeader2(msg)
		checkErr(t, err)
		if err == nil && len(msg) < Header2Len {
			t.Fatal("header parsed from short message")
		}
		nreq, err := ParseNegotiateRequest2(msg)
		checkErr(t, err)
		if nreq.NumDialects > len(nreq.Dialects) || nreq.NumDialects > int(nreq.DialectCount) {
			t.Fatalf("NumDialects %d of %d", nreq.NumDialects, nreq.DialectCount)
		}
		nresp, err := ParseNegotiateResponse2(msg)
		checkErr(t, err)
		checkSub(t, msg, nresp.SecurityBlob)
		sreq, err := ParseSessionSetupRequest2(msg)
		checkErr(t, err)
		checkSub(t, msg, sreq.SecurityBlob)
		sresp, err := ParseSessionSetupResponse2(msg)
		checkErr(t, err)
		checkSub(t, msg, sresp.SecurityBlob)
		path, err := ParseTreeConnectRequest2(msg)
		checkErr(t, err)
		checkText(t, msg, path)
		if err == nil && (sreq.SecurityBlob != nil || path != "") && h.IsResponse() {
			t.Fatal("request parsed from a response")
		}
		_ = DialectString(nresp.DialectRevision)
		_ = StatusName(h.Status)
		_ = NeedsBody2(h.Command)
	})
}

func FuzzSMB1(f *testing.F) {
	seed(f, ProtoSMB1)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := ParseHeader1(msg)
		checkErr(t, err)
		_ = StatusName(h.NTStatus())
		_ = NeedsBody1(h.Command)
		n, err := ParseNegotiateResponse1(msg)
		checkErr(t, err)
		checkSub(t, msg, n.SecurityBlob)
		checkText(t, msg, n.DomainName, n.ServerName)
		if n.HasChallenge && n.SecurityBlob != nil {
			t.Fatal("both challenge and blob")
		}
		r, err := ParseSessionSetupRequest1(msg)
		checkErr(t, err)
		checkSub(t, msg, r.SecurityBlob)
		checkSub(t, msg, r.LMResponse)
		checkSub(t, msg, r.NTResponse)
		checkText(t, msg, r.Account, r.PrimaryDomain, r.NativeOS, r.NativeLanMan)
		resp, err := ParseSessionSetupResponse1(msg)
		checkErr(t, err)
		checkSub(t, msg, resp.SecurityBlob)

		cmds, k, err := AndXCommands(msg)
		checkErr(t, err)
		if k > len(cmds) || (err == nil && k == 0 && len(msg) >= Header1Len+1) {
			t.Fatalf("chain of %d", k)
		}
		for i := range k {
			if cmds[i].Offset >= len(msg) || (i > 0 && cmds[i].Offset <= cmds[i-1].Offset) {
				t.Fatalf("chain %v", cmds[:k])
			}
			p, err := ParseTreeConnectAndXRequest1(msg, cmds[i].Offset)
			checkErr(t, err)
			checkText(t, msg, p)
		}
		// Arbitrary offsets, as a handler trusting a bad AndXOffset would pass.
		for _, off := range []int{-1, 0, 4, Header1Len, len(msg) - 1, len(msg), len(msg) + 7} {
			p, err := ParseTreeConnectAndXRequest1(msg, off)
			checkErr(t, err)
			checkText(t, msg, p)
		}
	})
}

// FuzzFraming covers the transport, transform header and text helpers.
func FuzzFraming(f *testing.F) {
	seed(f, ProtoTransform)
	f.Add([]byte{0x85, 0, 0, 0})
	f.Add([]byte("a\x00\x3d\xd8\x00\xde\x00\xdc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, n, ok := NetBIOSHeader(b)
		if ok != (len(b) >= 4) || n < 0 || n >= 1<<24 || (ok && typ != b[0]) {
			t.Fatalf("NetBIOSHeader %d %d %v", typ, n, ok)
		}
		p := ProtocolOf(b)
		th, err := ParseTransformHeader(b)
		checkErr(t, err)
		if err == nil && (p != ProtoTransform || len(b) < TransformHeaderLen) {
			t.Fatal("transform header from non-transform bytes")
		}
		_ = th
		checkText(t, b, utf16le.String(b), oemString(b))
		if len(b) >= 4 {
			s := StatusName(le32(b, 0))
			if s == "" || !utf8.ValidString(s) {
				t.Fatalf("StatusName %q", s)
			}
		}
	})
}
