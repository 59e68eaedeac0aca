package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"ntlmsensor/audit/detect"
	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sensor/metrics"
	"ntlmsensor/sinks"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/json"
)

// defaultMethod is AF_PACKET on Linux (pure Go, one ring per worker),
// libpcap elsewhere.
var defaultMethod = func() string {
	if runtime.GOOS == "linux" {
		return capture.MethodAFPacket
	}
	return capture.MethodPcap
}()

// live is what serviceOptions.open made.
type live struct {
	srcs    []capture.LiveSource
	ln      net.Listener // metrics
	workers int
	audit   auditOptions // set by run before run()
	fanout  bool         // one ring per worker
	started time.Time
}

// open runs before the sinks are made, as the user the process started
// as: it opens the capture (one AF_PACKET ring per worker, or one libpcap
// handle) and the metrics port, then drops to -user. Without -i it only
// drops privileges (when asked).
func (o *serviceOptions) open(workers int, args []string, stderr io.Writer) error {
	o.workers = workers
	if !o.enabled() {
		if o.metricsAddr != "" {
			return errors.New("-metrics needs a live capture (-i)")
		}
		return o.dropPrivileges(stderr)
	}
	if o.fanoutGroup > 65535 {
		return fmt.Errorf("-fanout-group %d: at most 65535", o.fanoutGroup)
	}
	opts := capture.LiveOptions{
		Interface:   o.iface,
		Filter:      o.filterExpr(args),
		Snaplen:     o.snaplen,
		Promisc:     o.promisc,
		RingBytes:   int(o.ring),
		FanoutGroup: uint16(o.fanoutGroup),
	}
	rings := 1
	if o.method == capture.MethodAFPacket {
		rings = workers
	}
	srcs, err := capture.OpenLive(o.method, opts, rings)
	if err != nil {
		return err
	}
	o.srcs, o.fanout = srcs, len(srcs) > 1 || o.method == capture.MethodAFPacket
	if o.metricsAddr != "" {
		if o.ln, err = metrics.Listen(o.metricsAddr); err != nil {
			o.closeSources()
			return fmt.Errorf("-metrics: %v", err)
		}
	}
	if err := o.dropPrivileges(stderr); err != nil {
		o.closeSources()
		return err
	}
	return nil
}

// dropPrivileges locks the process down (privileges_linux.go): a live
// capture always (the bounding set, no_new_privs, the seccomp filter
// unless -seccomp=false), other runs only with -user.
func (o *serviceOptions) dropPrivileges(stderr io.Writer) error {
	live := o.enabled()
	if o.user == "" && !live {
		return nil
	}
	done, err := confine(o.user, live && o.seccomp)
	if err != nil {
		return err
	}
	if done != "" {
		fmt.Fprintf(stderr, "ntlmsensor: %s\n", done)
	}
	return nil
}

func (o *serviceOptions) closeSources() {
	for _, s := range o.srcs {
		s.Close()
	}
	if o.ln != nil {
		o.ln.Close()
	}
}

