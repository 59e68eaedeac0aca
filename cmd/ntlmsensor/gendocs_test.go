package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The man page and the bash completion name every option of the program
// and of its subcommands; the man page renders, the completion parses and
// completes.
func TestGeneratedDocs(t *testing.T) {
	var man, comp, errb bytes.Buffer
	if st := run([]string{"gen-man"}, &man, &errb); st != 0 {
		t.Fatalf("gen-man: %d %s", st, errb.String())
	}
	if st := run([]string{"gen-completion"}, &comp, &errb); st != 0 {
		t.Fatalf("gen-completion: %d %s", st, errb.String())
	}
	names := map[string]bool{}
	es, _, _ := esSetupFlags(io.Discard)
	kb, _ := kibanaSetupFlags(io.Discard)
	for _, fs := range []*flag.FlagSet{es, kb} {
		fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	}
	for _, n := range []string{"r", "w", "i", "capture", "config", "user", "list-flags", "es", "es-retention", "es-index-time", "print", "kibana", "kibana-space"} {
		names[n] = true
	}
	for n := range names {
		if !strings.Contains(man.String(), ".B \\-"+strings.ReplaceAll(n, "-", "\\-")+"\n") && !strings.Contains(man.String(), ".B \\-"+strings.ReplaceAll(n, "-", "\\-")+" ") {
			t.Errorf("man page lacks -%s", n)
		}
		if !strings.Contains(comp.String(), " -"+n+" ") && !strings.Contains(comp.String(), " -"+n+"\"") {
			t.Errorf("completion lacks -%s", n)
		}
	}
	// a default that is the build machine's is not written as it
	if !strings.Contains(man.String(), "(default: the host name)") {
		t.Error("the man page does not say -observer defaults to the host name")
	}
	dir := t.TempDir()
	if _, err := exec.LookPath("bash"); err == nil {
		path := filepath.Join(dir, "c.bash")
		os.WriteFile(path, comp.Bytes(), 0o644)
		// complete "ntlmsensor -es-ind" and "ntlmsensor -capture a" with
		// stand-ins for bash-completion's helpers
		script := `_init_completion() { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
_filedir() { :; }
source ` + path + `
COMP_WORDS=(ntlmsensor -es-ind); COMP_CWORD=1; _ntlmsensor; echo "${COMPREPLY[*]}"
COMP_WORDS=(ntlmsensor -capture a); COMP_CWORD=2; _ntlmsensor; echo "${COMPREPLY[*]}"
COMP_WORDS=(ntlmsensor es-setup -pr); COMP_CWORD=2; _ntlmsensor; echo "${COMPREPLY[*]}"
COMP_WORDS=(ntlmsensor kib); COMP_CWORD=1; _ntlmsensor; echo "${COMPREPLY[*]}"`
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if want := "-es-index -es-index-time\nafpacket\n-print\nkibana-setup\n"; string(out) != want {
			t.Errorf("completions %q, want %q", out, want)
		}
	}
	if _, err := exec.LookPath("man"); err == nil {
		path := filepath.Join(dir, "ntlmsensor.1")
		os.WriteFile(path, man.Bytes(), 0o644)
		cmd := exec.Command("man", "--warnings", "-l", path)
		cmd.Env = append(os.Environ(), "MANWIDTH=100", "MANPAGER=cat", "PAGER=cat")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "kibana-setup") || strings.Contains(string(out), "warning") {
			t.Errorf("man: %v\n%s", err, out)
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if st := run([]string{"--version"}, &out, &errb); st != 0 || !strings.HasPrefix(out.String(), "ntlmsensor ") || !strings.Contains(out.String(), "commit ") || !strings.Contains(out.String(), "built ") {
		t.Fatalf("%d %q", st, out.String())
	}
}
