package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ntlmsensor/decoders/internal/pcaptest"
)

const (
	ri     = "real-implementations/"
	win10  = "public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap"
	zeekRC = "public/zeek/testing/btest/Traces/dce-rpc/"
)

// atFrame returns the message of type typ in the given frame (0: the first).
func atFrame(t *testing.T, rel string, frame int, typ MessageType) []byte {
	t.Helper()
	for _, f := range scan(t, rel) {
		if mt, ok := Peek(f.Msg); ok && mt == typ && (frame == 0 || f.Frame == frame) {
			return f.Msg
		}
	}
	t.Fatalf("%s: no %v in frame %d", rel, typ, frame)
	return nil
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// filetime converts a UTC time to a Windows FILETIME, as tshark displays it.
func filetime(tm time.Time) uint64 {
	const epochDelta = 11644473600 // seconds 1601-01-01 .. 1970-01-01
	return uint64(tm.Unix()+epochDelta)*1e7 + uint64(tm.Nanosecond()/100)
}

func TestParseAuthenticateReal(t *testing.T) {
	// Values from TRUTH.md and tshark (-e ntlmssp.auth.*, ntlmv2_response.*,
	// authenticate.mic, version.*).
	tests := []struct {
		rel                  string
		frame                int
		user, domain, ws     string
		kind                 Kind
		flags                Flags
		version              string // "" = no VERSION
		target               string // MsvAvTargetName
		clientInfo           bool
		avFlags              uint32
		mic                  string // "" = HasMIC false
		realLM               bool
		lmLen, ntLen, keyLen int
	}{
		{ri + "smb2_ntlmv2_hostname_signed.pcap", 0, "alice", "LAB", "WKS01", KindNTLMv2, 0x62088215, "6.1.0", "cifs/dc1.lab.test", true, AvFlagMIC, "52a4b12f7ff447714ce46eed66304d5e", false, 24, 246, 16},
		{ri + "smb1_ntlmv1.pcap", 0, "carol", "FS1", "WKS01", KindNTLMv1, 0x62008215, "6.1.0", "", false, 0, "", false, 24, 24, 16},
		{ri + "smb1_ntlmv1_ess.pcap", 0, "carol", "FS1", "WKS01", KindNTLMv1ESS, 0x62088215, "6.1.0", "", false, 0, "", false, 24, 24, 16},
		{ri + "smb1_ntlmv1_with_lm.pcap", 0, "carol", "FS1", "WKS01", KindNTLMv1, 0x62008215, "6.1.0", "", false, 0, "", true, 24, 24, 16},
		{ri + "smb2_ntlmv1_rejected_by_dc.pcap", 0, "alice", "LAB", "WKS01", KindNTLMv1, 0x62008215, "6.1.0", "", false, 0, "", false, 24, 24, 16},
		{ri + "smb2_anonymous_null.pcap", 0, "", "", "WKS01", KindAnonymous, 0x62008a15, "6.1.0", "", false, 0, "", false, 0, 0, 16},
		{ri + "smb3_impacket_client_ntlmv2.pcap", 0, "alice", "LAB", "", KindNTLMv2, 0xe0888235, "", "cifs/DC1", true, 0, "", false, 24, 152, 16},
		{ri + "ldap_spnego_ntlm_sealed.pcap", 0, "alice", "LAB", "WKS01", KindNTLMv2, 0x62088235, "6.1.0", "ldap/dc1.lab.test", true, AvFlagMIC, "58da7606721b91a1575763f2b30c3d62", false, 24, 246, 16},
		{ri + "ldap_spnego_ntlm_no_signseal.pcap", 0, "alice", "LAB", "WKS01", KindNTLMv2, 0x62088205, "6.1.0", "ldap/dc1.lab.test", true, 0, "", false, 24, 238, 16},
		{ri + "smb2_to_impacket_server.pcap", 0, "bob", "LAB", "WKS01", KindNTLMv2, 0x62080205, "6.1.0", "cifs/127.0.0.40", true, AvFlagMIC, "6f32b25b14ace2c31f5537636d8ba792", false, 24, 254, 16},
		// curl over HTTP: base64 tokens, OEM strings (no FlagUnicode).
		{ri + "http_ntlmv1.pcap", 0, "alice", "LAB", "WORKSTATION", KindNTLMv1, 0x00010206, "", "", false, 0, "", true, 24, 24, 0},
		// Its NTLMv2 blob holds the test server's shifted target info (see
		// TestChallengeShiftedOffsets): no ClientInfo.
		{ri + "http_ntlmv2_hostname.pcap", 0, "alice", "LAB", "WORKSTATION", KindNTLMv2, 0x02890206, "", "", false, 0, "", false, 24, 122, 0},
		// Windows 10 client: anonymous probe, then a user.
		{win10, 20, "", "", "DESKTOP-V1FA0UQ", KindAnonymous, 0xe2888a15, "10.0.10586", "", false, 0, "", false, 1, 0, 16},
		{win10, 45, "user", "DESKTOP-2AEFM7G", "DESKTOP-2AEFM7G", KindNTLMv2, 0xe2888215, "10.0.10586", "cifs/192.168.199.133", true, AvFlagMIC, "c6107a73184fb65fe684f6a1641464be", false, 24, 328, 16},
		{win10, 87, "Tim Tester", "DESKTOP-2AEFM7G", "DESKTOP-2AEFM7G", KindNTLMv2, 0xe2888215, "10.0.10586", "cifs/192.168.199.133", true, AvFlagMIC, "17c2c075ccd92534ec66100f17f18906", false, 24, 328, 16},
		{"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap", 0, "sasladmin@slapd.ldap", "LOCALHOST", "", KindNTLMv1, 0x00000205, "", "", false, 0, "", false, 0, 24, 0},
		{"public/CredSLayer/tests/samples/smb-ntlm3.pcap", 0, "administrator", "VNET3", "BLU", KindNTLMv1ESS, 0, "", "", false, 0, "", false, 24, 24, 0},
	}
	for _, tc := range tests {
		name := tc.rel[strings.LastIndexByte(tc.rel, '/')+1:]
		t.Run(name+"/"+tc.user, func(t *testing.T) {
			a, err := ParseAuthenticate(atFrame(t, tc.rel, tc.frame, AuthenticateType))
			if err != nil {
				t.Fatal(err)
			}
			if a.User != tc.user || a.Domain != tc.domain || a.Workstation != tc.ws {
				t.Errorf("user/domain/ws = %q/%q/%q, want %q/%q/%q", a.User, a.Domain, a.Workstation, tc.user, tc.domain, tc.ws)
			}
			if k := a.Kind(); k != tc.kind {
				t.Errorf("Kind = %q, want %q", k, tc.kind)
			}
			if tc.flags != 0 && a.Flags != tc.flags {
				t.Errorf("Flags = %#x, want %#x", uint32(a.Flags), uint32(tc.flags))
			}
			if got := versionString(a.Version, a.HasVersion); got != tc.version {
				t.Errorf("Version = %q, want %q", got, tc.version)
			}
			if a.HasClientInfo != tc.clientInfo || a.ClientInfo.TargetName != tc.target || a.ClientInfo.Flags != tc.avFlags {
				t.Errorf("ClientInfo has=%v target=%q flags=%#x, want %v %q %#x", a.HasClientInfo, a.ClientInfo.TargetName, a.ClientInfo.Flags, tc.clientInfo, tc.target, tc.avFlags)
			}
			if wantMIC := tc.mic != ""; a.HasMIC != wantMIC || (wantMIC && hex.EncodeToString(a.MIC[:]) != tc.mic) {
				t.Errorf("MIC has=%v %x, want %q", a.HasMIC, a.MIC, tc.mic)
			}
			if !a.HasMIC && a.MIC != [16]byte{} {
				t.Errorf("MIC set without HasMIC: %x", a.MIC)
			}
			if got := a.RealLMResponse(); got != tc.realLM {
				t.Errorf("RealLMResponse = %v, want %v", got, tc.realLM)
			}
			if len(a.LMResponse) != tc.lmLen || len(a.NTResponse) != tc.ntLen || (tc.keyLen != 0 && len(a.EncryptedSessionKey) != tc.keyLen) {
				t.Errorf("lm/nt/key len = %d/%d/%d, want %d/%d/%d", len(a.LMResponse), len(a.NTResponse), len(a.EncryptedSessionKey), tc.lmLen, tc.ntLen, tc.keyLen)
			}
		})
	}
}

func versionString(v Version, has bool) string {
	if !has {
		return ""
	}
	return v.String()
}

// The Samba NTLMv2 blob in full: every AV pair of the client challenge.
func TestAuthenticateClientInfoSamba(t *testing.T) {
	a, err := ParseAuthenticate(first(t, ri+"smb2_ntlmv2_hostname_signed.pcap", AuthenticateType))
	if err != nil {
		t.Fatal(err)
	}
	ci := a.ClientInfo
	want := AVPairs{
		NbDomain: "LAB", NbComputer: "DC1", DNSDomain: "lab.test", DNSComputer: "dc1.lab.test",
		TargetName: "cifs/dc1.lab.test",
		Timestamp:  filetime(time.Date(2026, 11, 25, 13, 53, 19, 853538000, time.UTC)), HasTimestamp: true,
		Flags: AvFlagMIC, HasFlags: true,
		HasChannelBindings: true, // all zero: no TLS under SMB
		SingleHost:         true,
	}
	if ci != want {
		t.Errorf("ClientInfo =\n %+v\nwant\n %+v", ci, want)
	}
	if got := hex.EncodeToString(a.EncryptedSessionKey); got != "9611c82b4b7f9869248cc079d2c16278" {
		t.Errorf("EncryptedSessionKey = %s", got)
	}
	if got := hex.EncodeToString(a.NTResponse[:16]); got != "2e7028386425d4d5f201df3fa799708a" {
		t.Errorf("NTProofStr = %s", got)
	}
	if a.Version.Revision != 15 {
		t.Errorf("Revision = %d", a.Version.Revision)
	}
}

// LMResponse/NTResponse/EncryptedSessionKey alias the input and are capped.
func TestAuthenticateAliasesInput(t *testing.T) {
	msg := first(t, ri+"smb1_ntlmv1_with_lm.pcap", AuthenticateType)
	a, err := ParseAuthenticate(msg)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]byte{"lm": a.LMResponse, "nt": a.NTResponse, "key": a.EncryptedSessionKey} {
		if cap(s) != len(s) || !aliases(msg, s) {
			t.Errorf("%s: not a capped sub-slice of the input", name)
		}
	}
	if hex.EncodeToString(a.LMResponse) != "821f7a389c7d0a6e2705bb8b4d0424d0e29d738f3090ed2a" {
		t.Errorf("LMResponse = %x", a.LMResponse)
	}
}

