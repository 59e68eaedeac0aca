// Package tmpfs mounts a small tmpfs for tests that need a real full disk
// (ENOSPC and short writes, as a full partition gives them). It needs
// root on Linux: elsewhere, the test is skipped.
package tmpfs

import (
	"os"
	"path/filepath"
	"testing"
)

// Fill writes a file of n bytes into dir (to be removed later: space
// coming back), failing the test when it does not fit.
func Fill(t testing.TB, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	if err := os.WriteFile(p, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
