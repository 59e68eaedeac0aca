//go:build linux

package main

// Live capture tests. They need root: they make a pair of network
// namespaces joined by a veth pair (no address anywhere: the namespaces
// see only what the test sends), run the built ntlmsensor on one end and
// replay real captures with tcpreplay on the other. Without root they are
// skipped; without tcpreplay (Debian package tcpreplay) too, unless CI=true,
// where that is a failure.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ntlmsensor/internal/netns"
)

// needLive skips the test unless it can make namespaces and capture.
func needLive(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("live capture tests need Linux (network namespaces, AF_PACKET)")
	}
	if os.Geteuid() != 0 {
		t.Skip("live capture tests need root (network namespaces, AF_PACKET): skipped; run `go test` as root to run them")
	}
	needTool(t, "ip", "iproute2")
	needTool(t, "tcpreplay", "tcpreplay")
}

// needTool skips the test when a program is missing, or fails it under
// CI=true, where the environment must provide it.
func needTool(t *testing.T, name, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		msg := fmt.Sprintf("%s not found: install the Debian package %s (apt-get install -y %s)", name, debianPackage, debianPackage)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI must provide it")
		}
		t.Skip(msg + ": skipped")
	}
}

// newNetnsPair makes two namespaces joined by a veth pair, removed when
// the test ends.
func newNetnsPair(t *testing.T) *netns.Pair {
	t.Helper()
	p, err := netns.NewPair("st")
	t.Cleanup(p.Remove)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sensorProc is a running ntlmsensor.
type sensorProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	ready  chan struct{}
	exited chan struct{}
	err    error
}

func (s *sensorProc) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stderr.Write(b)
	if bytes.Contains(s.stderr.Bytes(), []byte("capturing on")) {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}
	return len(b), nil
}

func (s *sensorProc) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// startSensor runs ntlmsensor in namespace ns and waits until it captures.
func startSensor(t *testing.T, ns string, args ...string) *sensorProc {
	t.Helper()
	return startBinary(t, sensorBinary(t), ns, args...)
}

// startBinary is startSensor with a binary already built.
func startBinary(t *testing.T, bin, ns string, args ...string) *sensorProc {
	t.Helper()
	s := &sensorProc{ready: make(chan struct{}), exited: make(chan struct{})}
	s.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	s.cmd.Stderr = s
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case <-s.ready:
	case <-s.exited:
		t.Fatalf("ntlmsensor exited: %v\n%s", s.err, s.Stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("ntlmsensor did not start capturing:\n%s", s.Stderr())
	}
	return s
}

// stop sends SIGTERM and waits for the exit status.
func (s *sensorProc) stop(t *testing.T) int {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("ntlmsensor did not stop within a minute of SIGTERM:\n%s", s.Stderr())
	}
	if s.err != nil {
		if ee, ok := s.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(s.err)
	}
	return 0
}