func aliases(outer, inner []byte) bool {
	if len(inner) == 0 {
		return true
	}
	for i := range outer {
		if &outer[i] == &inner[0] {
			return i+len(inner) <= len(outer)
		}
	}
	return false
}

func TestParseNegotiateReal(t *testing.T) {
	tests := []struct {
		rel         string
		frame       int
		flags       Flags
		domain, ws  string
		version     string
		revision    uint8
		msgBytesLen int // 0: don't check
	}{
		{ri + "smb2_ntlmv2_hostname_signed.pcap", 0, 0x62088215, "", "", "6.1.0", 15, 0},
		{ri + "smb3_impacket_client_ntlmv2.pcap", 0, 0xe0888235, "", "", "", 0, 0},
		{ri + "http_ntlmv1.pcap", 0, 0x00088206, "", "", "", 0, 0},
		{ri + "ldap_spnego_ntlm_sealed.pcap", 0, 0x62088235, "", "", "6.1.0", 15, 0},
		{win10, 18, 0xe2088297, "", "", "10.0.10586", 15, 0},
		// Windows XP volunteering OEM domain and workstation.
		{zeekRC + "ntlm-empty-av-sequence.pcap", 4, 0xa008b207, "CNAMIS", "ALEONARD-XP", "", 0, 0},
		// Domain/workstation present without the *Supplied flags.
		{"public/arkime/tests/pcap/ntlm_synthetic.pcap", 4, 0x02000207, "ARKDOM1", "ARKHOST1", "10.0.19041", 15, 0},
	}
	for _, tc := range tests {
		name := tc.rel[strings.LastIndexByte(tc.rel, '/')+1:]
		t.Run(name, func(t *testing.T) {
			n, err := ParseNegotiate(atFrame(t, tc.rel, tc.frame, NegotiateType))
			if err != nil {
				t.Fatal(err)
			}
			if n.Flags != tc.flags || n.Domain != tc.domain || n.Workstation != tc.ws {
				t.Errorf("got %#x %q %q, want %#x %q %q", uint32(n.Flags), n.Domain, n.Workstation, uint32(tc.flags), tc.domain, tc.ws)
			}
			if got := versionString(n.Version, n.HasVersion); got != tc.version || n.Version.Revision != tc.revision {
				t.Errorf("Version = %q rev %d, want %q rev %d", got, n.Version.Revision, tc.version, tc.revision)
			}
		})
	}
}

