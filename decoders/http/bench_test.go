package http

import (
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

func BenchmarkParseRequestNTLM(b *testing.B) {
	msg := realHead(b, "GET / HTTP/1.1\r\nHost: web.lab.test\r\nAuthorization: NTLM TlRMTVNTUAAD")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := ParseRequest(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// A browser request (Firefox, 10 headers) without credentials.
func BenchmarkParseRequestBrowser(b *testing.B) {
	msg := pcaptest.Find(b, "public/CredSLayer/tests/samples/http-ntlm.pcap", []byte("GET / HTTP/1.1\r\n"))[0]
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := ParseRequest(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse401(b *testing.B) {
	msg := realHead(b, "HTTP/1.1 401")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := ParseResponse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeToken(b *testing.B) {
	req, _, _ := ParseRequest(realHead(b, "GET / HTTP/1.1\r\nHost: web.lab.test\r\nAuthorization: NTLM TlRMTVNTUAAD"))
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(req.Authorization.Token)))
	for b.Loop() {
		if _, err := DecodeToken(dst, req.Authorization.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedSkip(b *testing.B) {
	enc := chunkEncode(realBody(b, 5000), []int{1460}, "", "", "\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	var c Chunked
	for b.Loop() {
		c.Reset()
		if _, done, err := c.Skip(enc); err != nil || !done {
			b.Fatal(err)
		}
	}
}
