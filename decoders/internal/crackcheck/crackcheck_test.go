package crackcheck

import (
	"encoding/hex"
	"testing"
)

// TestNFold: the n-fold vectors of RFC 3961 A.1.
func TestNFold(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"012345", 8, "be072631276b1955"},
		{"password", 7, "78a07b6caf85fa"},
		{"kerberos", 16, "6b65726265726f737b9b5b2b93132b93"},
		{"kerberos", 8, "6b65726265726f73"},
	} {
		if got := hex.EncodeToString(nfold([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("%d-fold(%q) = %s, want %s", tc.n*8, tc.in, got, tc.want)
		}
	}
}

// TestNTHash: MS-NLMP 4.2.2.1.2, NTOWFv1("Password").
func TestNTHash(t *testing.T) {
	if got := hex.EncodeToString(NTHash("Password")); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Error(got)
	}
}

// TestNTLMv1Response: MS-NLMP 4.2.2.2.1, the NTLMv1 response to server
// challenge 0123456789abcdef (without ESS).
func TestNTLMv1Response(t *testing.T) {
	ch, _ := hex.DecodeString("0123456789abcdef")
	if got := hex.EncodeToString(NTLMv1Response("Password", ch, nil)); got != "67c43011f30298a2ad35ece64f16331c44bdbed927841f94" {
		t.Error(got)
	}
}