func TestParseChallengeReal(t *testing.T) {
	ts := func(s string) uint64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return filetime(tm)
	}
	tests := []struct {
		rel        string
		frame      int
		flags      Flags
		challenge  string
		targetName string
		hasTI      bool
		ti         AVPairs
		version    string
	}{
		{ri + "smb2_ntlmv2_hostname_signed.pcap", 0, 0x62898215, "549016ebe73902e5", "LAB", true,
			AVPairs{NbDomain: "LAB", NbComputer: "DC1", DNSDomain: "lab.test", DNSComputer: "dc1.lab.test", Timestamp: ts("2026-11-25T13:53:19.853538Z"), HasTimestamp: true}, "6.1.0"},
		// Standalone smbd: DNS computer name is the host's ("vm"), no DNS domain.
		{ri + "smb1_ntlmv1.pcap", 0, 0x62828215, "eef7ee20fdbaa1bf", "FS1", true,
			AVPairs{NbDomain: "FS1", NbComputer: "FS1", DNSComputer: "vm", Timestamp: ts("2026-11-25T13:53:55.985923Z"), HasTimestamp: true}, "6.1.0"},
		{ri + "ldap_spnego_ntlm_sealed.pcap", 0, 0x62898235, "4e649569b073f6f2", "LAB", true,
			AVPairs{NbDomain: "LAB", NbComputer: "DC1", DNSDomain: "lab.test", DNSComputer: "dc1.lab.test", Timestamp: ts("2026-11-25T13:54:51.84669Z"), HasTimestamp: true}, "6.1.0"},
		// curl's test server offering no target info and no version.
		{ri + "http_ntlmv1.pcap", 0, 0x00010206, "45c809b3c13e200f", "", false, AVPairs{}, ""},
		// Windows Server 2012 R2 and Windows 10 servers.
		{win10, 19, 0xe28a8215, "88bc9b5834be370d", "SCV", true,
			AVPairs{NbDomain: "SCV", NbComputer: "SCV", DNSDomain: "SCV", DNSComputer: "SCV", Timestamp: ts("2016-10-16T08:09:24.0379861Z"), HasTimestamp: true}, "6.3.9600"},
		{win10, 44, 0xe28a8215, "0e71b47da48a95b9", "DESKTOP-V1FA0UQ", true,
			AVPairs{NbDomain: "DESKTOP-V1FA0UQ", NbComputer: "DESKTOP-V1FA0UQ", DNSDomain: "DESKTOP-V1FA0UQ", DNSComputer: "DESKTOP-V1FA0UQ", Timestamp: ts("2016-10-16T08:13:10.052236Z"), HasTimestamp: true}, "10.0.10586"},
		// Zeek regression inputs: TargetInfo declares 36 bytes; none / only two
		// pairs (no MsvAvEOL) follow before the message ends.
		{zeekRC + "ntlm-empty-av-sequence.pcap", 5, 0x20898205, "b06a306d9fc9db09", "CNAMIS", true, AVPairs{}, ""},
		{zeekRC + "ntlm-unterminated-av-sequence.pcap", 5, 0x20898205, "b06a306d9fc9db09", "CNAMIS", true, AVPairs{NbDomain: "CNAMIS", NbComputer: "SATURN"}, ""},
	}
	for _, tc := range tests {
		name := tc.rel[strings.LastIndexByte(tc.rel, '/')+1:]
		t.Run(name, func(t *testing.T) {
			c, err := ParseChallenge(atFrame(t, tc.rel, tc.frame, ChallengeType))
			if err != nil {
				t.Fatal(err)
			}
			if c.Flags != tc.flags || hex.EncodeToString(c.ServerChallenge[:]) != tc.challenge || c.TargetName != tc.targetName {
				t.Errorf("got %#x %x %q, want %#x %s %q", uint32(c.Flags), c.ServerChallenge, c.TargetName, uint32(tc.flags), tc.challenge, tc.targetName)
			}
			if c.HasTargetInfo != tc.hasTI || c.TargetInfo != tc.ti {
				t.Errorf("TargetInfo %v\n %+v\nwant %v\n %+v", c.HasTargetInfo, c.TargetInfo, tc.hasTI, tc.ti)
			}
			if got := versionString(c.Version, c.HasVersion); got != tc.version {
				t.Errorf("Version = %q, want %q", got, tc.version)
			}
		})
	}
}

