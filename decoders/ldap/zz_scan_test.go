package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZZScan(t *testing.T) {
	root := filepath.Join("..", "..", "pcaps")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "baseline") || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap") || strings.HasSuffix(p, ".gz")) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fs := analyse(t, rel)
		if len(fs) > 0 {
			t.Logf("%s: %d", rel, len(fs))
			for _, f := range fs {
				if !strings.Contains(rel, "ldap") {
					t.Logf("   %s", f.AppendJSON(nil))
				}
			}
		}
		return nil
	})
}
