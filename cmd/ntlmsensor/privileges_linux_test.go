//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/elasticsearch/vltest"
)

const confineChild = "NTLMSENSOR_TEST_CONFINE_CHILD"

// TestSeccompRefuses: a process (this test binary again) confined as a
// live capture is (without -user, so it need not be root) goes on
// working: threads are made (Go's clone, glibc's clone3 turned into clone
// in the cgo build), files are read and written, sockets connect; and
// what the sensor never does fails with EPERM instead of killing it: exec,
// fork, a new namespace, a raw socket, ptrace, signalling another process.
// As root, the kernel log names the refused call (syscall=59 for execve).
func TestSeccompRefuses(t *testing.T) {
	if os.Getenv(confineChild) == "1" {
		confinedChild()
		return
	}
	if _, err := seccompPolicyCheck(); err != nil {
		t.Skipf("no seccomp filter on %s: %v", runtime.GOARCH, err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSeccompRefuses$", "-test.v")
	cmd.Env = append(os.Environ(), confineChild+"=1")
	// the Elasticsearch sink, confined, delivers to VictoriaLogs
	var vl *vltest.Server
	if vltest.Binary() != "" {
		vl = vltest.Start(t)
		cmd.Env = append(cmd.Env, confineChild+"_ES="+vl.ESURL())
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "confined: all as expected") {
		t.Fatalf("confined child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if vl != nil {
		if n := vl.MustCount(); n != 1 {
			t.Errorf("%d documents reached VictoriaLogs from the confined sink, not 1", n)
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	// the kernel logs the refusal (SECCOMP_FILTER_FLAG_LOG); dmesg may
	// be out of reach (a container): then this is not checked; the
	// kernel rate-limits these lines: when it dropped some, neither
	want := fmt.Sprintf("pid=%d ", cmd.Process.Pid)
	var log []byte
	for range 20 {
		if log, err = exec.Command("dmesg").Output(); err != nil {
			t.Logf("dmesg: %v: the kernel's log of refusals not checked", err)
			return
		}
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "type=1326") && strings.Contains(line, want) && strings.Contains(line, " syscall=59 ") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(string(log), "callbacks suppressed") {
		t.Logf("no audit line for the refused execve of pid %d in dmesg: the kernel suppressed some", cmd.Process.Pid)
		return
	}
	t.Errorf("no audit line for the refused execve of pid %d in dmesg", cmd.Process.Pid)
}

func seccompPolicyCheck() (int, error) {
	p, n, err := seccompPolicy()
	if err != nil {
		return 0, err
	}
	_, err = p.Assemble()
	return n, err
}

// confinedChild runs in the child process.
func confinedChild() {
	fail := func(format string, a ...any) {
		fmt.Printf("FAIL: "+format+"\n", a...)
		os.Exit(1)
	}
	done, err := confine("", true)
	if err != nil {
		fail("confine: %v", err)
	}
	fmt.Println("confined:", done)
	refused := map[string]error{}
	// first, for the kernel's log (rate-limited); had it been allowed,
	// the test would have become true(1) and said nothing more
	refused["execve"] = unix.Exec("/bin/true", []string{"true"}, nil)
	// new threads: goroutines locked to their threads force new ones
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			time.Sleep(50 * time.Millisecond)
		}()
	}
	wg.Wait()
	// files
	dir, err := os.MkdirTemp("", "confined-")
	if err != nil {
		fail("mkdir: %v", err)
	}
	f := dir + "/f"
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		fail("write: %v", err)
	}
	if err := os.Rename(f, f+".1"); err != nil {
		fail("rename: %v", err)
	}
	// the network: an HTTP server and its client (as the metrics and
	// Elasticsearch), name resolution by the Go and the system resolver
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		fail("http: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		fail("http: %q", b)
	}
	for _, goResolver := range []bool{true, false} {
		r := &net.Resolver{PreferGo: goResolver}
		if _, err := r.LookupHost(context.Background(), "localhost"); err != nil {
			fail("resolving localhost (PreferGo %v): %v", goResolver, err)
		}
	}
	if url := os.Getenv(confineChild + "_ES"); url != "" {
		cfg := elasticsearch.Defaults()
		cfg.URLs, cfg.Headers, cfg.Spool = []string{url}, []string{"VL-Time-Field: @timestamp"}, dir+"/spool"
		sink, err := elasticsearch.Open(cfg)
		if err != nil {
			fail("elasticsearch: %v", err)
		}
		if err := sink.WriteDoc([]byte(`{"@timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","message":"confined"}`)); err != nil {
			fail("elasticsearch: %v", err)
		}
		if err := sink.Close(); err != nil {
			fail("elasticsearch: %v", err)
		}
		if st := sink.Stats(); st.Sent != 1 {
			fail("elasticsearch: %+v", st)
		}
		fmt.Println("confined: delivered to", url)
	}
	if err := os.RemoveAll(dir); err != nil {
		fail("remove: %v", err)
	}
	// what it never does
	if err := exec.Command("/bin/true").Run(); err == nil {
		fail("os/exec ran a program")
	}
	// a fork as clone makes it, never a thread (had it been allowed, the
	// child would leave at once)
	r, _, e := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e == 0 && r == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	refused["fork"] = e
	if e == 0 {
		refused["fork"] = fmt.Errorf("child %d", r)
	}
	refused["unshare"] = unix.Unshare(unix.CLONE_NEWUSER | unix.CLONE_NEWNET)
	_, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	refused["AF_PACKET socket"] = err
	refused["ptrace"] = unix.PtraceAttach(os.Getppid())
	refused["kill"] = unix.Kill(os.Getppid(), 0)
	refused["setuid"] = unix.Setuid(0)
	refused["prctl(PR_SET_DUMPABLE)"] = unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	for what, err := range refused {
		if !errors.Is(err, unix.EPERM) {
			fail("%s: %v, not EPERM", what, err)
		}
	}
	if err := checkThreads(threadState{noNewPrivs: true, seccomp: true}); err != nil {
		fail("%v", err)
	}
	fmt.Println("confined: all as expected")
	os.Exit(0)
}
