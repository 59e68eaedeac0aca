package smb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/utf16le"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// guidBytes reads tshark's SMB1 GUID text, which is in wire byte order
// (unlike its SMB2 GUIDs).
func guidBytes(tb testing.TB, s string) (g [16]byte) {
	tb.Helper()
	copy(g[:], unhex(tb, strings.ReplaceAll(s, "-", "")))
	return g
}

// withBlock returns msg's header followed by one command block.
func withBlock(msg []byte, wc int, data []byte) []byte {
	m := append([]byte(nil), msg[:Header1Len]...)
	m = append(m, byte(wc))
	m = append(m, make([]byte, 2*wc)...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(data)))
	return append(m, data...)
}

// Facts from TRUTH.md and tshark (smb.dialect.index, smb.sm.*, smb.server_cap,
// smb.challenge, smb.primary_domain, smb.account, smb.*_password,
// smb.security_blob_len, smb.native_os, smb.path, smb.flags2.sec_sig).
func TestSMB1Captures(t *testing.T) {
	type setupReq struct {
		blobLen                     int
		account, domain, os, lanman string
		lm, nt                      string // hex
		caps                        uint32
	}
	tests := []struct {
		pcap         string
		dialectIndex uint16
		secMode      uint8
		caps         uint32
		challenge    string // hex, non-extended only
		domain       string
		server       string
		guid         string // tshark form, extended only
		negBlobLen   int
		setups       []setupReq
		statuses     []uint32 // SESSION_SETUP_ANDX responses
		respBlobLens []int
		uid          uint16
		trees        []string
		unicodeTrees bool
		signed       int // messages other than NEGOTIATE/SESSION_SETUP with SMB_FLAGS2_SMB_SECURITY_SIGNATURE
	}{
		{
			// Non-extended security: raw LM + NTLMv1 responses in SESSION_SETUP_ANDX.
			pcap: capNonExt, dialectIndex: 0, secMode: 0x07, caps: 0x0080f3fc,
			challenge: "a8eceeb7feffeba8", domain: "WORKGRP", server: "FS1",
			setups: []setupReq{{
				account: "carol", domain: "FS1", os: "Unix", lanman: "Samba", caps: 0xc054,
				lm: "24bc77a7bedde5c9d7691635ed9ddc43097119ba63e651c7",
				nt: "704a40f598d4ad8b335e0bbeea872a7f035ab423951a4d4c",
			}},
			statuses: []uint32{0}, respBlobLens: []int{0}, uid: 7004,
			trees: []string{`\\127.0.0.20\IPC$`, `\\127.0.0.20\DATA`}, unicodeTrees: true,
		},
		{
			pcap: capSMB1v1, dialectIndex: 0, secMode: 0x07, caps: 0x8080f3fc,
			guid: "66733100-0000-0000-0000-000000000000", negBlobLen: 74,
			setups:   []setupReq{{blobLen: 74, os: "Unix", lanman: "Samba", caps: 0x8000c054}, {blobLen: 210, os: "Unix", lanman: "Samba", caps: 0x8000c054}},
			statuses: []uint32{0xc0000016, 0}, respBlobLens: []int{139, 29}, uid: 5129,
			trees: []string{`\\FS1.LAB.TEST\IPC$`, `\\FS1.LAB.TEST\DATA`}, unicodeTrees: true,
		},
		{
			// Unicode session setup, then an ASCII (Flags2 without Unicode) tree connect.
			pcap: capSuricata, dialectIndex: 9, secMode: 0x03, caps: 0x8001e3fc,
			guid:     "faab1709-9fe0-c842-89fc-bd16e7f4b07a",
			setups:   []setupReq{{blobLen: 74, os: "Unix", lanman: "Samba", caps: 0x8000c054}, {blobLen: 526, os: "Unix", lanman: "Samba", caps: 0x8000c054}},
			statuses: []uint32{0xc0000016, 0}, respBlobLens: []int{271, 29}, uid: 4096,
			trees: []string{`\\127.0.0.1\IPC$`},
		},
		{
			// All-ASCII Windows 2000 client; requests use DOS error codes; signed.
			pcap: capArkime, dialectIndex: 3, secMode: 0x0f, caps: 0x8001f3fc,
			guid: "96afd22e-c9d0-4b45-87ef-481fdf5653e5",
			setups: []setupReq{
				{blobLen: 85, os: "Windows 2000 2195", lanman: "Windows 2000 5.0", caps: 0x800000d4},
				{blobLen: 369, os: "Windows 2000 2195", lanman: "Windows 2000 5.0", caps: 0x8000d05c},
			},
			statuses: []uint32{0xc0000016, 0}, respBlobLens: []int{219, 9}, uid: 8192,
			trees:  []string{`\\10.10.0.2\IPC$`, `\\10.10.0.2\ADMIN$`},
			signed: 6,
		},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			msgs := messages(t, tc.pcap)

			neg := smb1Of(t, msgs, Cmd1Negotiate, true)
			if len(neg) != 1 {
				t.Fatalf("%d negotiate responses", len(neg))
			}
			n, err := ParseNegotiateResponse1(neg[0].Msg)
			if err != nil {
				t.Fatal(err)
			}
			if n.DialectIndex != tc.dialectIndex || n.SecurityMode != tc.secMode || n.Capabilities != tc.caps {
				t.Errorf("negotiate: index %d mode %#x caps %#x", n.DialectIndex, n.SecurityMode, n.Capabilities)
			}
			if n.SecurityMode&SecuritySignaturesRequired1 != 0 != (tc.pcap == capArkime) {
				t.Errorf("signatures required = %v", n.SecurityMode&SecuritySignaturesRequired1 != 0)
			}
			if tc.challenge != "" {
				if !n.HasChallenge || !bytes.Equal(n.Challenge[:], unhex(t, tc.challenge)) || n.DomainName != tc.domain || n.ServerName != tc.server || n.SecurityBlob != nil {
					t.Errorf("non-extended negotiate %+v", n)
				}
			} else {
				if n.HasChallenge || n.ServerGUID != guidBytes(t, tc.guid) || n.DomainName != "" {
					t.Errorf("extended negotiate %+v", n)
				}
				if tc.negBlobLen != 0 && len(n.SecurityBlob) != tc.negBlobLen {
					t.Errorf("negotiate blob %d bytes, want %d", len(n.SecurityBlob), tc.negBlobLen)
				}
			}

			reqs := smb1Of(t, msgs, Cmd1SessionSetupAndX, false)
			if len(reqs) != len(tc.setups) {
				t.Fatalf("%d setup requests, want %d", len(reqs), len(tc.setups))
			}
			for i, m := range reqs {
				r, err := ParseSessionSetupRequest1(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				w := tc.setups[i]
				if r.Extended != (w.blobLen > 0) || len(r.SecurityBlob) != w.blobLen || r.Account != w.account || r.PrimaryDomain != w.domain ||
					r.NativeOS != w.os || r.NativeLanMan != w.lanman || r.Capabilities != w.caps || r.AndXCommand != Cmd1NoAndX {
					t.Errorf("frame %d: %+v", m.Frame, r)
				}
				if w.blobLen > 0 && !bytes.Contains(r.SecurityBlob, []byte("NTLMSSP\x00")) {
					t.Errorf("frame %d: blob lacks NTLMSSP", m.Frame)
				}
				if !bytes.Equal(r.LMResponse, unhex(t, w.lm)) || !bytes.Equal(r.NTResponse, unhex(t, w.nt)) {
					t.Errorf("frame %d: LM %x NT %x", m.Frame, r.LMResponse, r.NTResponse)
				}
			}

			resps := smb1Of(t, msgs, Cmd1SessionSetupAndX, true)
			if len(resps) != len(tc.statuses) {
				t.Fatalf("%d setup responses, want %d", len(resps), len(tc.statuses))
			}
			for i, m := range resps {
				h, _ := ParseHeader1(m.Msg)
				if h.NTStatus() != tc.statuses[i] || h.UID != tc.uid {
					t.Errorf("frame %d: status %s uid %d", m.Frame, StatusName(h.NTStatus()), h.UID)
				}
				r, err := ParseSessionSetupResponse1(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				if len(r.SecurityBlob) != tc.respBlobLens[i] || r.Action != 0 || r.AndXCommand != Cmd1NoAndX {
					t.Errorf("frame %d: %+v", m.Frame, r)
				}
			}

			var trees []string
			for _, m := range smb1Of(t, msgs, Cmd1TreeConnectAndX, false) {
				h, _ := ParseHeader1(m.Msg)
				if h.Unicode() != tc.unicodeTrees {
					t.Errorf("frame %d: Unicode %v", m.Frame, h.Unicode())
				}
				p, err := ParseTreeConnectAndXRequest1(m.Msg, Header1Len)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				trees = append(trees, p)
			}
			if !slices.Equal(trees, tc.trees) {
				t.Errorf("trees %q, want %q", trees, tc.trees)
			}

			signed := 0
			for _, m := range msgs {
				h, err := ParseHeader1(m.Msg)
				if err != nil {
					t.Fatalf("frame %d: %v", m.Frame, err)
				}
				if h.Command != Cmd1Negotiate && h.Command != Cmd1SessionSetupAndX && h.SecuritySignature() {
					signed++
				}
				if h.ExtendedSecurity() != (tc.challenge == "") {
					t.Errorf("frame %d: ExtendedSecurity %v", m.Frame, h.ExtendedSecurity())
				}
			}
			if signed != tc.signed {
				t.Errorf("%d signed messages, want %d", signed, tc.signed)
			}
		})
	}
}

