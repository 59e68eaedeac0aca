// Command ntlmsensor reports every NTLM and Kerberos authentication in
// network traffic, with what is wrong about it, as JSON lines and/or to
// Elasticsearch.
//
//	ntlmsensor -r capture.pcap [-r more.pcapng.gz] [-w findings.jsonl] [-es URL] [BPF filter]
//	ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gopacket/gopacket"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sinks"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/json"
)

type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// stoppable ends a source early (io.EOF) once stop is set: SIGINT/SIGTERM
// end the reading, then what is pending is emitted and the sinks flushed.
type stoppable struct {
	capture.Source
	stop *atomic.Bool
}

func (s stoppable) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if s.stop.Load() {
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	return s.Source.ReadPacket()
}

// stoppableBatches is stoppable for a source that reads straight into
// batches: the wrapper must not hide that (the pipeline would copy).
type stoppableBatches struct {
	stoppable
	br capture.BatchReader
}

func (s stoppableBatches) ReadBatch(b *capture.Batch) error {
	if s.stop.Load() {
		b.Reset()
		return io.EOF
	}
	return s.br.ReadBatch(b)
}

// stopping wraps src so that it ends once stop is set.
func stopping(src capture.Source, stop *atomic.Bool) capture.Source {
	if br, ok := src.(capture.BatchReader); ok {
		return stoppableBatches{stoppable{src, stop}, br}
	}
	return stoppable{src, stop}
}

// esSetup installs the Elasticsearch index template.
func esSetup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ntlmsensor es-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	es := elasticsearch.Defaults()
	es.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME] [-es-template NAME] [TLS and credential options]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !es.Enabled() || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if err := elasticsearch.Setup(context.Background(), es); err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	pat, _ := es.IndexPattern()
	fmt.Fprintf(stdout, "index template %q installed for %s\n", es.Template, pat)
	return 0
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
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor -r FILE [-r FILE ...] [-w OUT] [-es URL ...] [options] [BPF filter expression]\n")
		fmt.Fprintf(stderr, "       ntlmsensor -i IFACE [-w OUT] [-es URL ...] [options] [BPF filter expression]   (live, until SIGINT/SIGTERM)\n")
		fmt.Fprintf(stderr, "       ntlmsensor es-setup -es URL [options]   (install the Elasticsearch index template)\n\n")
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
	var sink sinks.Multi
	var jsonSink *json.Sink
	closeAll := func() {
		for _, k := range sink {
			k.Close()
		}
	}
	if !es.Enabled() || wSet {
		if *out == "-" || *out == "" {
			jsonSink = json.New(stdout)
		} else {
			var err error
			if jsonSink, err = json.Open(*out, json.Options{MaxBytes: *rotate, MaxFiles: *keep}); err != nil {
				fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
				return 1
			}
		}
		sink = append(sink, jsonSink)
	}
	var esSink *elasticsearch.Sink
	if es.Enabled() {
		es.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "ntlmsensor: "+format+"\n", args...) }
		var err error
		if esSink, err = elasticsearch.Open(es); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			closeAll()
			return 2
		}
		sink = append(sink, esSink)
	}

	// SIGINT/SIGTERM: stop reading, emit what is pending, flush or spool
	// what the sinks buffer (a second signal kills). SIGHUP: reopen the -w
	// file (after logrotate moved it).
	var stop atomic.Bool
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	sigDone := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(sigDone)
	}()
	go func() {
		for {
			select {
			case <-sigDone:
				return
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					if jsonSink != nil {
						if err := jsonSink.Reopen(); err != nil {
							fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
						}
					}
					continue
				}
				if !stop.Swap(true) {
					fmt.Fprintf(stderr, "ntlmsensor: %v: stopping (flushing findings)\n", sig)
				}
				signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			}
		}
	}()

	var sinkErr error
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = *observer
	cfg.MaxFlows = *maxFlows
	svc.apply(&cfg)
	cfg.Emit = func(f *findings.Finding) {
		if err := sink.Write(f); err != nil && sinkErr == nil {
			sinkErr = err
		}
	}
	expr := svc.filterExpr(fs.Args())
	if svc.enabled() {
		return svc.run(cfg, sink, &stop, *quiet, stderr) // live.go
	}

	var p *sensor.Pipeline
	opened := 0
	for _, path := range reads {
		if stop.Load() {
			break
		}
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
					closeAll()
					return 2
				}
			}
			p = sensor.NewPipeline(cfg, *workers, filter)
		}
		opened++
		if err := p.ReadSource(stopping(src, &stop)); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		}
		if rs, ok := src.(capture.RecordSkipper); ok && rs.SkippedRecords() > 0 && !*quiet {
			fmt.Fprintf(stderr, "ntlmsensor: %s: %d records with no packet skipped (ETW events of other providers, NetMon metadata)\n", src.Name(), rs.SkippedRecords())
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
			fmt.Fprintf(stderr, "ntlmsensor: %d files, %d frames, %d TCP/UDP packets, %d flows (%d ignored, %d evicted, %d idle), %d UDP datagrams of no carrier, %d findings; decode: %d malformed, %d truncated, %d non-IP; streams: %d gaps, %d out-of-order, %d buffer limit hits, %d memory limit hits, %d MiB skipped\n",
				opened, p.Read(), st.Packets, st.Flows, st.FlowsIgnored, st.FlowsEvicted, st.FlowsIdle, st.UDPIgnored, st.Findings,
				ds.Malformed, ds.Truncated, ds.Skipped, st.Gaps, st.OutOfOrder, st.BufferLimitHits+st.OutOfOrderLimitHits, st.MemoryLimitHits, st.SkippedBytes>>20)
		}
	}
	if err := sink.Close(); err != nil && sinkErr == nil {
		sinkErr = err
	}
	if esSink != nil {
		if st := esSink.Stats(); !*quiet || st.Failed > 0 {
			fmt.Fprintf(stderr, "ntlmsensor: elasticsearch: %v\n", st)
		}
	}
	if sinkErr != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", sinkErr)
		status = 1
	}
	return status
}
