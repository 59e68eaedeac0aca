//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp filter of a live capture. It is an allow-list of what the
// sensor does once its capture is open: the Go runtime (memory, threads,
// futexes, signals to itself, timers, epoll), reading the capture sockets
// (poll, recvfrom, getsockopt for the kernel's counters), files (the -w
// file and its rotation, the Elasticsearch spool and its lock, /proc for
// the metrics, certificates, /etc for name resolution), the network
// (Elasticsearch, DNS, the metrics server's connections). Anything else
// (execve, fork, ptrace, mount, namespaces, bpf, module loading, set*id,
// chown, keyrings, io_uring...) fails with EPERM rather than killing the
// process: a refusal the list did not foresee is then an error the sensor
// reports and survives where it can, not a lost capture; and with
// SECCOMP_FILTER_FLAG_LOG the kernel logs each refusal with the number of
// the system call ("audit: type=1326 ... syscall=59" in dmesg or the
// journal), so an operator sees what was refused and by whom.
//
// The names cover 386, amd64, arm and arm64 (those go-seccomp-bpf knows);
// names an architecture lacks are passed over. Arguments are checked where
// that is cheap and closes a door: clone must make a thread (no fork, no
// new namespace), clone3 (whose flags sit in memory a filter cannot read)
// fails with ENOSYS so that glibc falls back to clone, signals go to this
// process only, sockets are of the families the sensor uses, prctl and
// ioctl take the few requests the runtime and the libraries make.
var seccompAllowed = []string{
	// memory and threads
	"read", "write", "close", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "brk",
	"futex", "futex_time64", "set_robust_list", "rseq", "set_tid_address", "arch_prctl", "set_thread_area", "set_tls",
	"sched_yield", "sched_getaffinity", "membarrier", "exit", "exit_group", "restart_syscall",
	// signals (sent by kill and tgkill: see seccompConditions)
	"rt_sigreturn", "sigreturn", "rt_sigaction", "rt_sigprocmask", "sigaltstack",
	// time and timers
	"nanosleep", "clock_nanosleep", "clock_nanosleep_time64", "clock_gettime", "clock_gettime64",
	"clock_getres", "clock_getres_time64", "gettimeofday", "time",
	"setitimer", "getitimer", "timer_create", "timer_settime", "timer_settime64", "timer_gettime", "timer_gettime64", "timer_delete",
	// who and what: reads only
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getuid32", "geteuid32", "getgid32", "getegid32",
	"getgroups", "getgroups32", "getresuid", "getresgid", "getresuid32", "getresgid32",
	"getrlimit", "ugetrlimit", "getrusage", "uname", "sysinfo", "getrandom", "getcpu",
	// waiting for file descriptors
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	"poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64", "pipe", "pipe2",
	// files
	"open", "openat", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "lseek", "_llseek",
	"pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
	"fstat", "fstat64", "stat", "stat64", "lstat", "lstat64", "newfstatat", "fstatat64", "statx",
	"statfs", "statfs64", "fstatfs", "fstatfs64", "getdents", "getdents64", "readlink", "readlinkat",
	"access", "faccessat", "faccessat2", "getcwd", "umask",
	"fsync", "fdatasync", "ftruncate", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64", "arm_fadvise64_64", "flock",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
	// network (socket: see seccompConditions)
	"socketcall", "connect", "accept", "accept4", "bind", "listen", "getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "recvfrom", "send", "recv", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64", "shutdown",
}