// The Windows 2000 client of smb-smb1-ascii sends DOS-format status fields
// (Flags2 without NT_STATUS, class 0); the server answers with NTSTATUS.
func TestNTStatusDOS(t *testing.T) {
	msgs := messages(t, capArkime)
	req := byFrame(t, msgs, 15) // TREE_CONNECT_ANDX request
	h, err := ParseHeader1(req)
	if err != nil {
		t.Fatal(err)
	}
	if h.Flags2&flags2NTStatus != 0 || h.NTStatus() != 0 {
		t.Fatalf("flags2 %#x status %#x", h.Flags2, h.NTStatus())
	}
	tests := []struct {
		class uint8
		code  uint16
		want  uint32
		name  string
	}{
		{0, 0, 0, "STATUS_SUCCESS"},
		{errSRV, 2, 0xc000006d, "STATUS_LOGON_FAILURE"}, // ERRSRV/ERRbadpw
		{errDOS, 5, 0xc0000022, "STATUS_ACCESS_DENIED"}, // ERRDOS/ERRnoaccess
		{errSRV, 6, 0xc00000cc, "STATUS_BAD_NETWORK_NAME"},
		{errSRV, 2242, 0xc0000071, "STATUS_PASSWORD_EXPIRED"},
		{0x03, 0x1f, 0xf103001f, "0xf103001f"}, // ERRHRD/ERRgeneral: no mapping, NT_STATUS_DOS form
	}
	for _, tc := range tests {
		h.Status = uint32(tc.class) | uint32(tc.code)<<16
		if got := h.NTStatus(); got != tc.want || StatusName(got) != tc.name {
			t.Errorf("class %d code %d: %#x %s, want %#x %s", tc.class, tc.code, got, StatusName(got), tc.want, tc.name)
		}
	}
	// The server's replies carry NTSTATUS as is.
	resp, _ := ParseHeader1(byFrame(t, msgs, 10))
	if resp.Flags2&flags2NTStatus == 0 || resp.NTStatus() != 0xc0000016 {
		t.Errorf("response status %#x", resp.NTStatus())
	}
}

