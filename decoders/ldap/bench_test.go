package ldap

import (
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

func benchParse(b *testing.B, rel string, sig string) {
	msg := pcaptest.Find(b, rel, []byte(sig))[0]
	n, ok, err := MessageLength(msg)
	if !ok || err != nil {
		b.Fatal("bad seed")
	}
	msg = msg[:n]
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// SPNEGO bind carrying the NTLM AUTHENTICATE (Samba client), 472 bytes.
func BenchmarkParseBindRequestSPNEGO(b *testing.B) {
	benchParse(b, "real-implementations/ldap_spnego_ntlm_sealed.pcap", "\x30\x82\x01\xd4\x02\x01\x03\x60")
}

// Bind response with the SPNEGO-wrapped CHALLENGE, saslBindInProgress.
func BenchmarkParseBindResponseChallenge(b *testing.B) {
	benchParse(b, "real-implementations/ldap_spnego_ntlm_sealed.pcap", "\x30\x81\xc1\x02\x01\x02\x61")
}

// Windows DC failure response (0x84 lengths) with a diagnosticMessage.
func BenchmarkParseBindResponseWindows49(b *testing.B) {
	benchParse(b, "public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap", "\x30\x84\x00\x00\x00\x68")
}

// Simple bind with a DN (one string allocation for the name).
func BenchmarkParseSimpleBind(b *testing.B) {
	benchParse(b, "real-implementations/ldap_simple_bind_success.pcap", "\x30\x25\x02\x01\x01\x60")
}

func BenchmarkMessageLength(b *testing.B) {
	msg := pcaptest.Find(b, "public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap", []byte("\x30\x84\x00\x00\x02\x32"))[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := MessageLength(msg); !ok || err != nil {
			b.Fatal(err)
		}
	}
}
