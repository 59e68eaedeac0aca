// Command ntlmsensor reports every NTLM and Kerberos authentication in
// network traffic, with what is wrong about it, as JSON lines and/or to
// Elasticsearch.
//
//	ntlmsensor -r capture.pcap [-r more.pcapng.gz] [-w findings.jsonl] [-es URL] [BPF filter]
//	ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME]
//	ntlmsensor kibana-setup -kibana URL
//	ntlmsensor --version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/json"
)

type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// lockedWriter: stderr is written from the sinks' goroutines too.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func run(args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	if len(args) > 0 {
		switch args[0] {
		case "es-setup":
			return esSetup(args[1:], stdout, stderr)
		case "kibana-setup":
			return kibanaSetup(args[1:], stdout, stderr) // kibana.go
		case "--version", "-version", "version":
			printVersion(stdout) // version.go
			return 0
		}
	}
	fs := flag.NewFlagSet("ntlmsensor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var reads fileList
	fs.Var(&reads, "r", "read packets from a pcap or pcapng file (gzip allowed; - for stdin); repeatable")
	out := fs.String("w", "-", "write findings as JSON lines to this file (- for stdout)")
	rotate := fs.Int64("rotate-bytes", 0, "rotate the -w file when it would grow past this many bytes (0: never)")
	keep := fs.Int("rotate-keep", 5, "rotated files to keep")
	workers := fs.Int("workers", 0, "worker goroutines, 0 for one per core (packets of one connection always reach the same worker)")
	host, _ := os.Hostname()
	observer := fs.String("observer", host, "observer.name written into every finding")
	maxFlows := fs.Int("max-flows", sensor.DefaultConfig().MaxFlows, "connections tracked at once; the least recently seen goes first")
	quiet := fs.Bool("q", false, "no summary on stderr")
	listFlags := fs.Bool("list-flags", false, "list the flags a finding can carry, with their meaning and remediation, and exit")
	es := elasticsearch.Defaults()
	es.AddFlags(fs)
	svc := addServiceFlags(fs) // live capture and service options: live.go, config.go
	if len(args) > 0 && strings.HasPrefix(args[0], "gen-") {
		return genDocs(args[0], fs, stdout, stderr) // man page, bash completion: gendocs.go
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor -r FILE [-r FILE ...] [-w OUT] [-es URL ...] [options] [BPF filter expression]\n")
		fmt.Fprintf(stderr, "       ntlmsensor -i IFACE [-w OUT] [-es URL ...] [options] [BPF filter expression]   (live, until SIGINT/SIGTERM)\n")
		fmt.Fprintf(stderr, "       ntlmsensor es-setup -es URL [options]   (install the Elasticsearch ILM policy and index template; -print: write them)\n")
		fmt.Fprintf(stderr, "       ntlmsensor kibana-setup -kibana URL [options]   (load the Kibana data view, searches and dashboard)\n")
		fmt.Fprintf(stderr, "       ntlmsensor --version\n\n")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil { // command line, environment, -config file
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *listFlags {
		for _, f := range findings.Flags {
			fmt.Fprintf(stdout, "%-20s %s\n%-20s severity %s; → %s\n", f.ID, f.RaisedWhen, "", f.Severity, f.Remediation)
		}
		return 0
	}
	if len(reads) == 0 && !svc.enabled() {
		fs.Usage()
		return 2
	}
	if *workers == 0 {
		*workers = runtime.NumCPU()
	}
	if err := svc.open(*workers, fs.Args(), stderr); err != nil { // capture and metrics port, then -user
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	wSet := false
	fs.Visit(func(f *flag.Flag) { wSet = wSet || f.Name == "w" })
	outs, status := openOutputs(outputOptions{
		jsonPath: *out, jsonWanted: !es.Enabled() || wSet,
		json: json.Options{MaxBytes: *rotate, MaxFiles: *keep}, es: es,
	}, stdout, stderr)
	if outs == nil {
		return status
	}

	var stop atomic.Bool
	defer watchSignals(&stop, outs.json, stderr)()

	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = *observer
	cfg.MaxFlows = *maxFlows
	svc.apply(&cfg)
	cfg.Emit = outs.emit
	expr := svc.filterExpr(fs.Args())
	if svc.enabled() {
		return svc.run(cfg, outs.all, &stop, *quiet, stderr) // live.go
	}

	r := readFiles(reads, cfg, *workers, expr, &stop, stderr) // offline.go
	if r.badFilter {
		outs.all.Close()
		return 2
	}
	status = 0
	if r.pipeline == nil {
		status = 1
	} else {
		if err := r.pipeline.Close(); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			status = 1
		}
		if !*quiet {
			printSummary(stderr, r)
		}
	}
	if outs.close(*quiet, stderr) != nil {
		status = 1
	}
	return status
}
