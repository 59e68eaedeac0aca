package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestEmitHashes: -emit-hashes writes one line per crackable exchange of
// the captures (NTLMv2 over SMB, NTLMv1, AES and RC4 pre-authentication,
// service tickets) to a 0600 file, says so on stderr without a line
// of it, and changes nothing in the findings. (The lines themselves are
// verified against the lab passwords in decoders/carrier and decoders/kdc.)
func TestEmitHashes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hashes.txt")
	args := []string{"-workers", "2", "-observer", "test"}
	for _, c := range []string{"smb2_ntlmv2_hostname_signed.pcap", "smb2_ntlmv1_unsigned.pcap", "krb_as_tgs_aes_success.pcap", "krb_rc4_only_client.pcap", "http_negotiate_kerberos.pcap", "smb2_wrong_password.pcap"} {
		args = append(args, "-r", filepath.Join(realDir, c))
	}
	plain, _, status := runCLI(t, args...)
	if status != 0 {
		t.Fatalf("status %d", status)
	}
	out, errs, status := runCLI(t, append([]string{"-emit-hashes", file}, args...)...)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	diffFindings(t, canonical(t, []byte(plain)), canonical(t, []byte(out)), "without -emit-hashes", "with")
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("hash file: %v %v", st, err)
	}
	data, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var kinds []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "$"):
			kinds = append(kinds, l[:strings.Index(l[1:], "$")+4])
		case strings.Count(l, ":") == 5:
			kinds = append(kinds, "netntlm "+strings.Split(l, ":")[0])
		default:
			t.Errorf("unexpected line shape")
		}
		if strings.Contains(errs, l[len(l)-32:]) || strings.Contains(out, l[len(l)-32:]) {
			t.Error("hash material on stderr or in a finding")
		}
	}
	sort.Strings(kinds)
	// alice's AS-REQ in two captures, bob's RC4 one; the service tickets of
	// cifs/dc1 (AES, twice) and of HTTP/web (RC4); the two NTLM logons that
	// succeeded (not the wrong password)
	want := []string{"$krb5pa$18", "$krb5pa$18", "$krb5pa$23", "$krb5tgs$18", "$krb5tgs$18", "$krb5tgs$23", "netntlm alice", "netntlm carol"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("lines %v, want %v", kinds, want)
	}
	if !strings.Contains(errs, "-emit-hashes: writing crackable") || !strings.Contains(errs, "8 lines written") {
		t.Errorf("stderr: %s", errs)
	}

	// an existing file with a wider mode is narrowed, and appended to
	os.Chmod(file, 0o644)
	if _, errs, status := runCLI(t, "-q", "-emit-hashes", file, "-r", filepath.Join(realDir, "smb2_ntlmv2_hostname_signed.pcap")); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if data, _ := os.ReadFile(file); strings.Count(string(data), "\n") != 9 {
		t.Errorf("%d lines after a second run", strings.Count(string(data), "\n"))
	}
}
