package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make static: the build without cgo reads captures like the libpcap build,
// and refuses a BPF filter with a message that names the libpcap build.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary without cgo")
	}
	bin := filepath.Join(t.TempDir(), "ntlmsensor-static")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	pcap := filepath.Join(realDir, "smb2_ntlmv2_by_ip.pcap")
	var stdout, stderr bytes.Buffer
	cmd = exec.Command(bin, "-q", "-r", pcap)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), `"user":{"name":"alice","domain":"LAB"}`) {
		t.Fatalf("static build over a capture: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	cmd = exec.Command(bin, "-q", "-r", pcap, "port", "445")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "BPF filters need the libpcap build") || stdout.Len() != 0 {
		t.Fatalf("a filter in the static build: %v, stderr %q, stdout %q", err, stderr.String(), stdout.String())
	}
	out, _ := exec.Command(bin, "--version").Output()
	if !strings.Contains(string(out), "static build (no cgo)") {
		t.Errorf("--version: %s", out)
	}
}
