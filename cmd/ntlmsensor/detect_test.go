package main

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

// detectRun runs the command over public captures and returns the rule.id
// of every alert written, sorted, and the number of findings.
func detectRun(t *testing.T, workers string, extra []string, captures ...string) (rules []string, findings int) {
	t.Helper()
	args := append([]string{"-q", "-workers", workers, "-observer", "test"}, extra...)
	for _, c := range captures {
		args = append(args, "-r", "../../pcaps/public/"+c)
	}
	out, errs, status := runCLI(t, args...)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	return ruleIDs(t, out), len(parseFindings(t, out))
}

// TestDetectAlerts: detection is on by default, and the alerts of public
// attack-like captures come out with the findings, the same with 1 and 2
// workers (the stage orders findings by capture time): kinit, an MIT KDC
// whose principals need no pre-authentication (3 AS-REPs without it) and
// one principal failing 6 times; an attack lab failing NTLM LDAP binds for
// 6 accounts (audit/detect/detect_test.go says why each). -detect=false
// writes the same findings and no alert.
func TestDetectAlerts(t *testing.T) {
	caps := []string{"zeek/testing/btest/Traces/krb/kinit.pcap", "zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap"}
	want := []string{"asrep_roasting", "asrep_roasting", "asrep_roasting", "brute_force", "password_spray"}
	one, n1 := detectRun(t, "1", nil, caps...)
	two, n2 := detectRun(t, "2", []string{"-detect"}, caps...)
	if !slices.Equal(one, want) || !slices.Equal(two, want) || n1 != n2 {
		t.Errorf("1 worker: %v (%d findings); 2 workers, -detect: %v (%d); want %v", one, n1, two, n2, want)
	}
	off, n := detectRun(t, "1", []string{"-detect=false"}, caps...)
	if len(off) != 0 || n != n1 || n < 20 {
		t.Errorf("-detect=false: alerts %v, %d findings (%d with detection)", off, n, n1)
	}
}

// The README's "Attack alerts" section names -detect=false and every
// threshold option.
func TestDetectOptionsInREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	o := addDetectFlags(fs)
	if !*o.on {
		t.Error("-detect is off by default")
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		name := "`-" + f.Name + "`"
		if f.Name == "detect" {
			name = "`-detect=false`"
		}
		if !strings.Contains(readme, name) {
			t.Errorf("README does not name %s", name)
		}
		n++
	})
	if n != 11 {
		t.Errorf("%d detect options", n)
	}
}