// seccompConditions are the calls allowed with some arguments only: each
// condition set is one way to be allowed (the conditions of a set must all
// hold).
func seccompConditions() map[string][]seccomp.ArgumentConditions {
	eq := func(arg uint32, v uint64) seccomp.Condition {
		return seccomp.Condition{Argument: arg, Operation: seccomp.Equal, Value: v}
	}
	anyOf := func(arg uint32, vs ...uint64) []seccomp.ArgumentConditions {
		var out []seccomp.ArgumentConditions
		for _, v := range vs {
			out = append(out, seccomp.ArgumentConditions{eq(arg, v)})
		}
		return out
	}
	pid := uint64(os.Getpid())
	return map[string][]seccomp.ArgumentConditions{
		// a thread (Go's runtime, glibc after clone3's ENOSYS); never a
		// process: no fork, and a thread cannot make namespaces
		"clone": {{{Argument: 0, Operation: seccomp.BitsSet, Value: unix.CLONE_THREAD}}},
		// signals to this process only (the runtime's preemption, raise)
		"kill":   anyOf(0, pid),
		"tgkill": anyOf(0, pid),
		// getrlimit as glibc does it; no changing another process's
		"prlimit64": anyOf(0, 0),
		"socket":    anyOf(0, unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK),
		// naming memory mappings and threads, reading state: not
		// PR_SET_DUMPABLE, PR_SET_MM, PR_SET_PTRACER, securebits...
		"prctl": anyOf(0, unix.PR_SET_VMA, unix.PR_SET_NAME, unix.PR_GET_NAME, unix.PR_GET_DUMPABLE,
			unix.PR_CAPBSET_READ, unix.PR_GET_NO_NEW_PRIVS, unix.PR_GET_SECCOMP, unix.PR_GET_KEEPCAPS),
		// terminal and socket queries, close-on-exec, non-blocking: not
		// TIOCSTI and the like
		"ioctl": anyOf(1, unix.TCGETS, unix.TIOCGWINSZ, fionread, fionbio, fioclex, fionclex,
			unix.SIOCGIFINDEX, unix.SIOCGIFFLAGS, unix.SIOCGIFMTU, unix.SIOCGIFNAME, unix.SIOCGSTAMP, unix.SIOCGSTAMPNS),
	}
}

// the generic ioctl numbers (asm-generic/ioctls.h: 386, amd64, arm, arm64)
// that x/sys/unix does not name on Linux
const (
	fionread = 0x541b
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
)

// seccompPolicy is the filter for this architecture, and the number of
// system calls it allows.
func seccompPolicy() (*seccomp.Policy, int, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, 0, fmt.Errorf("%v (go-seccomp-bpf knows 386, amd64, arm and arm64)", err)
	}
	known := func(name string) bool { _, ok := info.SyscallNames[name]; return ok }
	allow := seccomp.SyscallGroup{Action: seccomp.ActionAllow}
	for _, name := range seccompAllowed {
		if known(name) {
			allow.Names = append(allow.Names, name)
		}
	}
	conds := seccompConditions()
	names := make([]string, 0, len(conds))
	for name := range conds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !known(name) {
			continue
		}
		for _, c := range conds[name] {
			allow.NamesWithCondtions = append(allow.NamesWithCondtions, seccomp.NameWithConditions{Name: name, Conditions: c})
		}
	}
	n := len(allow.Names)
	for _, name := range names {
		if known(name) {
			n++
		}
	}
	groups := []seccomp.SyscallGroup{allow}
	if known("clone3") {
		groups = append(groups, seccomp.SyscallGroup{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: []string{"clone3"}})
	}
	return &seccomp.Policy{DefaultAction: seccomp.ActionErrno, Syscalls: groups}, n, nil
}

// loadSeccomp installs the filter on every thread (SECCOMP_FILTER_FLAG_TSYNC,
// which also gives each thread no_new_privs) with refusals logged
// (SECCOMP_FILTER_FLAG_LOG). It returns the number of system calls
// allowed.
func loadSeccomp() (int, error) {
	policy, n, err := seccompPolicy()
	if err != nil {
		return 0, err
	}
	insts, err := policy.Assemble()
	if err != nil {
		return 0, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return 0, err
	}
	prog := make([]syscall.SockFilter, len(raw))
	for i, r := range raw {
		prog[i] = syscall.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := syscall.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// no_new_privs must be set on the thread that loads the filter
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("no_new_privs: %v", err)
	}
	// go-seccomp-bpf's LoadFilter would not see a TSYNC failure: the
	// call then returns the id of the thread that could not be
	// synchronised, without an errno
	r, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_LOG, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return 0, e
	}
	if r != 0 {
		return 0, fmt.Errorf("thread %d could not take the filter", r)
	}
	return n, nil
}
