// Package vltest runs a real VictoriaLogs server for tests: it accepts the
// Elasticsearch bulk API (and passes the official client's product check),
// so the Elasticsearch sink is tested against a real HTTP server that stores
// what it is sent. It ignores index names, mappings and templates and never
// refuses an item; those paths are tested against a fake (httptest) server.
//
// The binary is installed by .ci/run:
//
//	go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1
package vltest

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the VictoriaLogs release the tests are written against.
const Version = "v1.52.1"

// Headers tell VictoriaLogs which field is the time and which the message.
var Headers = []string{"VL-Time-Field: @timestamp", "VL-Msg-Field: message"}

// Binary finds victoria-logs: $VICTORIA_LOGS, then $(go env GOPATH)/bin,
// then PATH. "" when absent.
func Binary() string {
	if p := os.Getenv("VICTORIA_LOGS"); p != "" {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "victoria-logs")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p
	}
	return ""
}

// Require returns the binary, or skips the test when it is absent — except
// under CI (CI=true), where a missing server is a failure: CI installs it.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "victoria-logs not installed (go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@" + Version + ", or run .ci/run)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if bi, err := buildinfo.ReadFile(bin); err == nil && bi.Main.Version != "" && bi.Main.Version != Version {
		t.Logf("%s is VictoriaLogs %s; tests are written against %s", bin, bi.Main.Version, Version)
	}
	return bin
}

// Server is one VictoriaLogs process on 127.0.0.1.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// FreePort returns a loopback TCP port nothing listens on (now).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// New prepares a server on port (0: a free one) with its own data
// directory; it is not started. It is stopped when the test ends.
func New(t testing.TB, port int) *Server {
	t.Helper()
	bin := Require(t)
	if port == 0 {
		port = FreePort(t)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Port: port}
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server and waits until it answers.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New(t, 0)
	s.Start()
	return s
}

// Base is http://127.0.0.1:PORT.
func (s *Server) Base() string { return "http://127.0.0.1:" + strconv.Itoa(s.Port) }

// ESURL is the address to give the Elasticsearch client.
func (s *Server) ESURL() string { return s.Base() + "/insert/elasticsearch" }

// Start runs the process (again, after Stop: same data) and waits for it.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	s.log = &bytes.Buffer{}
	// captures carry old timestamps: with the default retention VictoriaLogs
	// drops them silently while answering 201
	cmd := exec.Command(s.bin,
		"-httpListenAddr=127.0.0.1:"+strconv.Itoa(s.Port),
		"-storageDataPath="+filepath.Join(s.dir, "data"),
		"-retentionPeriod=100y",
		"-futureRetention=100y",
		"-loggerLevel=WARN",
	)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting victoria-logs: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("victoria-logs exited: %s", s.log.String())
		default:
		}
		if res, err := http.Get(s.Base() + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("victoria-logs did not answer within 60s: %s", s.log.String())
}

// Stop ends the process (SIGTERM, then SIGKILL after 10s).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Query runs a LogsQL query and returns its JSON lines.
func (s *Server) Query(q string) ([]map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Base()+"/internal/force_flush", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, s.Base()+"/select/logsql/query",
		strings.NewReader(url.Values{"query": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return nil, fmt.Errorf("query %q: %s: %s", q, res.Status, b)
	}
	var out []map[string]string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("query %q: %v in %q", q, err, sc.Text())
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Count is the number of documents stored (`* | stats count()`).
func (s *Server) Count() (int, error) {
	rows, err := s.Query("* | stats count() as n")
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("count: %d rows", len(rows))
	}
	return strconv.Atoi(rows[0]["n"])
}

// MustCount is Count, failing the test on error.
func (s *Server) MustCount() int {
	s.t.Helper()
	n, err := s.Count()
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}
