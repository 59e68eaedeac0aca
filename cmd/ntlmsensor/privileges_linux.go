//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// Locking down, after the capture and the metrics port are open (live.go):
//
//  1. the capability bounding set is emptied (needs CAP_SETPCAP: root has
//     it, the systemd unit grants it), so that no execve could ever regain
//     a capability;
//  2. -user: the process becomes the user, which clears every capability;
//  3. no_new_privs is set;
//  4. live capture, unless -seccomp=false: a seccomp filter lets through
//     only the system calls the sensor makes while it runs
//     (privileges_seccomp_linux.go).
//
// Each of these is a per-thread attribute in Linux, and a Go program has
// several threads before main runs. Go's syscall.AllThreadsSyscall runs a
// call on every thread, but only without cgo (it returns ENOTSUP in the
// libpcap build). libcap's psx package is the one mechanism that works in
// both builds: without cgo it is AllThreadsSyscall, with cgo it runs the
// call on every thread of the process (it finds them in /proc/self/task
// and interrupts each with a signal). Threads made later are cloned from
// one already changed and inherit the change. The seccomp filter is
// installed with SECCOMP_FILTER_FLAG_TSYNC, with which the kernel itself
// puts the filter and no_new_privs on every thread. set*id go through Go's
// syscall package, which applies them to every thread in both builds
// (glibc's broadcast with cgo, AllThreadsSyscall without). Last, every
// thread's /proc/self/task/TID/status is read back: a thread left with a
// capability, without no_new_privs or without the filter stops the sensor
// before it reads a packet.

// confine locks the process down as above. user may be empty (stay who
// we are); filter installs the seccomp filter. It returns what was done,
// for one line on stderr.
func confine(name string, filter bool) (string, error) {
	var done []string
	bounded, err := dropBoundingSet()
	if err != nil {
		return "", err
	}
	if bounded {
		done = append(done, "capability bounding set empty")
	} else {
		done = append(done, "capability bounding set kept (no CAP_SETPCAP to drop it)")
	}
	if name != "" {
		who, err := dropPrivileges(name)
		if err != nil {
			return "", err
		}
		done = append([]string{"running as " + who}, done...)
	}
	if err := allThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		return "", fmt.Errorf("no_new_privs: %v", err)
	}
	done = append(done, "no_new_privs")
	want := threadState{noNewPrivs: true, emptyBounding: bounded, noCaps: name != ""}
	if filter {
		n, err := loadSeccomp()
		if err != nil {
			return "", fmt.Errorf("seccomp: %v (-seccomp=false runs without the filter)", err)
		}
		want.seccomp = true
		done = append(done, fmt.Sprintf("seccomp filter (%d system calls allowed; any other fails with EPERM and the kernel logs it: audit type=1326 syscall=N)", n))
	}
	if err := checkThreads(want); err != nil {
		return "", err
	}
	return strings.Join(done, ", "), nil
}

// allThreadsPrctl runs prctl(option, arg, 0, 0, 0) on every thread.
func allThreadsPrctl(option, arg uintptr) error {
	// six arguments: with cgo, psx's three-argument call leaves the
	// others as they happen to be, and some prctl options want them 0
	if _, _, e := psx.Syscall6(unix.SYS_PRCTL, option, arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// dropBoundingSet empties the capability bounding set of every thread. It
// returns false, without an error, when the set is not empty and the
// process lacks CAP_SETPCAP to change it.
func dropBoundingSet() (bool, error) {
	for c := 0; ; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			return true, nil // past the last capability the kernel knows
		}
		if err != nil {
			return false, fmt.Errorf("reading the capability bounding set: %v", err)
		}
		if in == 0 {
			continue
		}
		if err := allThreadsPrctl(unix.PR_CAPBSET_DROP, uintptr(c)); err != nil {
			if errors.Is(err, unix.EPERM) {
				return false, nil
			}
			return false, fmt.Errorf("dropping capability %d from the bounding set: %v", c, err)
		}
	}
}

// threadState is what checkThreads wants of every thread.
type threadState struct {
	noNewPrivs, emptyBounding, noCaps, seccomp bool
}

// checkThreads reads /proc/self/task/*/status and returns an error naming
// every thread that is not as want says.
func checkThreads(want threadState) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("checking the threads: /proc/self/task: %v", err)
	}
	var bad []string
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread that ended
		}
		if err != nil {
			return fmt.Errorf("checking the threads: %v", err)
		}
		f := statusFields(b)
		tid := filepath.Base(filepath.Dir(task))
		if want.noNewPrivs && f["NoNewPrivs"] != "1" {
			bad = append(bad, tid+": NoNewPrivs "+f["NoNewPrivs"])
		}
		if want.seccomp && f["Seccomp"] != "2" {
			bad = append(bad, tid+": Seccomp "+f["Seccomp"])
		}
		if want.emptyBounding && strings.Trim(f["CapBnd"], "0") != "" {
			bad = append(bad, tid+": CapBnd "+f["CapBnd"])
		}
		if want.noCaps {
			for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
				if strings.Trim(f[k], "0") != "" {
					bad = append(bad, tid+": "+k+" "+f[k])
				}
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("a thread was not locked down: %s", strings.Join(bad, "; "))
	}
	return nil
}

// statusFields parses /proc/PID/status: "Name:\tvalue" lines.
func statusFields(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// dropPrivileges makes the process run as the user name (a name or a
// numeric uid) with its primary and supplementary groups. From root this
// clears every capability (no PR_SET_KEEPCAPS): the sockets already open
// stay usable, nothing else privileged is kept. Go applies the calls to
// every thread of the process.
func dropPrivileges(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr != nil {
			return "", fmt.Errorf("user %q: %v", name, err)
		}
		if u, err = user.LookupId(name); err != nil {
			return "", fmt.Errorf("user %q: %v", name, err)
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return "", fmt.Errorf("user %q: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return "", fmt.Errorf("user %q: gid %q", name, u.Gid)
	}
	gids := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				gids = append(gids, g)
			}
		}
	}
	if err := syscall.Setgroups(gids); err != nil {
		return "", fmt.Errorf("user %q: setgroups: %v", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("user %q: setgid %d: %v", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("user %q: setuid %d: %v", name, uid, err)
	}
	if uid != 0 && syscall.Setuid(0) == nil {
		return "", fmt.Errorf("user %q: root could be regained after the switch", name)
	}
	return fmt.Sprintf("%s (uid %d, gid %d)", u.Username, uid, gid), nil
}
