// Package metrics exposes what the sensor does as Prometheus metrics:
// packets and bytes received, kernel drops, decode errors, flows and
// evictions, every limit hit, findings by protocol and flag, the audit
// stage (findings released, causes, inventory, ordering, memories), alerts
// by rule, and sink delivery.
//
// Nothing here touches the packet path. The pipeline's goroutines publish
// their counters (sensor.Pipeline.Snapshot); a scrape reads the last
// published values. Findings are counted as they are emitted (a mutex per
// finding: findings are rare next to packets).
package metrics

import (
	"net"
	"net/http"
	"sync"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/audit/detect"
	"ntlmsensor/findings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ntlmsensor/sensor"
)

// Counters counts findings and their delivery to the sinks. Safe for
// concurrent use.
type Counters struct {
	mu        sync.Mutex
	attempts  map[findingKey]uint64
	flags     map[flagKey]uint64
	alerts    [len(detect.Rules)]uint64
	total     uint64
	delivered uint64
	failed    uint64
}

type findingKey struct{ protocol, mechanism, outcome string }
type flagKey struct{ protocol, flag string }

// NewCounters makes empty counters.
func NewCounters() *Counters {
	return &Counters{attempts: map[findingKey]uint64{}, flags: map[flagKey]uint64{}}
}

// Finding counts one finding by protocol, mechanism, outcome and flags.
func (c *Counters) Finding(f *findings.Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	c.attempts[findingKey{string(f.Protocol), string(f.Mechanism), string(f.Outcome)}]++
	for _, fl := range f.Flags {
		c.flags[flagKey{string(f.Protocol), string(fl)}]++
	}
}

// Alert counts one alert by its rule.
func (c *Counters) Alert(a *detect.Alert) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(a.Rule) >= 0 && int(a.Rule) < len(c.alerts) {
		c.alerts[a.Rule]++
	}
}

// Alerts returns the number of alerts counted.
func (c *Counters) Alerts() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n uint64
	for _, v := range c.alerts {
		n += v
	}
	return n
}

// Delivered counts one write to the sinks: err nil when it succeeded.
func (c *Counters) Delivered(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.delivered++
	} else {
		c.failed++
	}
}

// Totals returns the number of findings, and of sink writes that
// succeeded and failed.
func (c *Counters) Totals() (attempts, delivered, failed uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.delivered, c.failed
}

// Info describes the capture, for the ntlmsensor_info metric, and where
// the sinks' own delivery counters come from.
type Info struct {
	Interface string // "" when reading files
	Method    string // afpacket, pcap, file
	Workers   int
	// Sinks, when set, reports what each sink did with the findings it
	// took (asynchronous sinks deliver later, or spool, or lose them).
	Sinks func() []SinkStats
	// Audit, when set, reads the audit stage's counters (audit.Stage.Stats).
	Audit func() audit.Stats
}

// SinkStats are one sink's delivery counters.
type SinkStats struct {
	Sink    string            // e.g. json, elasticsearch
	Results map[string]uint64 // count by result, e.g. written, sent, retried, spooled, dead_lettered, failed
	Backlog int64             // findings waiting (in memory or a spool)
}

// NewRegistry makes a registry holding the sensor's metrics (read from
// snap at every scrape and from c), the Go runtime's and the process's
// (resident memory, file descriptors, CPU).
func NewRegistry(snap func() sensor.Snapshot, c *Counters, info Info) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{snap: snap, c: c, info: info, start: time.Now()},
	)
	return reg
}

// Listen opens the metrics listener (before privileges are dropped, so a
// port below 1024 works).
func Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Serve answers /metrics on ln in the background. Close the returned
// server to stop.
func Serve(ln net.Listener, reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ntlmsensor: metrics at /metrics\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns when the server is closed
	return srv
}

type metric struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
	val  func(s *sensor.Snapshot) float64
}

func counter(name, help string, val func(s *sensor.Snapshot) uint64) metric {
	return metric{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, func(s *sensor.Snapshot) float64 { return float64(val(s)) }}
}

func gauge(name, help string, val func(s *sensor.Snapshot) int) metric {
	return metric{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, func(s *sensor.Snapshot) float64 { return float64(val(s)) }}
}

