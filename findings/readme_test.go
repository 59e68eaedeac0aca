package findings

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's generated flag table")

// flagTable is the README's flag table, made from the Flags catalogue.
func flagTable() string {
	var b strings.Builder
	b.WriteString("| id | severity | raised when | why it matters / remediation |\n|---|---|---|---|\n")
	for _, f := range Flags {
		fmt.Fprintf(&b, "| `%s` | %s (%d) | %s | %s |\n", f.ID, f.Severity, f.Severity, f.RaisedWhen, f.Remediation)
	}
	return b.String()
}

// The README's flag table is the catalogue's (go test ./findings -update
// rewrites it); docs/CONTRACT.md gives each flag the same severity.
func TestREADMEFlagsTable(t *testing.T) {
	const begin, end = "<!-- flags:begin (go test ./findings -update) -->\n", "<!-- flags:end -->"
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README has no generated flag table")
	}
	want := flagTable()
	if got := s[i+len(begin) : j]; got != want {
		if !*update {
			t.Fatalf("README flag table differs from findings.Flags; run go test ./findings -update\ngot:\n%s\nwant:\n%s", got, want)
		}
		if err := os.WriteFile("../README.md", []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := os.ReadFile("../docs/CONTRACT.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Flags {
		row := ""
		for _, l := range strings.Split(string(c), "\n") {
			if strings.HasPrefix(l, "| `"+string(f.ID)+"` |") {
				row = l
			}
		}
		if !strings.HasSuffix(row, "| "+f.Severity.String()+" |") {
			t.Errorf("docs/CONTRACT.md row of %s does not end with its severity %s: %q", f.ID, f.Severity, row)
		}
	}
}