// suricata-verify smb-eicar-andx frame 22/24: LOCKING_ANDX -> WRITE_ANDX -> CLOSE
// (tshark smb.cmd 0x24,0x2f,0x04; smb.andxoffset 51,83 and 39,54).
func TestAndXCommandsReal(t *testing.T) {
	msgs := messages(t, "public/suricata-verify/tests/smb-eicar-andx/smbandx.pcap")
	for _, tc := range []struct {
		frame int
		want  []AndX
	}{
		{22, []AndX{{Cmd1LockingAndX, 32}, {Cmd1WriteAndX, 51}, {Cmd1Close, 83}}},
		{24, []AndX{{Cmd1LockingAndX, 32}, {Cmd1WriteAndX, 39}, {Cmd1Close, 54}}},
		{13, []AndX{{Cmd1TreeConnectAndX, 32}}},
	} {
		cmds, n, err := AndXCommands(byFrame(t, msgs, tc.frame))
		if err != nil || !slices.Equal(cmds[:n], tc.want) {
			t.Errorf("frame %d: %v %v, want %v", tc.frame, cmds[:n], err, tc.want)
		}
	}
	p, err := ParseTreeConnectAndXRequest1(byFrame(t, msgs, 13), Header1Len)
	if err != nil || p != `\\192.168.1.12\CATENA` {
		t.Errorf("tree %q %v", p, err)
	}
}