var (
	plain = []metric{
		counter("ntlmsensor_packets_received_total", "Frames read from the capture (rings, libpcap or files).", func(s *sensor.Snapshot) uint64 { return s.Read }),
		counter("ntlmsensor_file_parts_reread_total", "Parts of a capture file read again by several readers because their first record was guessed wrong (a payload that looks like a record header).", func(s *sensor.Snapshot) uint64 { return s.Reread }),
		counter("ntlmsensor_bytes_received_total", "Bytes of the frames read, as long as they were on the wire.", func(s *sensor.Snapshot) uint64 { return s.Bytes }),
		counter("ntlmsensor_kernel_packets_total", "Packets the kernel filter accepted for the sensor, delivered or dropped (ring statistics).", func(s *sensor.Snapshot) uint64 { return s.Capture.Seen }),
		counter("ntlmsensor_kernel_drops_total", "Packets the kernel dropped because the capture ring was full: the sensor did not keep up.", func(s *sensor.Snapshot) uint64 { return s.Capture.Dropped }),
		counter("ntlmsensor_interface_drops_total", "Packets the interface or driver dropped (libpcap only, when it can tell).", func(s *sensor.Snapshot) uint64 { return s.Capture.IfDropped }),
		counter("ntlmsensor_decoded_packets_total", "TCP and UDP packets decoded (a reassembled datagram counts once).", func(s *sensor.Snapshot) uint64 { return s.Decoder.Decoded }),
		counter("ntlmsensor_ip_fragments_total", "IP fragments seen.", func(s *sensor.Snapshot) uint64 { return s.Decoder.Fragments }),
		counter("ntlmsensor_ip_fragments_dropped_total", "IP fragments discarded: limit, timeout, overlap, duplicate, cut by the snap length.", func(s *sensor.Snapshot) uint64 { return s.Decoder.FragmentsDropped }),
		counter("ntlmsensor_flows_total", "Connections (and UDP conversations) tracked since the start.", func(s *sensor.Snapshot) uint64 { return s.Sensor.Flows }),
		counter("ntlmsensor_flows_ignored_total", "Connections no carrier recognised (one table lookup per packet from then on).", func(s *sensor.Snapshot) uint64 { return s.Sensor.FlowsIgnored }),
		counter("ntlmsensor_udp_datagrams_ignored_total", "UDP datagrams no carrier recognised, of conversations not tracked (DNS, QUIC, syslog...): they leave no state.", func(s *sensor.Snapshot) uint64 { return s.Sensor.UDPIgnored }),
		counter("ntlmsensor_flow_evictions_total", "Connections closed because the flow table was full (max-flows): the least recently seen went.", func(s *sensor.Snapshot) uint64 { return s.Sensor.FlowsEvicted }),
		counter("ntlmsensor_flows_idle_total", "Connections closed by the idle timeout.", func(s *sensor.Snapshot) uint64 { return s.Sensor.FlowsIdle }),
		counter("ntlmsensor_stream_gaps_total", "Bytes of a TCP stream declared lost (capture loss, limits); the carrier resynchronised.", func(s *sensor.Snapshot) uint64 { return s.Sensor.Gaps }),
		counter("ntlmsensor_tcp_out_of_order_segments_total", "TCP segments that arrived early and were held.", func(s *sensor.Snapshot) uint64 { return s.Sensor.OutOfOrder }),
		counter("ntlmsensor_tcp_retransmitted_segments_total", "TCP segments whose bytes had all been seen already.", func(s *sensor.Snapshot) uint64 { return s.Sensor.Retransmitted }),
		counter("ntlmsensor_skipped_bytes_total", "Payload bytes passed over unseen by sequence arithmetic (SMB READ/WRITE data, HTTP bodies).", func(s *sensor.Snapshot) uint64 { return s.Sensor.SkippedBytes }),
		gauge("ntlmsensor_flows", "Connections tracked now.", func(s *sensor.Snapshot) int { return s.Flows }),
		gauge("ntlmsensor_stream_buffered_bytes", "Bytes the TCP streams hold now (bounded by max-buffered).", func(s *sensor.Snapshot) int { return s.Buffered }),
	}
	decodeErrors = prometheus.NewDesc("ntlmsensor_decode_errors_total", "Frames that could not be decoded, by reason.", []string{"reason"}, nil)
	limitHits    = prometheus.NewDesc("ntlmsensor_limit_hits_total", "Times a memory bound was hit and state was dropped, by bound: memory (max-buffered, all streams), stream_buffer (max-stream-buffer, one direction), out_of_order (early segments of one direction).", []string{"limit"}, nil)
	findingsDesc = prometheus.NewDesc("ntlmsensor_findings_total", "Findings (authentication attempts) by carrier protocol, mechanism and outcome.", []string{"protocol", "mechanism", "outcome"}, nil)
	flags        = prometheus.NewDesc("ntlmsensor_finding_flags_total", "Flags raised on findings, by carrier protocol and flag.", []string{"protocol", "flag"}, nil)
	sinkWrites   = prometheus.NewDesc("ntlmsensor_sink_writes_total", "Findings handed to the sinks, by result.", []string{"result"}, nil)
	workers      = prometheus.NewDesc("ntlmsensor_workers", "Worker goroutines (each with its own flow table).", nil, nil)
	info         = prometheus.NewDesc("ntlmsensor_info", "The capture: interface and method (afpacket, pcap, file).", []string{"interface", "method"}, nil)
	uptime       = prometheus.NewDesc("ntlmsensor_uptime_seconds", "Seconds since the capture started.", nil, nil)
	sinkResults  = prometheus.NewDesc("ntlmsensor_sink_delivery_total", "What each sink did with the findings it took, by result (json: written; elasticsearch: sent, retried, spooled, dead_lettered, failed).", []string{"sink", "result"}, nil)
	sinkBacklog  = prometheus.NewDesc("ntlmsensor_sink_backlog", "Findings a sink holds, waiting for delivery (memory or spool).", []string{"sink"}, nil)
	alerts       = prometheus.NewDesc("ntlmsensor_alerts_total", "Attack alerts written (event.kind alert), by rule.id.", []string{"rule"}, nil)

	auditReleased = prometheus.NewDesc("ntlmsensor_audit_findings_released_total", "Findings the audit stage released to the sinks, in capture-time order.", nil, nil)
	auditCauses   = prometheus.NewDesc("ntlmsensor_audit_causes_total", "NTLM logons the audit stage gave a cause, by ntlm.cause.", []string{"cause"}, nil)
	auditRows     = prometheus.NewDesc("ntlmsensor_audit_inventory_rows", "Inventory rows held (bounded by max-inventory-rows).", nil, nil)
	auditEvicted  = prometheus.NewDesc("ntlmsensor_audit_inventory_rows_evicted_total", "Inventory rows evicted because the table was full (max-inventory-rows): the least recently seen went.", nil, nil)
	auditLate     = prometheus.NewDesc("ntlmsensor_audit_out_of_order_total", "Findings that reached the audit stage after a later one was released (audit-delay too short for them).", nil, nil)
	auditForced   = prometheus.NewDesc("ntlmsensor_audit_forced_releases_total", "Findings released before their time because the stage held its maximum.", nil, nil)
	auditForgot   = prometheus.NewDesc("ntlmsensor_audit_memories_evicted_total", "Memories the audit stage evicted to stay bounded, by kind: clients (recent Kerberos exchanges), servers (names).", []string{"memory"}, nil)
)

