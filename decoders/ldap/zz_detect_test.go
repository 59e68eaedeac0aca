package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ldap "ntlmsensor/decoders/ldap"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/sensor/auth"
)

func TestZZDetect(t *testing.T) {
	root := filepath.Join("..", "..", "pcaps")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "baseline") || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap") || strings.HasSuffix(p, ".gz")) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		seen := map[[2]uint16]bool{}
		for _, s := range pcaptest.Segments(t, rel) {
			k := [2]uint16{s.SrcPort, s.DstPort}
			if seen[k] { continue }
			seen[k] = true
			to := s.DstPort < s.SrcPort
			if v := ldap.Carrier.Detect(to, s.Payload); v == auth.Yes && s.SrcPort != 389 && s.DstPort != 389 {
				t.Logf("%s: %d->%d % x", rel, s.SrcPort, s.DstPort, s.Payload[:min(16, len(s.Payload))])
			}
		}
		return nil
	})
}
