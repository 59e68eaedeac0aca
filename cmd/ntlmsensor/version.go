package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set by the build (Makefile: -ldflags "-X main.version=... -X
// main.commit=... -X main.buildTime=..."); otherwise taken from the module
// and VCS information Go embeds in a binary built inside a repository.
var (
	version   string
	commit    string
	buildTime string
)

// versionInfo is the module version, the commit and the build time.
func versionInfo() (ver, rev, built string) {
	ver, rev, built = version, commit, buildTime
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orUnknown(ver), orUnknown(rev), orUnknown(built)
	}
	if ver == "" {
		ver = bi.Main.Version // "(devel)" for a build inside the repository
	}
	modified := false
	vcsRev, vcsTime := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			vcsRev = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" && vcsRev != "" {
		rev = vcsRev
		if modified {
			rev += "-dirty"
		}
	}
	if built == "" && vcsTime != "" {
		built = vcsTime + " (commit time)"
	}
	return orUnknown(ver), orUnknown(rev), orUnknown(built)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func printVersion(w io.Writer) {
	ver, commit, built := versionInfo()
	fmt.Fprintf(w, "ntlmsensor %s\ncommit %s\nbuilt %s with %s for %s/%s, %s\n",
		ver, commit, built, runtime.Version(), runtime.GOOS, runtime.GOARCH, buildKind())
}
