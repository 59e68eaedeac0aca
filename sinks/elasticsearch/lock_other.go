//go:build !unix

package elasticsearch

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir: without flock, a lock file created exclusively (removed at close).
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %s is in use by another process (remove %s if not)", dir, filepath.Join(dir, "lock"))
	}
	return f, nil
}

func unlockDir(f *os.File) {
	if f != nil {
		name := f.Name()
		f.Close()
		os.Remove(name)
	}
}
