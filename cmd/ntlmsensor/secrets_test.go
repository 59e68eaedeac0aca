package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A credential header on the command line is refused, without repeating it.
func TestCredentialHeaderOnCommandLineRefused(t *testing.T) {
	const key = "c2VjcmV0LWlkOnNlY3JldC1rZXk="
	for _, args := range [][]string{
		{"-r", realCapture, "-es", "http://127.0.0.1:1", "-es-header", "Authorization: ApiKey " + key},
		{"-r", realCapture, "-es", "http://127.0.0.1:1", "--es-header=x-api-key: " + key},
		{"es-setup", "-es", "http://127.0.0.1:1", "-es-header", "Cookie: sid=" + key},
	} {
		_, errs, status := runCLI(t, args...)
		if status != 2 || !strings.Contains(errs, "carries a credential: on the command line") || strings.Contains(errs, key) {
			t.Errorf("%q: status %d, stderr %q", args, status, errs)
		}
	}
	// other headers are fine there, and a credential header from the environment too
	t.Setenv("NTLMSENSOR_ES_HEADER", "Authorization: ApiKey "+key)
	_, errs, status := runCLI(t, "-q", "-r", realCapture, "-w", filepath.Join(t.TempDir(), "o.jsonl"), "-es", echoServer(t).URL,
		"-es-header", "VL-Time-Field: @timestamp", "-es-retries", "0", "-es-drain-timeout", "1s")
	if strings.Contains(errs, "carries a credential: on the command line") || !strings.Contains(errs, "[redacted]") || strings.Contains(errs, key) || status != 1 {
		t.Errorf("header from the environment: status %d: %s", status, errs)
	}
}

// echoServer answers every bulk request 401 with the request's headers in
// the body, as a proxy's error page may.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			fmt.Fprint(w, `{"version":{"number":"8.15.0"}}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "denied; you sent: Authorization: %s\n", r.Header.Get("Authorization"))
		for k, v := range r.Header {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(v, ", "))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// An API key or password in a file others can read is warned about; a
// server that echoes the credential in its error body does not get it into
// the sensor's messages.
func TestCredentialsNeverPrinted(t *testing.T) {
	srv := echoServer(t)
	dir := t.TempDir()
	const apiKey = "bXlpZDpteS12ZXJ5LXNlY3JldC1hcGkta2V5"
	const password = "correct-horse-battery-staple"
	basic := base64.StdEncoding.EncodeToString([]byte("sensor:" + password))
	keyFile := filepath.Join(dir, "api-key")
	pwFile := filepath.Join(dir, "password")
	os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o644)
	os.WriteFile(pwFile, []byte(password+"\n"), 0o640)
	for _, tc := range []struct {
		name   string
		args   []string
		secret []string
	}{
		{"api key", []string{"-es-api-key-file", keyFile}, []string{apiKey}},
		{"password", []string{"-es-user", "sensor", "-es-password-file", pwFile}, []string{password, basic}},
	} {
		spool := filepath.Join(t.TempDir(), "spool")
		args := append([]string{"-r", realCapture, "-w", filepath.Join(dir, "out.jsonl"), "-es", srv.URL,
			"-es-retries", "0", "-es-drain-timeout", "2s", "-spool", spool}, tc.args...)
		_, errs, _ := runCLI(t, args...)
		if !strings.Contains(errs, "HTTP 401") || !strings.Contains(errs, "[redacted]") {
			t.Errorf("%s: the echoed body was not reported, redacted: %s", tc.name, errs)
		}
		if !strings.Contains(errs, "is readable by its group or others (mode 06") {
			t.Errorf("%s: no warning about the file's mode: %s", tc.name, errs)
		}
		for _, s := range tc.secret {
			if strings.Contains(errs, s) {
				t.Errorf("%s: stderr holds the credential: %s", tc.name, errs)
			}
		}
	}
	os.Chmod(keyFile, 0o600)
	_, errs, _ := runCLI(t, "-r", realCapture, "-w", filepath.Join(dir, "out.jsonl"), "-es", srv.URL, "-es-retries", "0",
		"-es-drain-timeout", "2s", "-spool", filepath.Join(t.TempDir(), "spool"), "-es-api-key-file", keyFile)
	if strings.Contains(errs, "readable by") {
		t.Errorf("warned about a 0600 file: %s", errs)
	}
}