// replay sends captures out of the interface with tcpreplay and returns
// the number of packets it sent.
func replay(t *testing.T, ns, iface string, opts []string, files ...string) int {
	t.Helper()
	args := append([]string{"netns", "exec", ns, "tcpreplay", "-i", iface}, opts...)
	out, err := exec.Command("ip", append(args, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Successful packets:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("tcpreplay: no packet count in\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// scrape reads the sensor's metrics from inside its namespace.
func scrape(t *testing.T, ns, addr string) map[string]float64 {
	t.Helper()
	m, err := netns.Scrape(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitMetric polls until cond holds on the metrics, or fails.
func waitMetric(t *testing.T, ns, addr string, what string, cond func(m map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := scrape(t, ns, addr)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s: %v", what, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLiveCaptureMatchesOffline: the real captures replayed on a veth are
// reported, live, exactly as offline analysis reports them (but for
// @timestamp, the time of capture): with AF_PACKET fanout over two rings,
// and with libpcap and two workers behind it. Every packet sent is read,
// none is dropped, and SIGTERM ends the capture with status 0 after
// writing everything.
func TestLiveCaptureMatchesOffline(t *testing.T) {
	needLive(t)
	files := realCaptures(t)
	want := offline(t, files)
	if len(want) < 40 {
		t.Fatalf("only %d distinct offline findings", len(want))
	}
	for _, method := range []string{"afpacket", "pcap"} {
		t.Run(method, func(t *testing.T) {
			pair := newNetnsPair(t)
			out := filepath.Join(t.TempDir(), "findings.jsonl")
			const addr = "127.0.0.1:9108" // inside the sensor's own namespace
			s := startSensor(t, pair.NsA, "-i", pair.IfA, "-capture", method, "-workers", "2", "-w", out,
				"-observer", "test", "-metrics", addr, "-stats-interval", "1s")
			sent := replay(t, pair.NsB, pair.IfB, []string{"--pps", "2000"}, files...)
			m := waitMetric(t, pair.NsA, addr, fmt.Sprintf("all %d packets read", sent), func(m map[string]float64) bool {
				return m["ntlmsensor_packets_received_total"] >= float64(sent)
			})
			if m["ntlmsensor_packets_received_total"] != float64(sent) || m["ntlmsensor_kernel_drops_total"] != 0 {
				t.Errorf("sent %d, read %v, kernel drops %v", sent, m["ntlmsensor_packets_received_total"], m["ntlmsensor_kernel_drops_total"])
			}
			if status := s.stop(t); status != 0 {
				t.Fatalf("exit status %d after SIGTERM:\n%s", status, s.Stderr())
			}
			errs := s.Stderr()
			if !strings.Contains(errs, fmt.Sprintf("stopped: %s up", pair.IfA)) || !strings.Contains(errs, fmt.Sprintf(": %d frames", sent)) {
				t.Errorf("no exit summary with %d frames:\n%s", sent, errs)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := canonical(t, b)
			diffFindings(t, want, got, "offline", "live")
			// replayed in name order, bob's AES AS-REQ
			// (krb_clock_skew_as_impacket, 13:54:36 when captured) comes
			// before his RC4-only one (krb_rc4_only_client, 13:54:29): an
			// RC4 downgrade. Offline, files are read in capture order and
			// one run per file sees no alert.
			if ids := ruleIDs(t, string(b)); !slices.Equal(ids, []string{"kerberos_downgrade_request"}) {
				t.Errorf("live alerts %v, want the one RC4 downgrade", ids)
			}
			if !strings.Contains(errs, "ntlmsensor: detect: 1 alerts (kerberos_downgrade_request 1)") || !strings.Contains(errs, "written, 0 failed), 1 alerts;") {
				t.Errorf("the exit summary does not count the alert:\n%s", errs)
			}
			if !t.Failed() {
				n := 0
				for _, c := range got {
					n += c
				}
				t.Logf("%d packets replayed, %d findings, equal to offline analysis", sent, n)
			}
		})
	}
}

// TestLiveDropsAreCounted: a ring of two 128 KiB blocks, a reader that
// cannot read (stopped with SIGSTOP) and a fast replay: the kernel drops,
// and the drops are counted (metrics, summary), never hidden: every packet
// the kernel took for the sensor was either read or counted dropped.
func TestLiveDropsAreCounted(t *testing.T) {
	needLive(t)
	files := realCaptures(t)
	pair := newNetnsPair(t)
	const addr = "127.0.0.1:9108"
	s := startSensor(t, pair.NsA, "-i", pair.IfA, "-workers", "1", "-ring-size", "256K", "-w", filepath.Join(t.TempDir(), "f.jsonl"),
		"-metrics", addr, "-stats-interval", "0")
	s.cmd.Process.Signal(syscall.SIGSTOP)
	sent := replay(t, pair.NsB, pair.IfB, []string{"--topspeed", "--loop", "10"}, files...)
	s.cmd.Process.Signal(syscall.SIGCONT)
	m := waitMetric(t, pair.NsA, addr, "every packet read or dropped", func(m map[string]float64) bool {
		seen := m["ntlmsensor_kernel_packets_total"]
		return seen > 0 && m["ntlmsensor_packets_received_total"]+m["ntlmsensor_kernel_drops_total"] == seen
	})
	read, dropped, seen := m["ntlmsensor_packets_received_total"], m["ntlmsensor_kernel_drops_total"], m["ntlmsensor_kernel_packets_total"]
	if dropped == 0 {
		t.Fatalf("no drop counted: sent %d, kernel saw %v, read %v", sent, seen, read)
	}
	if seen > float64(sent) {
		t.Errorf("kernel saw %v packets, only %d were sent", seen, sent)
	}
	if status := s.stop(t); status != 0 {
		t.Fatalf("exit status %d:\n%s", status, s.Stderr())
	}
	if want := fmt.Sprintf("%d seen, %d dropped", int(seen), int(dropped)); !strings.Contains(s.Stderr(), want) {
		t.Errorf("exit summary does not say %q:\n%s", want, s.Stderr())
	}
	t.Logf("sent %d, kernel saw %v: %v read, %v dropped (counted)", sent, seen, read, dropped)
}

// TestLiveUserDropsPrivileges: with -user the sensor opens the rings as
// root, then runs as the user locked down: on every thread no capability,
// an empty bounding set, no_new_privs and the seccomp filter; in both
// builds (the libpcap one reading through libpcap, the static one through
// AF_PACKET), since the two reach every thread differently. Locked down
// it still captures: findings reach the file within a second, the metrics
// are served, SIGHUP reopens the file after it was moved away (as the
// user), SIGTERM ends the run with status 0.
func TestLiveUserDropsPrivileges(t *testing.T) {
	needLive(t)
	for _, build := range []struct{ name, cgo, method string }{{"libpcap", "1", "pcap"}, {"static", "0", "afpacket"}} {
		t.Run(build.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "ntlmsensor")
			cmd := exec.Command("go", "build", "-o", bin, ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+build.cgo)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("CGO_ENABLED=%s go build: %v\n%s", build.cgo, err, out)
			}
			userDropsPrivileges(t, bin, build.method)
		})
	}
}

func userDropsPrivileges(t *testing.T, bin, method string) {
	pair := newNetnsPair(t)
	dir, err := os.MkdirTemp("", "ntlmsensor-user-") // reachable by nobody, unlike t.TempDir
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	out := filepath.Join(dir, "findings.jsonl")
	const addr = "127.0.0.1:9108" // inside the sensor's own namespace
	s := startBinary(t, bin, pair.NsA, "-i", pair.IfA, "-capture", method, "-workers", "2", "-user", "nobody", "-w", out,
		"-observer", "test", "-metrics", addr)
	// every thread, not just the main one
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", s.cmd.Process.Pid))
	if len(tasks) < 2 {
		t.Fatalf("threads: %v", tasks)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "Uid:", "Gid:":
				for _, id := range f[1:] {
					if id == "0" {
						t.Errorf("%s: still root: %s", task, line)
					}
				}
			case "CapPrm:", "CapEff:", "CapAmb:", "CapInh:", "CapBnd:":
				if strings.Trim(f[1], "0") != "" {
					t.Errorf("%s: capabilities kept: %s", task, line)
				}
			case "NoNewPrivs:":
				if f[1] != "1" {
					t.Errorf("%s: %s", task, line)
				}
			case "Seccomp:":
				if f[1] != "2" {
					t.Errorf("%s: no seccomp filter: %s", task, line)
				}
			}
		}
	}
	t.Logf("%d threads locked down", len(tasks))
	replay(t, pair.NsB, pair.IfB, []string{"--pps", "2000"}, filepath.Join(realDir, "smb2_ntlmv2_by_ip.pcap"))
	waitFile(t, out, "alice")
	waitMetric(t, pair.NsA, addr, "a finding", func(m map[string]float64) bool {
		return m["ntlmsensor_packets_received_total"] > 0
	})
	// logrotate: move the file away, SIGHUP, and the sensor (no longer
	// root) writes a new one
	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitFile(t, out, "")
	replay(t, pair.NsB, pair.IfB, []string{"--pps", "2000"}, filepath.Join(realDir, "http_ntlmv1.pcap"))
	if st := s.stop(t); st != 0 {
		t.Fatalf("exit status %d:\n%s", st, s.Stderr())
	}
	for _, want := range []string{"running as nobody", "capability bounding set empty", "no_new_privs", "seccomp filter ("} {
		if !strings.Contains(s.Stderr(), want) {
			t.Errorf("no %q in stderr:\n%s", want, s.Stderr())
		}
	}
	before, _ := os.ReadFile(out + ".1")
	after, _ := os.ReadFile(out)
	if n := len(canonical(t, before)); n != 1 || !bytes.Contains(before, []byte(`"smb"`)) {
		t.Errorf("before SIGHUP: %d findings: %s", n, before)
	}
	if n := len(canonical(t, after)); n != 1 || !bytes.Contains(after, []byte(`"http"`)) {
		t.Errorf("after SIGHUP: %d findings: %s", n, after)
	}
	if fi, err := os.Stat(out); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 65534 {
			t.Errorf("the reopened file belongs to uid %d, not nobody", st.Uid)
		}
	}
}

// waitFile waits until path exists and holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q: %v %s", path, want, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
