package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/findings"
	"ntlmsensor/report"
	"ntlmsensor/sensor"
)

const reportUsage = `usage: ntlmsensor report -r CAPTURE [-r CAPTURE ...] [-o report.html] [-csv inventory.csv] [BPF filter]
       ntlmsensor report FINDINGS.jsonl[.gz] ... [-o report.html] [-csv inventory.csv]

Writes one self-contained HTML page (-o; it opens offline and prints) or,
without -o, the same report as text. From captures (-r, read as the sensor
reads them, through the audit stage that sets each NTLM logon's cause and
the detectors), or from the JSON lines findings of any number of sensors
(- for stdin; gzip allowed): their causes and alerts as written, the
inventory rebuilt from the findings.
  -o FILE     the HTML report
  -csv FILE   the whole inventory as CSV (as ntlmsensor inventory -format csv)
  -r CAPTURE  a capture or a directory of captures (repeatable)
  -detect=false  with -r: no attack detectors (on by default, as for
              ntlmsensor; its -detect-* thresholds apply too)
  -q          no progress
`

// reportCommand is `ntlmsensor report`.
func reportCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ntlmsensor report", flag.ContinueOnError)
	var reads fileList
	fs.Var(&reads, "r", "read packets from this capture or the captures under this directory (repeatable)")
	out := fs.String("o", "", "write the HTML report to this file (default: text on stdout)")
	csvOut := fs.String("csv", "", "write the whole inventory to this CSV file")
	quiet := fs.Bool("q", false, "no progress on stderr")
	workers := fs.Int("workers", 0, "worker goroutines for captures, 0 for one per core")
	// with -r, the audit stage as the sensor runs it (audit.go): the
	// findings are the ones ntlmsensor -r CAPTURE -w FILE writes
	maxRows := fs.Int("max-inventory-rows", audit.DefaultMaxRows, "inventory rows kept; a full table evicts the least recently seen row")
	auditOpts := auditOptions{maxRows: maxRows, delay: fs.Duration("audit-delay", 0, "hold findings this long (capture time) to put the workers' findings in order; 0: the TCP idle timeout and 30 s"),
		detect: addDetectFlags(fs)}
	fs.SetOutput(io.Discard)
	// options may follow the files: parse again after each run of words
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				io.WriteString(stderr, reportUsage)
				return 0
			}
			fmt.Fprintf(stderr, "ntlmsensor report: %s (ntlmsensor report -h for help)\n", optionError(fs, err))
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(reads) == 0 && len(files) == 0 {
		fmt.Fprintf(stderr, "ntlmsensor report: nothing to read: give -r CAPTURE or findings files (ntlmsensor report -h for help)\n")
		return 2
	}
	if *out != "" && looksLikeCapture(*out) {
		fmt.Fprintf(stderr, "ntlmsensor report: -o %s would overwrite a capture; name it e.g. report.html\n", *out)
		return 2
	}
	agg := report.NewWithRows(*maxRows)
	var sources []string
	status := 0
	start := time.Now()
	if len(reads) > 0 {
		// with -r, the words after the options are captures too (a shell
		// glob) when they are files, else the BPF filter
		var expr []string
		for _, f := range files {
			if _, err := os.Stat(f); err == nil {
				reads = append(reads, f)
			} else {
				expr = append(expr, f)
			}
		}
		paths, err := expandDirs(reads, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor report: %v\n", err)
			return 2
		}
		if *workers <= 0 || *workers > 2*runtime.NumCPU() {
			*workers = runtime.NumCPU()
		}
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		host, _ := os.Hostname()
		cfg.Observer = host
		stage := auditOpts.newStage(&cfg, *workers, false, func(d findings.Document) { agg.AddDocument(d) })
		var stop atomic.Bool
		prog := newProgress(paths, stderr, !*quiet, 0)
		r := readFiles(paths, cfg, *workers, joinWords(expr), &stop, prog, *quiet, stderr)
		if r.badFilter {
			return 2
		}
		if r.pipeline == nil {
			return 1
		}
		if err := r.pipeline.Close(); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor report: %v\n", err)
			status = 1
		}
		stage.Close() // the findings it holds, and the detectors' last alerts
		prog.finish()
		for _, p := range paths {
			sources = append(sources, filepath.Base(p))
		}
	} else {
		for _, path := range files {
			st, err := readFindingsFile(path, agg)
			if err != nil {
				fmt.Fprintf(stderr, "ntlmsensor report: %s: %v\n", path, err)
				status = 1
				continue
			}
			if st.Bad > 0 {
				fmt.Fprintf(stderr, "ntlmsensor report: %s: %d lines are not findings (first: %v)\n", path, st.Bad, st.Err)
			}
			sources = append(sources, filepath.Base(path))
		}
	}
	rep := agg.Report(sources)
	if *csvOut != "" {
		if err := writeFile(*csvOut, func(w io.Writer) error { return audit.WriteRows(w, rep.Rows, audit.FormatCSV, rep.Generated) }); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor report: %v\n", err)
			return 1
		}
	}
	if *out == "" {
		if err := rep.Text(stdout); err != nil {
			return 1
		}
		return status
	}
	if err := writeFile(*out, rep.HTML); err != nil {
		fmt.Fprintf(stderr, "ntlmsensor report: %v\n", err)
		return 1
	}
	if !*quiet {
		fmt.Fprintf(stderr, "ntlmsensor report: %s: %d findings, %d inventory rows, in %s\n", *out, rep.Findings, len(rep.Rows), report.Duration(time.Since(start)))
	}
	return status
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// readFindingsFile adds the findings of one JSON lines file ("-": stdin).
func readFindingsFile(path string, agg *report.Aggregator) (report.ReadStats, error) {
	if path == "-" {
		return report.ReadFindings(os.Stdin, agg)
	}
	f, err := os.Open(path)
	if err != nil {
		return report.ReadStats{}, err
	}
	defer f.Close()
	return report.ReadFindings(f, agg)
}

// writeFile writes a file through a temporary one, so a failed run
// leaves no half report.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	if err := write(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
