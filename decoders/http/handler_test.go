package http_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
)

func pieces(t testing.TB, rel string, port uint16) []carriertest.Piece {
	var ps []carriertest.Piece
	for _, s := range pcaptest.Segments(t, rel) {
		ps = append(ps, carriertest.Piece{ToServer: s.DstPort == port, Data: s.Payload})
	}
	return ps
}

func directions(t testing.TB, rel string, port uint16) (client, server []byte) {
	for _, s := range pcaptest.Segments(t, rel) {
		if s.DstPort == port {
			client = append(client, s.Payload...)
		} else if s.SrcPort == port {
			server = append(server, s.Payload...)
		}
	}
	return client, server
}

// TestHandlerChunking: however the bytes are cut, the findings are the same.
func TestHandlerChunking(t *testing.T) {
	pieces := pieces(t, "real-implementations/http_ntlmv1.pcap", 8081)
	for _, chunk := range []int{1 << 20, 100, 7, 1} {
		fs := carriertest.Drive(http.Carrier, pieces, chunk)
		if len(fs) != 1 {
			t.Fatalf("chunk %d: %d findings", chunk, len(fs))
		}
		f := fs[0]
		if f.UserName != "alice" || f.UserDomain != "LAB" || f.NTLM.Version != "NTLMv1" || f.NTLM.LMResponse != findings.True ||
			f.HTTP.Host != "web.lab.test" || f.HTTP.StatusCode != 200 || f.HTTP.Method != "GET" || f.Outcome != findings.Success ||
			f.SPNEGO != findings.False {
			t.Fatalf("chunk %d: %+v", chunk, f)
		}
	}
}

func FuzzHandler(f *testing.F) {
	for _, tc := range []struct {
		rel  string
		port uint16
	}{
		{"real-implementations/http_ntlmv2_hostname.pcap", 80},
		{"real-implementations/http_negotiate_kerberos.pcap", 80},
		{"public/CredSLayer/tests/samples/http-ntlm.pcap", 80},
	} {
		c, s := directions(f, tc.rel, tc.port)
		f.Add(c, s, uint16(1460))
	}
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16) {
		for _, fd := range carriertest.Drive(http.Carrier, carriertest.Alternate(client, server, int(chunk%4096)+1), 1460) {
			if fd.Outcome == "" || fd.Protocol != "http" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
}