type collector struct {
	snap  func() sensor.Snapshot
	c     *Counters
	info  Info
	start time.Time
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range plain {
		ch <- m.desc
	}
	for _, d := range []*prometheus.Desc{decodeErrors, limitHits, findingsDesc, flags, sinkWrites, workers, info, uptime, sinkResults, sinkBacklog,
		alerts, auditReleased, auditCauses, auditRows, auditEvicted, auditLate, auditForced, auditForgot} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	for _, m := range plain {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.val(&s))
	}
	for reason, v := range map[string]uint64{
		"malformed":        s.Decoder.Malformed,
		"truncated":        s.Decoder.Truncated,
		"unsupported_link": s.Decoder.UnsupportedLink,
	} {
		ch <- prometheus.MustNewConstMetric(decodeErrors, prometheus.CounterValue, float64(v), reason)
	}
	for limit, v := range map[string]uint64{
		"memory":        s.Sensor.MemoryLimitHits,
		"stream_buffer": s.Sensor.BufferLimitHits,
		"out_of_order":  s.Sensor.OutOfOrderLimitHits,
	} {
		ch <- prometheus.MustNewConstMetric(limitHits, prometheus.CounterValue, float64(v), limit)
	}
	ch <- prometheus.MustNewConstMetric(workers, prometheus.GaugeValue, float64(c.info.Workers))
	ch <- prometheus.MustNewConstMetric(info, prometheus.GaugeValue, 1, c.info.Interface, c.info.Method)
	ch <- prometheus.MustNewConstMetric(uptime, prometheus.GaugeValue, time.Since(c.start).Seconds())
	if c.info.Sinks != nil {
		for _, st := range c.info.Sinks() {
			for result, v := range st.Results {
				ch <- prometheus.MustNewConstMetric(sinkResults, prometheus.CounterValue, float64(v), st.Sink, result)
			}
			ch <- prometheus.MustNewConstMetric(sinkBacklog, prometheus.GaugeValue, float64(st.Backlog), st.Sink)
		}
	}
	if c.info.Audit != nil {
		c.collectAudit(ch, c.info.Audit())
	}
	if c.c == nil {
		return
	}
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	for k, v := range c.c.attempts {
		ch <- prometheus.MustNewConstMetric(findingsDesc, prometheus.CounterValue, float64(v), k.protocol, k.mechanism, k.outcome)
	}
	for k, v := range c.c.flags {
		ch <- prometheus.MustNewConstMetric(flags, prometheus.CounterValue, float64(v), k.protocol, k.flag)
	}
	ch <- prometheus.MustNewConstMetric(sinkWrites, prometheus.CounterValue, float64(c.c.delivered), "ok")
	ch <- prometheus.MustNewConstMetric(sinkWrites, prometheus.CounterValue, float64(c.c.failed), "error")
	for i, v := range c.c.alerts { // every rule, 0 included: a rate over a rule that never fired is 0, not absent
		ch <- prometheus.MustNewConstMetric(alerts, prometheus.CounterValue, float64(v), detect.Rules[i].ID)
	}
}

func (c *collector) collectAudit(ch chan<- prometheus.Metric, st audit.Stats) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(auditReleased, st.Findings)
	for _, ci := range audit.Causes {
		counter(auditCauses, st.ByCause[ci.ID], string(ci.ID))
	}
	ch <- prometheus.MustNewConstMetric(auditRows, prometheus.GaugeValue, float64(st.Rows))
	counter(auditEvicted, st.RowsEvicted)
	counter(auditLate, st.Late)
	counter(auditForced, st.ForcedReleases)
	counter(auditForgot, st.ClientsEvicted, "clients")
	counter(auditForgot, st.ServersEvicted, "servers")
}
