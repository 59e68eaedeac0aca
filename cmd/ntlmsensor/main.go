// Command ntlmsensor reports every NTLM and Kerberos authentication in
// network traffic, with what is wrong about it, as JSON lines.
//
//	ntlmsensor -r capture.pcap [-r more.pcapng.gz] [-w findings.jsonl] [BPF filter]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"ntlmsensor/sensor"
	"ntlmsensor/sensor/auth"
	"ntlmsensor/sensor/capture"
	"ntlmsensor/sinks/json"
)

type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
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
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor -r FILE [-r FILE ...] [-w OUT] [options] [BPF filter expression]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *listFlags {
		for _, f := range auth.Flags {
			fmt.Fprintf(stdout, "%-20s %s\n%-20s → %s\n", f.ID, f.RaisedWhen, "", f.Remediation)
		}
		return 0
	}
	if len(reads) == 0 {
		fs.Usage()
		return 2
	}
	if *workers == 0 {
		*workers = runtime.NumCPU()
	}
	var sink *json.Sink
	if *out == "-" || *out == "" {
		sink = json.New(stdout)
	} else {
		var err error
		if sink, err = json.Open(*out, json.Options{MaxBytes: *rotate, MaxFiles: *keep}); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			return 1
		}
	}
	var sinkErr error
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = *observer
	cfg.MaxFlows = *maxFlows
	cfg.Emit = func(f *auth.Finding) {
		if err := sink.Write(f); err != nil && sinkErr == nil {
			sinkErr = err
		}
	}
	expr := strings.Join(fs.Args(), " ")

	var p *sensor.Pipeline
	opened := 0
	for _, path := range reads {
		src, err := capture.OpenFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			continue
		}
		if p == nil {
			var filter *capture.Filter
			if expr != "" {
				filter, err = capture.NewFilter(src.LinkType(), 262144, expr)
				if err != nil {
					fmt.Fprintf(stderr, "ntlmsensor: filter %q: %v\n", expr, err)
					src.Close()
					return 2
				}
			}
			p = sensor.NewPipeline(cfg, *workers, filter)
		}
		opened++
		if err := p.ReadSource(src); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		}
		src.Close()
	}
	status := 0
	if p == nil {
		status = 1
	} else {
		if err := p.Close(); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			status = 1
		}
		if !*quiet {
			st, ds := p.Stats()
			fmt.Fprintf(stderr, "ntlmsensor: %d files, %d frames, %d TCP/UDP packets, %d flows (%d ignored, %d evicted, %d idle), %d findings; decode: %d malformed, %d truncated, %d non-IP; streams: %d gaps, %d out-of-order, %d buffer limit hits, %d MiB skipped\n",
				opened, p.Read(), st.Packets, st.Flows, st.FlowsIgnored, st.FlowsEvicted, st.FlowsIdle, st.Findings,
				ds.Malformed, ds.Truncated, ds.Skipped, st.Gaps, st.OutOfOrder, st.BufferLimitHits+st.OutOfOrderLimitHits, st.SkippedBytes>>20)
		}
	}
	if err := sink.Close(); err != nil && sinkErr == nil {
		sinkErr = err
	}
	if sinkErr != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", sinkErr)
		status = 1
	}
	return status
}