// No capture chains TREE_CONNECT_ANDX after SESSION_SETUP_ANDX (smbclient
// sends them apart), so the chain is spliced from the real frames 8 and 10 of
// smb1_nonextsec_lm_ntlmv1, as older Windows clients send it.
func TestChainedTreeConnect(t *testing.T) {
	msgs := messages(t, capNonExt)
	setup, tree := byFrame(t, msgs, 8), byFrame(t, msgs, 10)
	m := append([]byte(nil), setup...)
	if len(m)%2 == 1 { // keep the tree connect block's Unicode alignment as in the original
		m = append(m, 0)
	}
	off := len(m)
	m = append(m, tree[Header1Len:]...)
	m[Header1Len+1] = Cmd1TreeConnectAndX
	binary.LittleEndian.PutUint16(m[Header1Len+3:], uint16(off))

	cmds, n, err := AndXCommands(m)
	if err != nil || !slices.Equal(cmds[:n], []AndX{{Cmd1SessionSetupAndX, Header1Len}, {Cmd1TreeConnectAndX, off}}) {
		t.Fatalf("chain %v %v", cmds[:n], err)
	}
	r, err := ParseSessionSetupRequest1(m)
	if err != nil || r.Account != "carol" || r.AndXCommand != Cmd1TreeConnectAndX || int(r.AndXOffset) != off {
		t.Fatalf("setup %+v %v", r, err)
	}
	p, err := ParseTreeConnectAndXRequest1(m, cmds[1].Offset)
	if err != nil || p != `\\127.0.0.20\IPC$` {
		t.Errorf("chained tree %q %v", p, err)
	}
}

func TestAndXCommandsErrors(t *testing.T) {
	setup := byFrame(t, messages(t, capNonExt), 8)
	chain := func(next uint8, off uint16) []byte {
		m := append([]byte(nil), setup...)
		m[Header1Len+1] = next
		binary.LittleEndian.PutUint16(m[Header1Len+3:], off)
		return m
	}
	// Backwards and self-referencing offsets would loop.
	for _, off := range []uint16{0, 20, Header1Len} {
		if _, n, err := AndXCommands(chain(Cmd1TreeConnectAndX, off)); !errors.Is(err, ErrMalformed) || n != 1 {
			t.Errorf("offset %d: n=%d %v", off, n, err)
		}
	}
	if _, n, err := AndXCommands(chain(Cmd1TreeConnectAndX, uint16(len(setup)))); !errors.Is(err, ErrTruncated) || n != 1 {
		t.Errorf("offset past end: n=%d %v", n, err)
	}
	// A chain of nine LOGOFF_ANDX blocks (WordCount 2) exceeds the bound.
	m := append([]byte(nil), setup[:Header1Len]...)
	m[4] = Cmd1LogoffAndX
	for i := range 9 {
		next := uint16(len(m) + 7)
		m = append(m, 2, Cmd1LogoffAndX, 0, byte(next), byte(next>>8), 0, 0)
		if i == 8 {
			m[len(m)-6] = Cmd1NoAndX
		}
	}
	if cmds, n, err := AndXCommands(m); !errors.Is(err, ErrMalformed) || n != 8 || cmds[7].Command != Cmd1LogoffAndX {
		t.Errorf("9-long chain: n=%d %v", n, err)
	}
	if cmds, n, err := AndXCommands(m[:Header1Len+7*8]); !errors.Is(err, ErrTruncated) || n != 8 || cmds[7].Offset != Header1Len+7*7 {
		t.Errorf("8-long chain cut: n=%d %v", n, err)
	}
}

