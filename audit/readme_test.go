package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's table of causes is CauseTable, and every cause cites
// Microsoft's documentation.
func TestREADMECauses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(pcapsDir(), "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), CauseTable()) {
		t.Errorf("README lacks the cause table; it is:\n%s", CauseTable())
	}
	for _, c := range Causes {
		if len(c.Docs) == 0 || c.RemovedBy == "" || c.Events == "" {
			t.Errorf("%s: incomplete", c.ID)
		}
	}
}
