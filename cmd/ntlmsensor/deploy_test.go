package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: deploy/ntlmsensor.service passes systemd-analyze verify
// (where systemd is installed), with ExecStart pointing at a real binary,
// and runs the sensor with the example configuration.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/ntlmsensor.service")
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/ntlmsensor -config /etc/ntlmsensor/ntlmsensor.conf"
	if !strings.Contains(string(unit), exec0) {
		t.Fatalf("unit does not contain %q", exec0)
	}
	for _, f := range []string{"../../deploy/ntlmsensor.conf", "../../deploy/ntlmsensor.sysusers"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not found (Debian package systemd): unit not verified")
	}
	bin := sensorBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ntlmsensor.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/ntlmsensor", bin)), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
