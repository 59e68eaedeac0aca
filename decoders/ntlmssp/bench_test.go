package ntlmssp

import (
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

func benchParse[T any](b *testing.B, msg []byte, parse func([]byte) (T, error)) {
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Samba smbclient NTLMv2 with a full client blob (9 AV pairs, MIC).
func BenchmarkParseAuthenticateSambaV2(b *testing.B) {
	benchParse(b, first(b, ri+"smb2_ntlmv2_hostname_signed.pcap", AuthenticateType), ParseAuthenticate)
}

// Windows 10 client NTLMv2.
func BenchmarkParseAuthenticateWin10(b *testing.B) {
	benchParse(b, messages(b, win10, AuthenticateType)[1], ParseAuthenticate)
}

// NTLMv1 with a real LM response: no client blob.
func BenchmarkParseAuthenticateV1(b *testing.B) {
	benchParse(b, first(b, ri+"smb1_ntlmv1_with_lm.pcap", AuthenticateType), ParseAuthenticate)
}

// Samba AD DC challenge: TargetName and 6 AV pairs.
func BenchmarkParseChallenge(b *testing.B) {
	benchParse(b, first(b, ri+"smb2_ntlmv2_hostname_signed.pcap", ChallengeType), ParseChallenge)
}

// Samba negotiate: no strings.
func BenchmarkParseNegotiate(b *testing.B) {
	benchParse(b, first(b, ri+"smb2_ntlmv2_hostname_signed.pcap", NegotiateType), ParseNegotiate)
}

// Windows XP negotiate volunteering domain and workstation.
func BenchmarkParseNegotiateXP(b *testing.B) {
	benchParse(b, first(b, zeekRC+"ntlm-empty-av-sequence.pcap", NegotiateType), ParseNegotiate)
}

// Find + Peek over the SMB2 SESSION_SETUP request carrying the AUTHENTICATE.
func BenchmarkFindPeek(b *testing.B) {
	var payload []byte
	for _, s := range pcaptest.Segments(b, ri+"smb2_ntlmv2_hostname_signed.pcap") {
		if i := Find(s.Payload); i >= 0 {
			if t, _ := Peek(s.Payload[i:]); t == AuthenticateType {
				payload = s.Payload
			}
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		i := Find(payload)
		if t, ok := Peek(payload[i:]); !ok || t != AuthenticateType {
			b.Fatal("not found")
		}
	}
}
