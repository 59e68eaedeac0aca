package ntlmssp

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"ntlmsensor/decoders/internal/pcaptest"
)

// seed adds every message of type typ from the real captures plus a few
// public ones (Windows, XP, broken AV lists, smbtorture's malformed AUTH).
func seed(f *testing.F, typ MessageType) {
	rels, err := filepath.Glob(pcaptest.Path("real-implementations/*.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	for i, p := range rels {
		rels[i] = "real-implementations/" + filepath.Base(p)
	}
	rels = append(rels, win10,
		zeekRC+"ntlm-empty-av-sequence.pcap",
		zeekRC+"ntlm-unterminated-av-sequence.pcap",
		zeekRC+"mapi.pcap",
		"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
		"public/arkime/tests/pcap/smbtorture-ntlmssp-moloch-crash.pcap",
		"public/arkime/tests/pcap/ntlm_synthetic.pcap",
		"public/CredSLayer/tests/samples/smb-ntlm3.pcap",
	)
	n := 0
	for _, rel := range rels {
		for _, m := range scan(f, rel) {
			if t, ok := Peek(m.Msg); ok && t == typ {
				f.Add(m.Msg)
				n++
			}
		}
	}
	if n == 0 {
		f.Fatalf("no %v seeds", typ)
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

// checkText: decoded text is valid UTF-8, has no NUL and is at most 3 bytes
// per input byte (nothing sized by a length field).
func checkText(t *testing.T, in []byte, ss ...string) {
	t.Helper()
	total := 0
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("bad text %q", s)
		}
		total += len(s)
	}
	if total > 3*len(in) {
		t.Fatalf("%d bytes of text from %d input bytes", total, len(in))
	}
}

func avText(av *AVPairs) []string {
	return []string{av.NbComputer, av.NbDomain, av.DNSComputer, av.DNSDomain, av.DNSTree, av.TargetName}
}

func FuzzParseNegotiate(f *testing.F) {
	seed(f, NegotiateType)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseNegotiate(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if typ, _ := Peek(b); typ != NegotiateType {
			t.Fatalf("parsed a %v", typ)
		}
		checkText(t, b, m.Domain, m.Workstation)
		if m.HasVersion && m.Flags&FlagVersion == 0 {
			t.Fatal("VERSION without FlagVersion")
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	seed(f, ChallengeType)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseChallenge(b)
		checkText(t, b, append(avText(&m.TargetInfo), m.TargetName)...) // partial results too
		if err != nil {
			checkErr(t, err)
			return
		}
		if typ, _ := Peek(b); typ != ChallengeType {
			t.Fatalf("parsed a %v", typ)
		}
		if m.HasVersion && m.Flags&FlagVersion == 0 {
			t.Fatal("VERSION without FlagVersion")
		}
		if !m.HasTargetInfo && m.TargetInfo != (AVPairs{}) {
			t.Fatalf("TargetInfo without HasTargetInfo: %+v", m.TargetInfo)
		}
		if string(m.ServerChallenge[:]) != string(b[24:32]) {
			t.Fatal("ServerChallenge not bytes 24-32")
		}
	})
}

func FuzzParseAuthenticate(f *testing.F) {
	seed(f, AuthenticateType)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAuthenticate(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if typ, _ := Peek(b); typ != AuthenticateType {
			t.Fatalf("parsed a %v", typ)
		}
		checkText(t, b, append(avText(&m.ClientInfo), m.User, m.Domain, m.Workstation)...)
		for _, s := range [][]byte{m.LMResponse, m.NTResponse, m.EncryptedSessionKey} {
			if len(s) != cap(s) || !aliases(b, s) {
				t.Fatal("response is not a capped sub-slice of the input")
			}
		}
		switch m.Kind() {
		case KindNTLMv2, KindNTLMv1ESS, KindNTLMv1, KindLM, KindAnonymous, KindUnknown:
		default:
			t.Fatalf("Kind %q", m.Kind())
		}
		if k := m.Kind(); m.RealLMResponse() && k != KindLM && k != KindNTLMv1 {
			t.Fatalf("RealLMResponse with Kind %q", k)
		}
		if m.HasMIC && (!m.HasClientInfo || m.ClientInfo.Flags&AvFlagMIC == 0) {
			t.Fatal("HasMIC without MsvAvFlags MIC bit")
		}
		if !m.HasMIC && m.MIC != [16]byte{} {
			t.Fatal("MIC bytes without HasMIC")
		}
		if !m.HasClientInfo && m.ClientInfo != (AVPairs{}) {
			t.Fatal("ClientInfo without HasClientInfo")
		}
		if m.HasVersion && m.Flags&FlagVersion == 0 {
			t.Fatal("VERSION without FlagVersion")
		}
		if again, _ := ParseAuthenticate(b); !reflect.DeepEqual(again, m) {
			t.Fatal("not deterministic")
		}
	})
}