// curl's test server (impacket.ntlm) sets FlagVersion and writes VERSION but
// computes the offsets without it: TargetName points at VERSION and
// TargetInfo 8 bytes early. tshark: Target Name "\n", "invalid NTLMSSP
// Target Info AvPairs". The error comes with the fixed fields filled in.
func TestChallengeShiftedOffsets(t *testing.T) {
	c, err := ParseChallenge(first(t, ri+"http_ntlmv2_hostname.pcap", ChallengeType))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if c.Flags != 0x02890206 || hex.EncodeToString(c.ServerChallenge[:]) != "a9169b5877aaafec" || c.TargetName != "\n" || !c.HasTargetInfo || c.HasVersion {
		t.Errorf("partial result: %+v", c)
	}
	// curl copied those bytes into its NTLMv2 blob: no ClientInfo, identity intact.
	a, err := ParseAuthenticate(first(t, ri+"http_ntlmv2_hostname.pcap", AuthenticateType))
	if err != nil || a.HasClientInfo || a.User != "alice" || a.Kind() != KindNTLMv2 {
		t.Errorf("auth: %v %v %q %q", err, a.HasClientInfo, a.User, a.Kind())
	}
}

func TestPeekFind(t *testing.T) {
	// Every payload of the SMB2 capture: Find locates the signature inside the
	// SMB2/SPNEGO framing, Peek reads types 1, 2, 3 in order.
	var types []MessageType
	for _, seg := range pcaptest.Segments(t, ri+"smb2_ntlmv2_hostname_signed.pcap") {
		s := seg.Payload
		i := Find(s)
		if i < 0 {
			continue
		}
		if j := bytes.Index(s, []byte("NTLMSSP\x00")); i != j {
			t.Errorf("Find = %d, want %d", i, j)
		}
		mt, ok := Peek(s[i:])
		if !ok {
			t.Fatalf("Peek failed at %d", i)
		}
		types = append(types, mt)
	}
	if want := []MessageType{NegotiateType, ChallengeType, AuthenticateType}; !equalTypes(types, want) {
		t.Errorf("types = %v, want %v", types, want)
	}
	if _, ok := Peek([]byte("NTLMSSP\x00\x01\x00")); ok {
		t.Error("Peek accepted 10 bytes")
	}
	if _, ok := Peek([]byte("NTLMSSX\x00\x01\x00\x00\x00")); ok {
		t.Error("Peek accepted a wrong signature")
	}
	if Find([]byte("no signature here")) != -1 {
		t.Error("Find found a signature that is not there")
	}
	if s := AuthenticateType.String(); s != "AUTHENTICATE" {
		t.Errorf("String = %q", s)
	}
}

