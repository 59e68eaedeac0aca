package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set by the build (Makefile: -ldflags "-X main.version=... -X
// main.buildTime=..."); otherwise taken from the module and VCS information
// Go embeds in every binary built from a repository.
var (
	version   string
	buildTime string
)

// versionInfo is the module version, the commit and the build time.
func versionInfo() (ver, commit, built string) {
	ver, built = version, buildTime
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orUnknown(ver), "unknown", orUnknown(built)
	}
	if ver == "" {
		ver = bi.Main.Version // "(devel)" for a build inside the repository
	}
	modified := false
	vcsTime := ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if commit == "" {
		commit = "unknown"
	} else if modified {
		commit += "-dirty"
	}
	if built == "" && vcsTime != "" {
		built = vcsTime + " (commit time)"
	}
	return orUnknown(ver), commit, orUnknown(built)
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
