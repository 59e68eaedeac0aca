package smb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// Facts from real-implementations/TRUTH.md and tshark (smb2.dialect,
// smb2.sec_mode, smb2.nt_status, smb2.tree, smb2.sesid, smb2.flags.signature).
func TestSMB2Captures(t *testing.T) {
	allDialects := []uint16{0x0202, 0x0210, 0x0300, 0x0302, 0x0311}
	tests := []struct {
		pcap             string
		offered          []uint16 // last NEGOTIATE request's dialects
		dialect          uint16
		dialectName      string
		secMode          uint16 // last NEGOTIATE response
		serverGUID       string
		sessionID        uint64
		setupStatuses    []uint32 // SESSION_SETUP responses in order
		finalFlags       uint16   // SessionFlags of the successful response
		trees            []string
		signed, unsigned int // SMB2 commands >= 4, except STATUS_PENDING (tshark smb2.flags.signature)
		transformFrames  int
	}{
		{
			pcap: capSigned, offered: allDialects, dialect: 0x0311, dialectName: "3.1.1",
			secMode: SigningEnabled | SigningRequired, serverGUID: "dc1", sessionID: 0xe5055a5b,
			setupStatuses: []uint32{0xc0000016, 0},
			trees:         []string{`\\dc1.lab.test\IPC$`, `\\dc1.lab.test\share`},
			signed:        28,
		},
		{
			pcap: capUnsigned, offered: allDialects, dialect: 0x0311, dialectName: "3.1.1",
			secMode: SigningEnabled, serverGUID: "fs1", sessionID: 0x4a8416b1,
			setupStatuses: []uint32{0xc0000016, 0},
			trees:         []string{`\\fs1.lab.test\IPC$`, `\\fs1.lab.test\data`},
			unsigned:      20,
		},
		{
			pcap: capImpacketSv, offered: allDialects, dialect: 0x0202, dialectName: "2.0.2",
			secMode: SigningEnabled, serverGUID: "AAAAAAAAAAAAAAAA", sessionID: 0x6e749b23,
			setupStatuses: []uint32{0xc0000016, 0},
			trees:         []string{`\\127.0.0.40\IMPSHARE`},
			// impacket's server signs; samba's client signs only some requests.
			signed: 10, unsigned: 8,
		},
		{
			// impacket starts with an SMB1 NEGOTIATE, answered with the
			// 0x02ff wildcard, then renegotiates SMB2 and encrypts.
			pcap: capSMB3, offered: []uint16{0x0202, 0x0210, 0x0300}, dialect: 0x0300, dialectName: "3.0",
			secMode: SigningEnabled | SigningRequired, serverGUID: "dc1", sessionID: 0xa4a66d93,
			setupStatuses:   []uint32{0xc0000016, 0},
			transformFrames: 30,
		},
		{
			pcap: capWrongPW, offered: allDialects, dialect: 0x0311, dialectName: "3.1.1",
			secMode: SigningEnabled | SigningRequired, serverGUID: "dc1", sessionID: 0x62bf0060,
			setupStatuses: []uint32{0xc0000016, 0xc000006d},
		},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			msgs := messages(t, tc.pcap)

			negReqs := smb2Of(t, msgs, Negotiate2, false)
			nreq, err := ParseNegotiateRequest2(negReqs[len(negReqs)-1].Msg)
			if err != nil {
				t.Fatal(err)
			}
			if got := nreq.Dialects[:nreq.NumDialects]; !slices.Equal(got, tc.offered) || int(nreq.DialectCount) != len(tc.offered) {
				t.Errorf("offered dialects %#04x (count %d), want %#04x", got, nreq.DialectCount, tc.offered)
			}

			negResps := smb2Of(t, msgs, Negotiate2, true)
			nresp, err := ParseNegotiateResponse2(negResps[len(negResps)-1].Msg)
			if err != nil {
				t.Fatal(err)
			}
			if nresp.DialectRevision != tc.dialect || DialectString(nresp.DialectRevision) != tc.dialectName {
				t.Errorf("dialect %#04x %q, want %#04x %q", nresp.DialectRevision, DialectString(nresp.DialectRevision), tc.dialect, tc.dialectName)
			}
			if nresp.SecurityMode != tc.secMode {
				t.Errorf("SecurityMode %#x, want %#x", nresp.SecurityMode, tc.secMode)
			}
			var guid [16]byte
			copy(guid[:], tc.serverGUID)
			if nresp.ServerGUID != guid {
				t.Errorf("ServerGUID %q, want %q", nresp.ServerGUID, guid)
			}
			// The security buffer is a GSS-API/SPNEGO NegTokenInit ([APPLICATION 0]).
			if len(nresp.SecurityBlob) == 0 || nresp.SecurityBlob[0] != 0x60 {
				t.Errorf("SecurityBlob % x...", nresp.SecurityBlob[:min(4, len(nresp.SecurityBlob))])
			}

			reqs := smb2Of(t, msgs, SessionSetup2, false)
			resps := smb2Of(t, msgs, SessionSetup2, true)
			if len(reqs) != len(tc.setupStatuses) || len(resps) != len(tc.setupStatuses) {
				t.Fatalf("%d setup requests, %d responses, want %d", len(reqs), len(resps), len(tc.setupStatuses))
			}
			for i, m := range reqs {
				r, err := ParseSessionSetupRequest2(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				// NTLMSSP inside SPNEGO: NegTokenInit (0x60) then NegTokenResp (0xa1).
				if want := []byte{0x60, 0xa1}[min(i, 1)]; len(r.SecurityBlob) == 0 || r.SecurityBlob[0] != want || !bytes.Contains(r.SecurityBlob, []byte("NTLMSSP\x00")) {
					t.Errorf("frame %d: blob does not hold NTLMSSP in SPNEGO", m.Frame)
				}
				if r.PreviousSessionID != 0 || r.Flags != 0 {
					t.Errorf("frame %d: PreviousSessionID %#x Flags %#x", m.Frame, r.PreviousSessionID, r.Flags)
				}
			}
			for i, m := range resps {
				h, _ := ParseHeader2(m.Msg)
				if h.Status != tc.setupStatuses[i] {
					t.Errorf("frame %d: status %s, want %s", m.Frame, StatusName(h.Status), StatusName(tc.setupStatuses[i]))
				}
				if h.SessionID != tc.sessionID {
					t.Errorf("frame %d: SessionID %#x, want %#x", m.Frame, h.SessionID, tc.sessionID)
				}
				r, err := ParseSessionSetupResponse2(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				switch h.Status {
				case 0xc0000016: // carries the NTLMSSP CHALLENGE
					if !bytes.Contains(r.SecurityBlob, []byte("NTLMSSP\x00\x02\x00\x00\x00")) {
						t.Errorf("frame %d: no CHALLENGE in blob", m.Frame)
					}
				case 0:
					if r.SessionFlags != tc.finalFlags {
						t.Errorf("frame %d: SessionFlags %#x, want %#x", m.Frame, r.SessionFlags, tc.finalFlags)
					}
				default: // ERROR response: nothing but the header status
					if r.SecurityBlob != nil || r.SessionFlags != 0 {
						t.Errorf("frame %d: error response parsed as %+v", m.Frame, r)
					}
				}
			}

			var trees []string
			for _, m := range smb2Of(t, msgs, TreeConnect2, false) {
				p, err := ParseTreeConnectRequest2(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				trees = append(trees, p)
			}
			if !slices.Equal(trees, tc.trees) {
				t.Errorf("trees %q, want %q", trees, tc.trees)
			}

			transforms, signed, unsigned := 0, 0, 0
			for _, m := range msgs {
				switch ProtocolOf(m.Msg) {
				case ProtoTransform:
					th, err := ParseTransformHeader(m.Msg)
					if err != nil {
						t.Fatalf("frame %d: %v", m.Frame, err)
					}
					// Encrypted payload = OriginalMessageSize; AES-128-CCM (1) in 3.0.
					if th.SessionID != tc.sessionID || int(th.OriginalMessageSize) != len(m.Msg)-TransformHeaderLen || th.Flags != 1 {
						t.Errorf("frame %d: transform %+v, msg %d bytes", m.Frame, th, len(m.Msg))
					}
					transforms++
				case ProtoSMB2:
					h, _ := ParseHeader2(m.Msg)
					if h.Command >= TreeDisconnect2 && h.Status != 0x103 {
						if h.IsSigned() {
							signed++
						} else {
							unsigned++
						}
					}
				}
			}
			if signed != tc.signed || unsigned != tc.unsigned {
				t.Errorf("data messages signed %d unsigned %d, want %d %d", signed, unsigned, tc.signed, tc.unsigned)
			}
			if transforms != tc.transformFrames {
				t.Errorf("%d transform messages, want %d", transforms, tc.transformFrames)
			}
		})
	}
}

// Frame-by-frame header values from tshark for smb2_ntlmv2_hostname_signed.
func TestParseHeader2(t *testing.T) {
	msgs := messages(t, capSigned)
	tests := []struct {
		frame                        int
		cmd                          Command2
		status                       uint32
		resp, signed, async, related bool
		msgID, sessID                uint64
		treeID                       uint32
		credits                      uint16
	}{
		{frame: 4, cmd: Negotiate2},
		{frame: 6, cmd: Negotiate2, resp: true, credits: 1},
		{frame: 9, cmd: SessionSetup2, resp: true, status: 0xc0000016, msgID: 1, sessID: 0xe5055a5b, credits: 1},
		{frame: 12, cmd: SessionSetup2, resp: true, signed: true, msgID: 2, sessID: 0xe5055a5b, credits: 8192},
		{frame: 15, cmd: TreeConnect2, resp: true, signed: true, msgID: 3, sessID: 0xe5055a5b, treeID: 0x3d55182e, credits: 1},
		{frame: 17, cmd: Ioctl2, resp: true, signed: true, status: 0xc0000225, msgID: 4, sessID: 0xe5055a5b, treeID: 0x3d55182e},
	}
	for _, tc := range tests {
		h, err := ParseHeader2(byFrame(t, msgs, tc.frame))
		if err != nil {
			t.Fatalf("frame %d: %v", tc.frame, err)
		}
		if h.Command != tc.cmd || h.Status != tc.status || h.IsResponse() != tc.resp || h.IsSigned() != tc.signed ||
			h.IsAsync() != tc.async || h.IsRelated() != tc.related || h.MessageID != tc.msgID || h.SessionID != tc.sessID ||
			h.TreeID != tc.treeID || (tc.credits != 0 && h.Credits != tc.credits) {
			t.Errorf("frame %d: %+v", tc.frame, h)
		}
		if tc.signed == (h.Signature == [16]byte{}) {
			t.Errorf("frame %d: signature % x", tc.frame, h.Signature)
		}
	}
}

// Async interim responses (STATUS_PENDING) carry an AsyncId instead of the
// TreeId: frame 41 is the pending READ (tshark smb2.aid 0x10e, msg_id 270).
func TestParseHeader2Async(t *testing.T) {
	h, err := ParseHeader2(byFrame(t, messages(t, capSigned), 41))
	if err != nil {
		t.Fatal(err)
	}
	if !h.IsAsync() || h.Status != 0x103 || h.Command != Read2 || h.AsyncID != 0x10e || h.MessageID != 270 ||
		h.TreeID != 0 || h.SessionID != 0xe5055a5b || h.IsSigned() {
		t.Errorf("async header %+v", h)
	}
}

// zeek's smb311.pcap: a client offering only 3.1.1 (capabilities 0x77) to a server requiring signing.
func TestZeekSMB311Negotiate(t *testing.T) {
	msgs := messages(t, capZeek311)
	req, err := ParseNegotiateRequest2(byFrame(t, msgs, 1))
	if err != nil {
		t.Fatal(err)
	}
	if req.NumDialects != 1 || req.Dialects[0] != 0x0311 || req.Capabilities != 0x77 || req.SecurityMode != SigningEnabled {
		t.Errorf("request dialects %#04x", req.Dialects[:req.NumDialects])
	}
	resp, err := ParseNegotiateResponse2(byFrame(t, msgs, 2))
	if err != nil {
		t.Fatal(err)
	}
	if DialectString(resp.DialectRevision) != "3.1.1" || resp.SecurityMode != SigningEnabled|SigningRequired || resp.Capabilities != 0x27 {
		t.Errorf("response %+v", resp)
	}
	// tshark: the client's session setup sec_mode is 0x02 (signing required).
	setup, err := ParseSessionSetupRequest2(byFrame(t, msgs, 3))
	if err != nil {
		t.Fatal(err)
	}
	if setup.SecurityMode != SigningRequired || !bytes.Contains(setup.SecurityBlob, []byte("NTLMSSP\x00\x01")) {
		t.Errorf("setup %+v", setup)
	}
	final, err := ParseSessionSetupResponse2(byFrame(t, msgs, 6))
	if err != nil || final.SessionFlags != 0 {
		t.Errorf("final %+v %v", final, err)
	}
}

// The capture with the extension flag does not exist, so the 3.1.1 tree
// connect request extension [MS-SMB2 2.2.9.1] is laid around the real
// path bytes of smb2_ntlmv2_hostname_signed frame 13.
func TestTreeConnect2Extension(t *testing.T) {
	real := byFrame(t, messages(t, capSigned), 13)
	off, n := int(le16(real, Header2Len+4)), int(le16(real, Header2Len+6))
	pathBytes := real[off : off+n]
	const want = `\\dc1.lab.test\IPC$`

	build := func(pathOffset int) []byte {
		m := append([]byte(nil), real[:Header2Len+8]...)
		binary.LittleEndian.PutUint16(m[Header2Len+2:], treeConnectFlagExtensionPresent)
		binary.LittleEndian.PutUint16(m[Header2Len+4:], uint16(pathOffset))
		ext := make([]byte, extension2Len) // no tree connect contexts
		m = append(m, ext...)
		return append(m, pathBytes...)
	}
	for _, tc := range []struct {
		name string
		off  int
	}{
		{"header-relative (spec)", Header2Len + 8 + extension2Len},
		{"extension-relative", extension2Len},
	} {
		p, err := ParseTreeConnectRequest2(build(tc.off))
		if err != nil || p != want {
			t.Errorf("%s: %q %v", tc.name, p, err)
		}
	}
	// Pointing into the extension's fixed part is not a path.
	if _, err := ParseTreeConnectRequest2(build(Header2Len + 8)[:Header2Len+8+extension2Len]); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty extension: %v", err)
	}
}

