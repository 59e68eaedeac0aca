package main

import (
	"sort"
	"strings"
	"testing"
)

// alertRules runs the command with -detect over captures and returns the
// rule.id of every alert document written, sorted, and the findings.
func alertRules(t *testing.T, workers string, captures ...string) (rules []string, findings int) {
	t.Helper()
	args := []string{"-q", "-detect", "-workers", workers, "-observer", "test"}
	for _, c := range captures {
		args = append(args, "-r", "../../pcaps/public/"+c)
	}
	out, errs, status := runCLI(t, args...)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	for _, d := range parseFindings(t, out) {
		ev, _ := d["event"].(map[string]any)
		if ev["dataset"] != "ntlmsensor.alert" { // findings with flags are kind "alert" too
			findings++
			continue
		}
		r, _ := d["rule"].(map[string]any)
		id, _ := r["id"].(string)
		rules = append(rules, id)
	}
	sort.Strings(rules)
	return rules, findings
}

// TestDetectAlerts: with -detect the alerts of public attack-like captures
// come out with the findings, the same with 1 and 2 workers (the stage
// orders findings by capture time); without it, none.
func TestDetectAlerts(t *testing.T) {
	caps := []string{"zeek/testing/btest/Traces/krb/kinit.pcap", "zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap"}
	one, n1 := alertRules(t, "1", caps...)
	two, n2 := alertRules(t, "2", caps...)
	if strings.Join(one, ",") != strings.Join(two, ",") || n1 != n2 {
		t.Errorf("1 worker: %v (%d findings); 2 workers: %v (%d)", one, n1, two, n2)
	}
	for _, want := range []string{"asrep_roasting", "brute_force", "password_spray"} {
		found := false
		for _, r := range one {
			found = found || strings.Contains(r, want)
		}
		if !found {
			t.Errorf("no %s alert in %v", want, one)
		}
	}
	out, _, _ := runCLI(t, "-q", "-r", "../../pcaps/public/"+caps[0])
	if strings.Contains(out, `"dataset":"ntlmsensor.alert"`) {
		t.Error("alerts without -detect")
	}
}
