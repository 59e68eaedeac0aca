package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDumpCauses(t *testing.T) {
	if os.Getenv("AUDIT_DUMP") == "" {
		t.Skip()
	}
	paths := publicCaptures(t)
	if os.Getenv("AUDIT_DUMP") == "real" {
		paths, _ = filepath.Glob(realPcap("*.pcap"))
	}
	for _, p := range paths {
		r := analyse(t, []string{p}, 1, nil)
		for _, f := range ntlmOf(r.found) {
			fmt.Printf("%s %v %s\\%s ws=%s -> %s %v | %s\n", p[len(pcapsDir()):], f.Client, f.UserDomain, f.UserName, f.NTLM.Workstation, f.Cause, f.Causes, f.CauseEvidence)
		}
	}
}
