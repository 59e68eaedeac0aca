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
	"ntlmsensor/report"
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
	if _, err := l.w.Write(redact(p)); err != nil { // secrets.go
		return 0, err
	}
	return len(p), nil
}

func run(args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	if len(args) > 0 {
		switch args[0] {
		case "es-setup":
			return esSetup(args[1:], stdout, stderr)
		case "kibana-setup":
			return kibanaSetup(args[1:], stdout, stderr) // kibana.go
		case "inventory":
			return inventoryCmd(args[1:], stdout, stderr) // audit.go
		case "report":
			return reportCommand(args[1:], stdout, stderr) // report.go
		case "--version", "-version", "version":
			printVersion(stdout) // version.go
			return 0
		}
	}
	fs := flag.NewFlagSet("ntlmsensor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var reads fileList
	fs.Var(&reads, "r", "read packets from a pcap or pcapng file (gzip, zstd, xz, bzip2 allowed; - for stdin), or every capture under a directory; repeatable")
	out := fs.String("w", "-", "write findings as JSON lines to this file (- for stdout)")
	var rotate byteSize
	fs.Var(&rotate, "rotate-bytes", "rotate the -w file when it would grow past this size, e.g. 1G (0: never)")
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
	var format formatFlag = "json"
	fs.Var(&format, "format", "findings on stdout as json (JSON lines), table, tsv or csv")
	if len(args) > 0 && strings.HasPrefix(args[0], "gen-") {
		return genDocs(args[0], fs, stdout, stderr) // man page, bash completion: gendocs.go
	}
	if ok, status := parseCommandLine(fs, args, stderr); !ok { // command line, environment, -config file: usage.go
		return status
	}
	if *listFlags {
		for _, f := range findings.Flags {
			fmt.Fprintf(stdout, "%-20s %s\n%-20s severity %s; → %s\n", f.ID, f.RaisedWhen, "", f.Severity, f.Remediation)
		}
		return 0
	}
	if *listCausesFlag {
		listCauses(stdout)
		return 0
	}
	if len(reads) == 0 && !svc.enabled() {
		fmt.Fprintf(stderr, "ntlmsensor: nothing to read: give -r CAPTURE or -i IFACE (ntlmsensor -h for help)\n")
		return 2
	}
	rest, ok := settle(fs, &reads, stderr) // nonsense values, -w x.pcap, files after the options: checks.go
	if !ok {
		return 2
	}
	if *workers == 0 {
		*workers = runtime.NumCPU()
	}
	if err := svc.open(*workers, rest, stderr); err != nil { // capture and metrics port, then -user
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	wSet := false
	fs.Visit(func(f *flag.Flag) { wSet = wSet || f.Name == "w" })
	outs, status := openOutputs(outputOptions{
		jsonPath: *out, jsonWanted: !es.Enabled() || wSet,
		json: json.Options{MaxBytes: int64(rotate), MaxFiles: *keep}, es: es, format: string(format),
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
	expr := svc.filterExpr(rest)
	if svc.enabled() {
		svc.audit = auditOpts
		return svc.run(cfg, outs.all, &stop, *quiet, stderr) // live.go
	}
	tally := report.New() // for the summary at exit: what the stage hands the sinks
	stage := auditOpts.newStage(&cfg, *workers, false, func(d findings.Document) {
		if f, ok := d.(*findings.Finding); ok && !*quiet {
			tally.Add(f)
		}
		outs.emitDocument(d)
	})

	started := time.Now()
	prog := newProgress(reads, stderr, !*quiet, fileStatsInterval(fs, svc.interval)) // progress.go
	r := readFiles(reads, cfg, *workers, expr, &stop, prog, *quiet, stderr)          // offline.go
	prog.finish()
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
			printSummary(stderr, r, tally, time.Since(started))
			auditOpts.printSummary(stderr, stage.Stats())
		}
	}
	if outs.close(*quiet, stderr) != nil {
		status = 1
	}
	return status
}
