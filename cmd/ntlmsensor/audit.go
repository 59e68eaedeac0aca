package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// auditOptions size the audit stage (package audit) that sits between the
// pipeline and the sinks.
type auditOptions struct {
	maxRows  *int
	interval *time.Duration
	delay    *time.Duration
	detect   *detectOptions // detect.go
}

func addAuditFlags(fs *flag.FlagSet) auditOptions {
	return auditOptions{
		maxRows:  fs.Int("max-inventory-rows", audit.DefaultMaxRows, "inventory rows kept; a full table evicts the least recently seen row"),
		interval: fs.Duration("inventory-interval", time.Hour, "on a live interface, write the inventory this often (and at exit)"),
		detect:   addDetectFlags(fs),
		delay:    fs.Duration("audit-delay", 0, "hold findings this long (capture time) to put the workers' findings in order; 0: the TCP idle timeout and 30 s reading files (exact order), 10 s live"),
	}
}

// newStage makes the stage for a pipeline of workers workers: findings go
// through it to emit, in capture-time order, with their causes.
func (o auditOptions) newStage(cfg *sensor.Config, workers int, live bool, emit func(findings.Document)) *audit.Stage {
	delay := cfg.TCPIdle + 30*time.Second
	if live {
		// findings reach the sinks within seconds; a finding a worker
		// emits later than this (an unanswered KDC request, after the UDP
		// idle timeout) is counted out of order
		delay = 10 * time.Second
	}
	if o.delay != nil && *o.delay > 0 {
		delay = *o.delay
	}
	st := audit.New(audit.Config{Workers: max(workers, 1), Delay: delay, MaxRows: *o.maxRows, Emit: emit, Analyzers: o.detect.analyzers(cfg)})
	cfg.Emit, cfg.Clock, cfg.OnTraceBreak = st.Finding, st.Clock, st.TraceBreak
	cfg.Observations = true // KDC exchanges awaiting a retry are decided by the stage
	return st
}

// listCauses prints the cause registry (audit.Causes).
func listCauses(w io.Writer) {
	for _, c := range audit.Causes {
		fmt.Fprintf(w, "%s\n  when:       %s\n  fix:        %s\n  removed by: %s\n  confirm:    %s\n  docs:       %s\n\n",
			c.ID, c.When, c.Remediation, c.RemovedBy, c.Events, strings.Join(c.Docs, " "))
	}
}

// printSummary writes the stage's line of the exit summary, and the
// detectors' line when detection ran.
func (o auditOptions) printSummary(w io.Writer, st audit.Stats) {
	fmt.Fprintln(w, auditSummary(st))
	if l := o.detect.summary(); l != "" {
		fmt.Fprintln(w, l)
	}
}

// auditSummary is the stage's line of the exit summary.
func auditSummary(st audit.Stats) string {
	s := fmt.Sprintf("ntlmsensor: audit: %d NTLM logons explained, %d inventory rows", st.Caused, st.Rows)
	// internals only when a limit was hit
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{uint64(st.RowsEvicted), "inventory rows evicted"},
		{uint64(st.ForcedReleases), "findings released early"},
		{uint64(st.Late), "findings out of order"},
		{uint64(st.ClientsEvicted), "clients forgotten"},
		{uint64(st.ServersEvicted), "servers forgotten"},
		{st.RetryLimitHits, "KDC retries not followed"},
	} {
		if c.n > 0 {
			s += fmt.Sprintf(", %d %s", c.n, c.what)
		}
	}
	return s
}

// inventoryCmd: ntlmsensor inventory [-format F] FILE... | -r CAPTURE...
func inventoryCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ntlmsensor inventory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var reads fileList
	fs.Var(&reads, "r", "read packets from this capture instead of findings files; repeatable")
	format := fs.String("format", audit.FormatTable, "table, csv, tsv or json (inventory documents, one a line)")
	workers := fs.Int("workers", 0, "with -r: worker goroutines, 0 for one per core")
	maxRows := fs.Int("max-inventory-rows", audit.DefaultMaxRows, "inventory rows kept; a full table evicts the least recently seen row")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor inventory [-format table|csv|tsv|json] FINDINGS.jsonl[.gz]... (- for stdin)\n")
		fmt.Fprintf(stderr, "       ntlmsensor inventory [-format ...] -r CAPTURE [-r CAPTURE ...]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if (len(reads) == 0) == (fs.NArg() == 0) {
		fs.Usage()
		return 2
	}
	switch *format {
	case audit.FormatTable, audit.FormatCSV, audit.FormatTSV, audit.FormatJSON:
	default:
		fmt.Fprintf(stderr, "ntlmsensor: unknown format %q\n", *format)
		return 2
	}
	var st *audit.Stage
	status := 0
	if len(reads) > 0 {
		if *workers == 0 {
			*workers = runtime.NumCPU()
		}
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		host, _ := os.Hostname()
		cfg.Observer = host
		st = auditOptions{maxRows: maxRows}.newStage(&cfg, *workers, false, func(findings.Document) {})
		paths, err := expandDirs(reads, stderr) // -r DIR: every capture under it
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			return 2
		}
		var stop atomic.Bool
		r := readFiles(paths, cfg, *workers, "", &stop, newProgress(paths, stderr, false, 0), true, stderr)
		if r.pipeline == nil {
			return 1
		}
		if err := r.pipeline.Close(); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			status = 1
		}
	} else {
		st = audit.New(audit.Config{Workers: 1, MaxRows: *maxRows})
		var readers []io.Reader
		for _, name := range fs.Args() {
			if name == "-" {
				readers = append(readers, os.Stdin)
				continue
			}
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
				return 1
			}
			defer f.Close()
			readers = append(readers, f)
		}
		if err := audit.Replay(st, fs.Args(), readers); err != nil {
			if errors.Is(err, gzip.ErrHeader) {
				err = fmt.Errorf("%w (not gzip)", err)
			}
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			status = 1
		}
	}
	st.Close()
	if err := audit.WriteRows(stdout, st.Rows(), *format, time.Now()); err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	return status
}