func TestSMB1Errors(t *testing.T) {
	msgs := messages(t, capNonExt)
	negResp, setup, tree := byFrame(t, msgs, 6), byFrame(t, msgs, 8), byFrame(t, msgs, 10)
	patch := func(b []byte, at int, v ...byte) []byte {
		m := append([]byte(nil), b...)
		copy(m[at:], v)
		return m
	}
	tests := []struct {
		name string
		err  error
		fn   func() error
	}{
		{"short header", ErrTruncated, func() error { _, err := ParseHeader1(setup[:31]); return err }},
		{"smb2 as smb1", ErrWrongMessage, func() error { _, err := ParseHeader1(byFrame(t, messages(t, capSigned), 4)); return err }},
		{"request as response", ErrWrongMessage, func() error { _, err := ParseSessionSetupResponse1(setup); return err }},
		{"wrong command", ErrWrongMessage, func() error { _, err := ParseSessionSetupRequest1(tree); return err }},
		{"ByteCount past end", ErrTruncated, func() error { _, err := ParseSessionSetupRequest1(setup[:len(setup)-1]); return err }},
		{"words cut", ErrTruncated, func() error { _, err := ParseSessionSetupRequest1(setup[:Header1Len+10]); return err }},
		{"password longer than data", ErrTruncated, func() error {
			_, err := ParseSessionSetupRequest1(patch(setup, Header1Len+1+16, 0xff, 0x00))
			return err
		}},
		{"setup WordCount 11", ErrMalformed, func() error { _, err := ParseSessionSetupRequest1(withBlock(setup, 11, nil)); return err }},
		{"negotiate WordCount 16", ErrMalformed, func() error { _, err := ParseNegotiateResponse1(withBlock(negResp, 16, nil)); return err }},
		{"extended negotiate without GUID", ErrTruncated, func() error {
			m := withBlock(negResp, 17, make([]byte, 15))
			binary.LittleEndian.PutUint32(m[Header1Len+1+19:], CapExtendedSecurity1)
			_, err := ParseNegotiateResponse1(m)
			return err
		}},
		{"setup response WordCount 5", ErrMalformed, func() error { _, err := ParseSessionSetupResponse1(withBlock(byFrame(t, msgs, 9), 5, nil)); return err }},
		{"challenge longer than data", ErrTruncated, func() error {
			_, err := ParseNegotiateResponse1(patch(negResp, Header1Len+1+33, 0xff))
			return err
		}},
		{"tree WordCount 3", ErrMalformed, func() error {
			_, err := ParseTreeConnectAndXRequest1(patch(tree, Header1Len, 3), Header1Len)
			return err
		}},
		{"tree offset in header", ErrMalformed, func() error { _, err := ParseTreeConnectAndXRequest1(tree, 4); return err }},
		{"tree offset past end", ErrTruncated, func() error { _, err := ParseTreeConnectAndXRequest1(tree, len(tree)); return err }},
	}
	for _, tc := range tests {
		if err := tc.fn(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

// An SMB1 error response has WordCount 0 and no fields: zero value, nil error.
func TestSMB1ErrorResponse(t *testing.T) {
	resp := byFrame(t, messages(t, capNonExt), 9) // SESSION_SETUP_ANDX response, success
	m := append([]byte(nil), resp[:Header1Len]...)
	binary.LittleEndian.PutUint32(m[5:], 0xc000006d)
	m = append(m, 0, 0, 0) // WordCount 0, ByteCount 0
	r, err := ParseSessionSetupResponse1(m)
	if err != nil || r.SecurityBlob != nil || r.AndXCommand != Cmd1NoAndX {
		t.Errorf("%+v %v", r, err)
	}
	if cmds, n, err := AndXCommands(m); err != nil || n != 1 || cmds[0].Command != Cmd1SessionSetupAndX {
		t.Errorf("chain %v %v", cmds[:n], err)
	}
}

// Pre-NT LANMAN SESSION_SETUP_ANDX (WordCount 10) carries one OEM password;
// built from the real NT LM 0.12 request of smb1_nonextsec_lm_ntlmv1 frame 8
// (24-byte LM response, strings re-encoded as OEM).
func TestSessionSetupLANMAN(t *testing.T) {
	real := byFrame(t, messages(t, capNonExt), 8)
	r0, err := ParseSessionSetupRequest1(real)
	if err != nil {
		t.Fatal(err)
	}
	m := append([]byte(nil), real[:Header1Len]...)
	binary.LittleEndian.PutUint16(m[10:], le16(m, 10)&^flags2Unicode)
	m = append(m, 10)
	m = append(m, real[Header1Len+1:Header1Len+1+14]...) // AndX .. SessionKey
	m = binary.LittleEndian.AppendUint16(m, uint16(len(r0.LMResponse)))
	m = append(m, 0, 0, 0, 0)
	data := append(append([]byte(nil), r0.LMResponse...), "CAROL\x00FS1\x00Unix\x00Samba\x00"...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(data)))
	m = append(m, data...)
	r, err := ParseSessionSetupRequest1(m)
	if err != nil || r.Extended || !bytes.Equal(r.LMResponse, r0.LMResponse) || r.NTResponse != nil ||
		r.Account != "CAROL" || r.PrimaryDomain != "FS1" || r.NativeOS != "Unix" || r.NativeLanMan != "Samba" {
		t.Errorf("%+v %v", r, err)
	}
}

func TestNeedsBody1(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c == Cmd1Negotiate || c == Cmd1SessionSetupAndX || c == Cmd1LogoffAndX || c == Cmd1TreeConnectAndX
		if NeedsBody1(uint8(c)) != want {
			t.Errorf("NeedsBody1(%#x) = %v", c, !want)
		}
	}
}

func TestStatusName(t *testing.T) {
	for s, want := range map[uint32]string{
		0:          "STATUS_SUCCESS",
		0x103:      "STATUS_PENDING",
		0xc0000016: "STATUS_MORE_PROCESSING_REQUIRED",
		0xc000006d: "STATUS_LOGON_FAILURE",
		0xc0000234: "STATUS_ACCOUNT_LOCKED_OUT",
		0xc0000224: "STATUS_PASSWORD_MUST_CHANGE",
		0xc0000388: "STATUS_DOWNGRADE_DETECTED",
		0xc00000ca: "STATUS_NETWORK_ACCESS_DENIED",
		0x12345678: "0x12345678",
		0xdeadbeef: "0xdeadbeef",
		0x00000001: "0x00000001",
	} {
		if got := StatusName(s); got != want {
			t.Errorf("StatusName(%#x) = %q, want %q", s, got, want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"a\x00b\x00", "ab"},
		{"a\x00b", "a"},                    // odd trailing byte dropped
		{"\xe9\x00", "é"},                  // Latin-1 range
		{"\x3d\xd8\x00\xde", "\U0001F600"}, // surrogate pair
		{"\x3d\xd8a\x00", "\uFFFDa"},       // high surrogate without low
		{"\x00\xdca\x00", "\uFFFDa"},       // lone low surrogate
		{"a\x00\x3d\xd8", "a\uFFFD"},       // high surrogate at end
	} {
		if got := utf16le.String([]byte(tc.in)); got != tc.want {
			t.Errorf("utf16le.String(% x) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := oemString([]byte("caf\xe9")); got != "café" {
		t.Errorf("oemString Latin-1 = %q", got)
	}
	if got := oemString([]byte("café")); got != "café" {
		t.Errorf("oemString UTF-8 = %q", got)
	}
}

// LANMAN 2.1 (WordCount 13) and bare (WordCount 1) NEGOTIATE responses,
// carrying the real challenge of smb1_nonextsec_lm_ntlmv1 frame 6.
func TestNegotiateResponse1OlderForms(t *testing.T) {
	real := byFrame(t, messages(t, capNonExt), 6)
	n0, err := ParseNegotiateResponse1(real)
	if err != nil {
		t.Fatal(err)
	}
	m := withBlock(real, 13, append(n0.Challenge[:], "WORKGRP\x00"...))
	binary.LittleEndian.PutUint16(m[10:], le16(m, 10)&^flags2Unicode)
	w := m[Header1Len+1:]
	binary.LittleEndian.PutUint16(w[0:], 5)
	w[2] = SecurityUserLevel1 | SecurityEncryptPasswords1
	binary.LittleEndian.PutUint16(w[22:], 8)
	n, err := ParseNegotiateResponse1(m)
	if err != nil || n.DialectIndex != 5 || n.SecurityMode != 0x03 || !n.HasChallenge || n.Challenge != n0.Challenge || n.DomainName != "WORKGRP" {
		t.Errorf("LANMAN 2.1: %+v %v", n, err)
	}

	m = withBlock(real, 1, nil)
	binary.LittleEndian.PutUint16(m[Header1Len+1:], 0xffff) // no dialect accepted
	if n, err := ParseNegotiateResponse1(m); err != nil || n.DialectIndex != 0xffff || n.HasChallenge {
		t.Errorf("WordCount 1: %+v %v", n, err)
	}
}