// Compounded commands: buffers must stay inside their own command.
func TestSMB2NextCommandBoundsBuffers(t *testing.T) {
	real := byFrame(t, messages(t, capSigned), 10) // SESSION_SETUP request with AUTHENTICATE
	m := append([]byte(nil), real...)
	binary.LittleEndian.PutUint32(m[20:], 96) // pretend the next command starts before the blob ends
	if _, err := ParseSessionSetupRequest2(m); !errors.Is(err, ErrTruncated) {
		t.Errorf("blob crossing NextCommand: %v", err)
	}
	binary.LittleEndian.PutUint32(m[20:], 8) // inside the header
	if _, err := ParseHeader2(m); !errors.Is(err, ErrMalformed) {
		t.Errorf("NextCommand 8: %v", err)
	}
}

func TestSMB2Errors(t *testing.T) {
	msgs := messages(t, capSigned)
	negReq, setupReq := byFrame(t, msgs, 4), byFrame(t, msgs, 10)
	tests := []struct {
		name string
		err  error
		fn   func() error
	}{
		{"short header", ErrTruncated, func() error { _, err := ParseHeader2(negReq[:63]); return err }},
		{"smb1 as smb2", ErrWrongMessage, func() error { _, err := ParseHeader2(byFrame(t, messages(t, capNonExt), 4)); return err }},
		{"request as response", ErrWrongMessage, func() error { _, err := ParseNegotiateResponse2(negReq); return err }},
		{"wrong command", ErrWrongMessage, func() error { _, err := ParseSessionSetupRequest2(negReq); return err }},
		{"dialects cut", ErrTruncated, func() error { _, err := ParseNegotiateRequest2(negReq[:Header2Len+36+4]); return err }},
		{"blob cut", ErrTruncated, func() error { _, err := ParseSessionSetupRequest2(setupReq[:len(setupReq)-1]); return err }},
		{"fixed part cut", ErrTruncated, func() error { _, err := ParseSessionSetupRequest2(setupReq[:Header2Len+10]); return err }},
		{"blob offset in header", ErrMalformed, func() error {
			m := append([]byte(nil), setupReq...)
			binary.LittleEndian.PutUint16(m[Header2Len+12:], 10)
			_, err := ParseSessionSetupRequest2(m)
			return err
		}},
		{"transform short", ErrTruncated, func() error { _, err := ParseTransformHeader([]byte("\xfdSMB")); return err }},
	}
	for _, tc := range tests {
		if err := tc.fn(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestNetBIOSAndProtocol(t *testing.T) {
	for _, s := range []struct {
		in     []byte
		typ    byte
		length int
		ok     bool
	}{
		{[]byte{0x00, 0x00, 0x00, 0xe8}, NBSessionMessage, 232, true},
		{[]byte{0x00, 0x01, 0x00, 0x00}, NBSessionMessage, 65536, true}, // 17th bit (RFC 1002 E bit)
		{[]byte{0x00, 0xff, 0xff, 0xff}, NBSessionMessage, 1<<24 - 1, true},
		{[]byte{0x85, 0, 0, 0}, NBKeepAlive, 0, true},
		{[]byte{0x81, 0, 0}, 0, 0, false},
	} {
		typ, n, ok := NetBIOSHeader(s.in)
		if typ != s.typ || n != s.length || ok != s.ok {
			t.Errorf("% x: %#x %d %v", s.in, typ, n, ok)
		}
	}
	for in, want := range map[string]Protocol{
		"\xffSMBr": ProtoSMB1, "\xfeSMB@": ProtoSMB2, "\xfdSMB": ProtoTransform, "\xfcSMB": ProtoCompressed,
		"\xfbSMB": ProtoUnknown, "\xfeSM": ProtoUnknown, "": ProtoUnknown, "\xfeSMC": ProtoUnknown,
	} {
		if got := ProtocolOf([]byte(in)); got != want {
			t.Errorf("ProtocolOf(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestDialectStringAndNeedsBody(t *testing.T) {
	for d, want := range map[uint16]string{0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1", 0x02ff: "2.x", 0x0222: "", 0: ""} {
		if got := DialectString(d); got != want {
			t.Errorf("DialectString(%#04x) = %q, want %q", d, got, want)
		}
	}
	for c := Command2(0); c <= OplockBreak2+1; c++ {
		want := c == Negotiate2 || c == SessionSetup2 || c == Logoff2 || c == TreeConnect2
		if NeedsBody2(c) != want {
			t.Errorf("NeedsBody2(%d) = %v", c, !want)
		}
	}
}

// An SMB2 ERROR response [MS-SMB2 2.2.2] to NEGOTIATE or SESSION_SETUP has
// no command fields: zero value, nil error; the header status tells why.
func TestSMB2ErrorResponse(t *testing.T) {
	msgs := messages(t, capWrongPW)
	failed := byFrame(t, msgs, 11) // real STATUS_LOGON_FAILURE response
	if le16(failed, Header2Len) != 9 || len(failed) != Header2Len+9 {
		t.Fatalf("frame 11 is not an ERROR response: % x", failed[Header2Len:])
	}
	neg := append([]byte(nil), failed...)
	binary.LittleEndian.PutUint16(neg[12:], uint16(Negotiate2))
	binary.LittleEndian.PutUint32(neg[8:], 0xc00000bb) // STATUS_NOT_SUPPORTED
	if r, err := ParseNegotiateResponse2(neg); err != nil || r.DialectRevision != 0 || r.SecurityBlob != nil {
		t.Errorf("negotiate error response: %+v %v", r, err)
	}
}