func equalTypes(a, b []MessageType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVersionString(t *testing.T) {
	for v, want := range map[Version]string{
		{Major: 10, Minor: 0, Build: 19041, Revision: 15}: "10.0.19041",
		{Major: 6, Minor: 1, Build: 7601, Revision: 15}:   "6.1.7601",
		{Major: 255, Minor: 255, Build: 65535}:            "255.255.65535",
		{}:                                                "0.0.0",
	} {
		if got := v.String(); got != want {
			t.Errorf("%+v: %q, want %q", v, got, want)
		}
	}
}

func TestKind(t *testing.T) {
	z24 := make([]byte, 24)
	ess := append(unhex(t, "6091ef66442a2bff"), make([]byte, 16)...)
	lm := unhex(t, "821f7a389c7d0a6e2705bb8b4d0424d0e29d738f3090ed2a")
	nt := unhex(t, "3d31bb63ca8e82084baa62a3e90f9bb6bb5d8aefabe6493d")
	v2 := make([]byte, 100)
	tests := []struct {
		name   string
		a      Authenticate
		kind   Kind
		realLM bool
	}{
		{"anonymous, no LM", Authenticate{}, KindAnonymous, false},
		{"anonymous, Z(1)", Authenticate{LMResponse: []byte{0}}, KindAnonymous, false},
		{"anonymous with domain and flag", Authenticate{Domain: "D", Flags: FlagAnonymous, LMResponse: []byte{0}}, KindAnonymous, false},
		{"NTLMv2", Authenticate{User: "u", NTResponse: v2, LMResponse: lm}, KindNTLMv2, false},
		{"NTLMv2, empty user", Authenticate{NTResponse: v2}, KindNTLMv2, false},
		{"ESS", Authenticate{User: "u", NTResponse: nt, LMResponse: ess}, KindNTLMv1ESS, false},
		{"v1, LM = NT", Authenticate{User: "u", NTResponse: nt, LMResponse: nt}, KindNTLMv1, false},
		{"v1, zero LM", Authenticate{User: "u", NTResponse: nt, LMResponse: z24}, KindNTLMv1, false},
		{"v1, no LM", Authenticate{User: "u", NTResponse: nt}, KindNTLMv1, false},
		{"v1, real LM", Authenticate{User: "u", NTResponse: nt, LMResponse: lm}, KindNTLMv1, true},
		{"LM only", Authenticate{User: "u", LMResponse: lm}, KindLM, true},
		{"LM only, no user", Authenticate{LMResponse: lm}, KindUnknown, false},
		{"NT of 16 bytes", Authenticate{User: "u", NTResponse: nt[:16]}, KindUnknown, false},
		{"user, nothing else", Authenticate{User: "u"}, KindUnknown, false},
	}
	for _, tc := range tests {
		if k := tc.a.Kind(); k != tc.kind {
			t.Errorf("%s: Kind = %q, want %q", tc.name, k, tc.kind)
		}
		if r := tc.a.RealLMResponse(); r != tc.realLM {
			t.Errorf("%s: RealLMResponse = %v, want %v", tc.name, r, tc.realLM)
		}
	}
}

// authEnd is the end of the last payload buffer of a real AUTHENTICATE.
func authEnd(b []byte) int {
	end := 0
	for _, at := range []int{auLM, auNT, auDomain, auUser, auWorkstation, auSessionKey} {
		s := readSecBuf(b, at)
		if s.len != 0 {
			end = max(end, int(s.off+s.len))
		}
	}
	return end
}

func isTruncOrMalformed(err error) bool {
	return errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed)
}

