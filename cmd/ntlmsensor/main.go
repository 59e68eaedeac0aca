// Command ntlmsensor reports every NTLM and Kerberos authentication in
// network traffic, with what is wrong about it, as JSON lines and/or to
// Elasticsearch.
//
//	ntlmsensor -r capture.pcap [-r more.pcapng.gz] [-w findings.jsonl] [-es URL] [BPF filter]
//	ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME]
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
	"time"

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
	if len(args) > 0 && args[0] == "es-setup" {
		return esSetup(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "inventory" {
		return inventoryCmd(args[1:], stdout, stderr) // audit.go
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
	emitHashes := fs.String("emit-hashes", "", "authorised audits only: write crackable NTLM/Kerberos exchanges to this file (mode 0600) in hashcat formats; findings are unchanged")
	listCausesFlag := fs.Bool("list-causes", false, "list the causes of NTLM logons, with their remediation and the Windows events that confirm them, and exit")
	auditOpts := addAuditFlags(fs) // audit.go
	es := elasticsearch.Defaults()
	es.AddFlags(fs)
	svc := addServiceFlags(fs) // live capture and service options: live.go, config.go
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor -r FILE [-r FILE ...] [-w OUT] [-es URL ...] [options] [BPF filter expression]\n")
		fmt.Fprintf(stderr, "       ntlmsensor -i IFACE [-w OUT] [-es URL ...] [options] [BPF filter expression]   (live, until SIGINT/SIGTERM)\n")
		fmt.Fprintf(stderr, "       ntlmsensor es-setup -es URL [options]   (install the Elasticsearch index template)\n")
		fmt.Fprintf(stderr, "       ntlmsensor inventory [-format table|csv|tsv|json] FINDINGS... | -r CAPTURE...   (the NTLM dependencies, what to fix first)\n\n")
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
			fmt.Fprintf(stdout, "%-20s %s\n%-20s → %s\n", f.ID, f.RaisedWhen, "", f.Remediation)
		}
		return 0
	}
	if *listCausesFlag {
		listCauses(stdout)
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
	if *emitHashes != "" { // hashes.go
		h, err := openHashes(*emitHashes, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			outs.all.Close()
			return 1
		}
		defer h.close(*quiet, stderr)
	}

	var stop atomic.Bool
	defer watchSignals(&stop, outs.json, stderr)()

	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = *observer
	cfg.MaxFlows = *maxFlows
	svc.apply(&cfg)
	expr := svc.filterExpr(fs.Args())
	if svc.enabled() {
		svc.audit = auditOpts
		return svc.run(cfg, outs.all, &stop, *quiet, stderr) // live.go
	}
	stage := auditOpts.newStage(&cfg, *workers, false, outs.emitDocument)

	r := readFiles(reads, cfg, *workers, expr, &stop, *quiet, stderr) // offline.go
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
		// at the end of the input, or on SIGINT/SIGTERM: the rest of the
		// findings, then the inventory
		stage.Close()
		stage.WriteInventory(time.Now())
		if !*quiet {
			printSummary(stderr, r)
			fmt.Fprintln(stderr, auditSummary(stage.Stats()))
			if l := auditOpts.detect.summary(); l != "" {
				fmt.Fprintln(stderr, l)
			}
		}
	}
	if outs.close(*quiet, stderr) != nil {
		status = 1
	}
	return status
}