// run captures until stop is set (SIGINT, SIGTERM) or the capture fails,
// then emits what is pending, closes the sinks and says what happened. It
// returns the exit status: 0 after a stop, 1 when the capture or a sink
// failed.
func (o *serviceOptions) run(cfg sensor.Config, sink sinks.Sink, stop *atomic.Bool, quiet bool, stderr io.Writer) int {
	defer o.closeSources()
	counters := metrics.NewCounters()
	var sinkErr error
	emit := func(d findings.Document) {
		// the audit stage calls this from one goroutine at a time
		switch d := d.(type) {
		case *findings.Finding:
			counters.Finding(d)
		case *detect.Alert:
			counters.Alert(d)
		}
		err := sink.Write(d)
		counters.Delivered(err)
		if err != nil && sinkErr == nil {
			sinkErr = err
			fmt.Fprintf(stderr, "ntlmsensor: %v (findings are being lost; counted in ntlmsensor_sink_writes_total)\n", err)
		}
	}
	workers := o.workers
	if o.fanout {
		workers = len(o.srcs)
	}
	stage := o.audit.newStage(&cfg, workers, true, emit) // audit.go
	var p *sensor.Pipeline
	if o.fanout {
		p = sensor.NewFanoutPipeline(cfg, len(o.srcs))
	} else {
		p = sensor.NewPipeline(cfg, o.workers, nil)
	}
	if o.ln != nil {
		reg := metrics.NewRegistry(p.Snapshot, counters, metrics.Info{Interface: o.iface, Method: o.method, Workers: p.Workers(),
			Sinks: func() []metrics.SinkStats { return sinkStats(sink) }, Audit: stage.Stats})
		srv := metrics.Serve(o.ln, reg)
		defer srv.Close()
	}
	o.started = time.Now()
	done := make(chan error, 1)
	go func() {
		if o.fanout {
			srcs := make([]capture.Source, len(o.srcs))
			for i, s := range o.srcs {
				srcs[i] = s
			}
			done <- p.ReadSources(srcs)
		} else {
			done <- p.ReadSource(o.srcs[0])
		}
	}()
	if !quiet {
		how := fmt.Sprintf("%s, %d workers", o.method, p.Workers())
		if o.fanout && len(o.srcs) > 1 {
			how = fmt.Sprintf("afpacket, %d rings of %s in a fanout group", len(o.srcs), &o.ring)
		}
		fmt.Fprintf(stderr, "ntlmsensor: capturing on %s (%s); memory bound with these settings: %d MiB\n", o.iface, how, o.peak>>20)
	}

	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	nextFlush := time.Now().Add(time.Second)
	nextSummary := time.Now().Add(o.interval)
	nextInventory := time.Now().Add(*o.audit.interval)
	stopping := false
	var readErr error
loop:
	for {
		select {
		case readErr = <-done:
			break loop
		case now := <-poll.C:
			if stop.Load() && !stopping {
				stopping = true
				for _, s := range o.srcs {
					s.Stop() // the readers drain the rings, then end
				}
			}
			if now.After(nextFlush) {
				// findings reach a file or a pipe within a second
				nextFlush = now.Add(time.Second)
				flushSinks(sink)
			}
			if *o.audit.interval > 0 && now.After(nextInventory) {
				nextInventory = now.Add(*o.audit.interval)
				stage.WriteInventory(now)
			}
			if o.interval > 0 && now.After(nextSummary) {
				nextSummary = now.Add(o.interval)
				if !quiet {
					fmt.Fprintln(stderr, o.summary("", p.Snapshot(), counters))
				}
			}
		}
	}
	status := 0
	if readErr != nil {
		fmt.Fprintf(stderr, "ntlmsensor: capture failed: %v\n", readErr)
		status = 1
	}
	if err := p.Close(); err != nil && !errors.Is(err, sensor.ErrNothingRead) {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		status = 1
	}
	stage.Close()
	stage.WriteInventory(time.Now())
	if !quiet {
		fmt.Fprintln(stderr, o.summary("stopped: ", p.Snapshot(), counters))
		o.audit.printSummary(stderr, stage.Stats())
	}
	if err := sink.Close(); err != nil && sinkErr == nil {
		sinkErr = err
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
	}
	eachSink(sink, func(s sinks.Sink) {
		if es, ok := s.(*elasticsearch.Sink); ok {
			fmt.Fprintf(stderr, "ntlmsensor: elasticsearch: %v\n", es.Stats())
		}
	})
	if sinkErr != nil {
		status = 1
	}
	return status
}

// summary is the one-line report, every -stats-interval and at exit.
func (o *serviceOptions) summary(prefix string, s sensor.Snapshot, c *metrics.Counters) string {
	findings, delivered, failed := c.Totals()
	dropPct := 0.0
	if s.Capture.Seen > 0 {
		dropPct = 100 * float64(s.Capture.Dropped) / float64(s.Capture.Seen)
	}
	st := s.Sensor
	return fmt.Sprintf("ntlmsensor: %s%s up %s: %d frames (%d MiB) read; kernel: %d seen, %d dropped (%.3f%%), %d by the interface; "+
		"%d TCP/UDP packets; flows: %d now, %d in all (%d ignored, %d evicted, %d idle); %d findings (%d written, %d failed), %d alerts; "+
		"limits hit: %d memory, %d stream buffer, %d out-of-order; %d stream gaps; decode: %d malformed, %d truncated",
		prefix, o.iface, time.Since(o.started).Round(time.Second), s.Read, s.Bytes>>20,
		s.Capture.Seen, s.Capture.Dropped, dropPct, s.Capture.IfDropped,
		st.Packets, s.Flows, st.Flows, st.FlowsIgnored, st.FlowsEvicted, st.FlowsIdle, findings, delivered, failed, c.Alerts(),
		st.MemoryLimitHits, st.BufferLimitHits, st.OutOfOrderLimitHits, st.Gaps, s.Decoder.Malformed, s.Decoder.Truncated)
}

// eachSink calls fn for every sink, looking inside sinks.Multi.
func eachSink(s sinks.Sink, fn func(sinks.Sink)) {
	if m, ok := s.(sinks.Multi); ok {
		for _, k := range m {
			eachSink(k, fn)
		}
		return
	}
	if s != nil {
		fn(s)
	}
}

// sinkStats reads the delivery counters of the sinks that keep them.
func sinkStats(s sinks.Sink) []metrics.SinkStats {
	var out []metrics.SinkStats
	eachSink(s, func(k sinks.Sink) {
		switch k := k.(type) {
		case *json.Sink:
			out = append(out, metrics.SinkStats{Sink: "json", Results: map[string]uint64{"written": k.Written(), "lost": k.Lost()}})
		case *elasticsearch.Sink:
			st := k.Stats()
			out = append(out, metrics.SinkStats{Sink: "elasticsearch", Backlog: st.InSpool, Results: map[string]uint64{
				"sent": st.Sent, "retried": st.Retried, "spooled": st.Spooled, "dead_lettered": st.DeadLettered, "failed": st.Failed,
			}})
		}
	})
	return out
}

// flushSinks pushes what the sinks buffer (JSON lines to a file or pipe).
func flushSinks(s sinks.Sink) {
	eachSink(s, func(k sinks.Sink) {
		if f, ok := k.(interface{ Flush() error }); ok {
			f.Flush()
		}
	})
}