func TestAuthenticateMalformed(t *testing.T) {
	orig := first(t, ri+"smb2_ntlmv2_hostname_signed.pcap", AuthenticateType)
	end := authEnd(orig)
	if end != 400 {
		t.Fatalf("payload end = %d, want 400 (tshark: session key at 384+16)", end)
	}
	// Every truncation of the real message is an error.
	for n := 0; n < end; n++ {
		if _, err := ParseAuthenticate(orig[:n]); !isTruncOrMalformed(err) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
	// Trailing bytes (SPNEGO mechListMIC etc.) are tolerated.
	if _, err := ParseAuthenticate(append(bytes.Clone(orig[:end]), 0xde, 0xad)); err != nil {
		t.Fatalf("trailing bytes: %v", err)
	}

	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(orig[:end])
		f(b)
		return b
	}
	le16 := binary.LittleEndian.PutUint16
	le32 := binary.LittleEndian.PutUint32
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"NT offset past end", mutate(func(b []byte) { le32(b[auNT+4:], 0xffffffff) }), ErrTruncated},
		{"user length past end", mutate(func(b []byte) { le16(b[auUser:], 0xffff) }), ErrTruncated},
		{"key offset+len wraps 32 bits", mutate(func(b []byte) { le32(b[auSessionKey+4:], 0xfffffff8) }), ErrTruncated},
		{"NT overlaps header", mutate(func(b []byte) { le32(b[auNT+4:], 8) }), ErrMalformed},
		{"bad signature", mutate(func(b []byte) { b[0] = 'X' }), ErrMalformed},
		{"wrong type", mutate(func(b []byte) { b[8] = 2 }), ErrMalformed},
	}
	for _, tc := range tests {
		if _, err := ParseAuthenticate(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	// smbtorture's deliberately broken AUTHENTICATE (tshark: Malformed Packet).
	for _, rel := range []string{"public/arkime/tests/pcap/smbtorture-ntlmssp-moloch-crash.pcap", "public/CredSLayer/tests/samples/smb-crash.pcap"} {
		if _, err := ParseAuthenticate(first(t, rel, AuthenticateType)); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: err = %v, want ErrTruncated", rel, err)
		}
	}

	// Wrong parser for the message type.
	if _, err := ParseChallenge(orig); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseChallenge(auth) = %v", err)
	}
	if _, err := ParseNegotiate(orig); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseNegotiate(auth) = %v", err)
	}
}

