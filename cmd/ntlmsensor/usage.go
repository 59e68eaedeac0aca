package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// shortUsage is what -h prints: the few options most runs need, by task.
// -help-all prints every option.
const shortUsage = `usage: ntlmsensor [options] [BPF filter]

Read captures (pcap, pcapng; gzip, zstd, xz, bzip2):
  ntlmsensor -r CAPTURE [-r CAPTURE ...]      findings as JSON lines on stdout
  ntlmsensor -r DIR                           every capture under DIR
  ntlmsensor -r CAPTURE -format table         findings as a table to read
  ntlmsensor report -r CAPTURE -o report.html the report to show and work from
  ntlmsensor report FINDINGS.jsonl[.gz] ...   the same, from saved findings
  ntlmsensor inventory FINDINGS... | -r CAPTURE  the NTLM dependencies, what to fix first

Capture live (until SIGINT or SIGTERM):
  ntlmsensor -i IFACE -w findings.jsonl [-metrics 127.0.0.1:9108] [-user ntlmsensor]

Where findings go:
  -w FILE          JSON lines to FILE (default stdout); -rotate-bytes 1G -rotate-keep 5
  -format F        on stdout: json (default), table, tsv or csv
  -es URL          to Elasticsearch (ntlmsensor es-setup -es URL first)

Tuning and reference:
  -workers N       decoding goroutines (default: one per core)
  -config FILE     options from a file (name = value); NTLMSENSOR_* variables too
  -q               no progress, no summary
  -list-flags      what each flag of a finding means and how to fix it
  -list-causes     why a logon is NTLM: each cause, its fix, the Windows events
  -help-all        every option
`

// parseCommandLine parses args (then the environment and the -config file,
// parseArgs) and speaks for it: -h prints the short usage, -help-all
// every option, and a bad option one line naming it, never the whole
// usage. ok false: return status.
func parseCommandLine(fs *flag.FlagSet, args []string, stderr io.Writer) (ok bool, status int) {
	all := fs.Bool("help-all", false, "print every option and exit")
	fs.SetOutput(io.Discard) // the flag package's own messages: said below, in one line
	fs.Usage = func() {}
	err := parseArgs(fs, args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stderr, shortUsage)
		return false, 0
	case err != nil:
		fmt.Fprintf(stderr, "ntlmsensor: %s (ntlmsensor -h for help)\n", optionError(fs, err))
		return false, 2
	case *all:
		fmt.Fprintf(stderr, "usage: ntlmsensor [options] [BPF filter]; ntlmsensor report [options] FILE...; ntlmsensor inventory [options] FILE...; ntlmsensor es-setup [options]\n\n")
		fs.PrintDefaults()
		return false, 0
	}
	return true, 0
}

// optionError says what was wrong in the words of a person: the option
// that does not exist (with the nearest real one), or the value refused.
func optionError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, found := strings.CutPrefix(msg, "flag provided but not defined: -"); found {
		msg = "unknown option -" + name
		if near := nearestOption(fs, name); near != "" {
			msg += ", did you mean -" + near + "?"
		}
		return msg
	}
	if rest, found := strings.CutPrefix(msg, "flag needs an argument: -"); found {
		return "option -" + rest + " needs a value"
	}
	if strings.HasPrefix(msg, "invalid value ") {
		// invalid value "x" for flag -workers: parse error
		msg = strings.Replace(msg, " for flag -", " for -", 1)
		msg = strings.Replace(msg, ": parse error", ": not a number", 1)
		msg = strings.Replace(msg, ": value out of range", ": out of range", 1)
	}
	return msg
}

// nearestOption is the option whose name is closest to name (a typo or a
// prefix), or "" when none is close.
func nearestOption(fs *flag.FlagSet, name string) string {
	name = strings.TrimLeft(name, "-")
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	fs.VisitAll(func(f *flag.Flag) {
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = 1
		}
		if d <= 2 && d < len(f.Name) {
			cs = append(cs, cand{f.Name, d})
		}
	})
	sort.Slice(cs, func(i, j int) bool { return cs[i].d < cs[j].d || cs[i].d == cs[j].d && cs[i].name < cs[j].name })
	if len(cs) == 0 {
		return ""
	}
	return cs[0].name
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