func TestAuthenticateStrings(t *testing.T) {
	orig := first(t, ri+"smb2_ntlmv2_hostname_signed.pcap", AuthenticateType)
	user := readSecBuf(orig, auUser) // "alice", 10 bytes at 364
	withUser := func(raw []byte) []byte {
		b := bytes.Clone(orig[:authEnd(orig)])
		copy(b[user.off:], raw)
		binary.LittleEndian.PutUint16(b[auUser:], uint16(len(raw)))
		return b
	}
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"lone high surrogate", []byte{0x00, 0xd8, 'b', 0, 'c', 0}, "\uFFFDbc"},
		{"lone low surrogate", []byte{'a', 0, 0x00, 0xdc, 'c', 0}, "a\uFFFDc"},
		{"surrogate pair", []byte{0x3d, 0xd8, 0x00, 0xde, 'x', 0}, "😀x"},
		{"non-ASCII BMP", []byte{0xe9, 0x00, 0x14, 0x20}, "é—"},
		// Odd length under FlagUnicode: the client sent OEM (Latin-1).
		{"odd length", []byte{'b', 'o', 0xe9}, "boé"},
	}
	for _, tc := range tests {
		a, err := ParseAuthenticate(withUser(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if a.User != tc.want || !utf8.ValidString(a.User) {
			t.Errorf("%s: User = %q, want %q", tc.name, a.User, tc.want)
		}
		if a.Domain != "LAB" || a.ClientInfo.TargetName != "cifs/dc1.lab.test" {
			t.Errorf("%s: neighbours changed: %q %q", tc.name, a.Domain, a.ClientInfo.TargetName)
		}
	}
}

// A broken AV pair list in the NTLMv2 blob drops ClientInfo (and so the MIC)
// but keeps the identity.
func TestAuthenticateBrokenClientBlob(t *testing.T) {
	orig := first(t, ri+"smb2_ntlmv2_hostname_signed.pcap", AuthenticateType)
	b := bytes.Clone(orig[:authEnd(orig)])
	nt := readSecBuf(b, auNT)
	// First pair (MsvAvNbDomainName, 6 bytes) now claims 0xfff0 bytes.
	binary.LittleEndian.PutUint16(b[nt.off+v2AvPairs+2:], 0xfff0)
	a, err := ParseAuthenticate(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.HasClientInfo || a.ClientInfo != (AVPairs{}) || a.HasMIC {
		t.Errorf("ClientInfo kept: %v %+v mic=%v", a.HasClientInfo, a.ClientInfo, a.HasMIC)
	}
	if a.User != "alice" || a.Domain != "LAB" || a.Workstation != "WKS01" || a.Kind() != KindNTLMv2 {
		t.Errorf("identity lost: %q %q %q %q", a.User, a.Domain, a.Workstation, a.Kind())
	}
}

func TestChallengeMalformed(t *testing.T) {
	orig := first(t, ri+"smb2_ntlmv2_hostname_signed.pcap", ChallengeType)
	for n := 0; n < chMin; n++ {
		if _, err := ParseChallenge(orig[:n]); !isTruncOrMalformed(err) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
	ti := readSecBuf(orig, chTargetInfo)
	end := int(ti.off + ti.len)
	// Truncating inside TargetInfo: clamped, so either the pairs before the
	// cut or ErrTruncated for a cut pair, never a panic or a garbage name.
	for n := chMin; n < end; n++ {
		c, err := ParseChallenge(orig[:n])
		if err != nil && !isTruncOrMalformed(err) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
		if err == nil && c.TargetInfo.DNSComputer != "" && c.TargetInfo.DNSComputer != "dc1.lab.test" {
			t.Fatalf("truncated to %d: DNSComputer %q", n, c.TargetInfo.DNSComputer)
		}
	}
	le32 := binary.LittleEndian.PutUint32
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(orig[:end])
		f(b)
		return b
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"TargetName past end", mutate(func(b []byte) { le32(b[chTargetName+4:], uint32(end)) }), ErrTruncated},
		{"TargetInfo offset past end", mutate(func(b []byte) { le32(b[chTargetInfo+4:], uint32(end+1)) }), ErrMalformed},
		{"TargetInfo overlaps header", mutate(func(b []byte) { le32(b[chTargetInfo+4:], 24) }), ErrMalformed},
		{"MsvAvTimestamp of 4 bytes", mutate(func(b []byte) {
			i := bytes.Index(b[ti.off:], []byte{avTimestamp, 0, 8, 0})
			b[int(ti.off)+i+2] = 4
		}), ErrMalformed},
	}
	for _, tc := range tests {
		if _, err := ParseChallenge(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestNegotiateMalformed(t *testing.T) {
	orig := first(t, zeekRC+"ntlm-empty-av-sequence.pcap", NegotiateType)
	// Windows XP: no VERSION, the payload (CNAMIS, ALEONARD-XP) follows the fields.
	dom := readSecBuf(orig, negDomain)
	ws := readSecBuf(orig, negWorkstation)
	end := int(max(dom.off+dom.len, ws.off+ws.len))
	for n := 0; n < end; n++ {
		_, err := ParseNegotiate(orig[:n])
		if n < negMin && !errors.Is(err, ErrTruncated) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
		if n >= negVersion && !errors.Is(err, ErrTruncated) {
			t.Fatalf("truncated to %d inside the payload: %v", n, err)
		}
	}
	// The 16-byte form (flags only) parses.
	n, err := ParseNegotiate(orig[:negMin])
	if err != nil || n.Flags != 0xa008b207 || n.Domain != "" {
		t.Errorf("16-byte NEGOTIATE: %+v %v", n, err)
	}
	b := bytes.Clone(orig[:end])
	binary.LittleEndian.PutUint32(b[negDomain+4:], 20)
	if _, err := ParseNegotiate(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("overlapping domain: %v", err)
	}
}
