package metrics

import (
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/audit/detect"
	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

func pcaps() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "pcaps")
}

// TestMetricsOfARealCapture: the counters a scrape shows are those of the
// pipeline and of the findings it emitted.
func TestMetricsOfARealCapture(t *testing.T) {
	c := NewCounters()
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	fail := false
	cfg.Emit = func(f *findings.Finding) {
		c.Finding(f)
		if fail {
			c.Delivered(errors.New("disk full"))
		} else {
			c.Delivered(nil)
		}
		fail = !fail
	}
	p := sensor.NewPipeline(cfg, 2, nil)
	readAll(t, p, "real-implementations/smb2_ntlmv2_by_ip.pcap", "real-implementations/http_ntlmv1.pcap", "real-implementations/krb_rc4_only_client.pcap")
	st, _ := p.Stats()
	snap := p.Snapshot()
	if snap.Read != p.Read() || snap.Sensor != st || snap.Flows != 0 {
		t.Fatalf("snapshot after Close %+v, stats %+v, read %d", snap, st, p.Read())
	}

	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln, NewRegistry(p.Snapshot, c, Info{Method: "file", Workers: 2, Sinks: func() []SinkStats {
		return []SinkStats{{Sink: "json", Results: map[string]uint64{"written": 7}}}
	}}))
	defer srv.Close()
	body, got := scrape(t, ln)
	findings, delivered, failed := c.Totals()
	for name, want := range map[string]string{
		`ntlmsensor_packets_received_total`: itoa(p.Read()),
		`ntlmsensor_flows_total`:            itoa(st.Flows),
		`ntlmsensor_kernel_drops_total`:     "0",
		`ntlmsensor_findings_total{mechanism="ntlm",outcome="success",protocol="smb"}`:  "1",
		`ntlmsensor_findings_total{mechanism="ntlm",outcome="success",protocol="http"}`: "1",
		`ntlmsensor_finding_flags_total{flag="ntlm_v1",protocol="http"}`:                "1",
		`ntlmsensor_finding_flags_total{flag="ip_target",protocol="smb"}`:               "1",
		`ntlmsensor_sink_writes_total{result="ok"}`:                                     itoa(delivered),
		`ntlmsensor_sink_writes_total{result="error"}`:                                  itoa(failed),
		`ntlmsensor_sink_delivery_total{result="written",sink="json"}`:                  "7",
		`ntlmsensor_limit_hits_total{limit="memory"}`:                                   "0",
		`ntlmsensor_decode_errors_total{reason="malformed"}`:                            "0",
		`ntlmsensor_workers`:                          "2",
		`ntlmsensor_info{interface="",method="file"}`: "1",
		`ntlmsensor_flow_evictions_total`:             "0",
		`ntlmsensor_stream_buffered_bytes`:            "0",
		`ntlmsensor_findings_total{mechanism="kerberos",outcome="success",protocol="kerberos"}`: got[`ntlmsensor_findings_total{mechanism="kerberos",outcome="success",protocol="kerberos"}`],
	} {
		if got[name] != want || want == "" {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	if findings < 3 || delivered+failed != findings || st.Findings != findings {
		t.Errorf("findings %d (pipeline %d), delivered %d, failed %d", findings, st.Findings, delivered, failed)
	}
	if !strings.Contains(string(body), "\nprocess_resident_memory_bytes ") && runtime.GOOS == "linux" {
		t.Errorf("no process metrics")
	}
}

// readAll reads captures (paths below pcaps/) into p, then closes it.
func readAll(t *testing.T, p *sensor.Pipeline, names ...string) {
	t.Helper()
	for _, name := range names {
		src, err := capture.OpenFile(filepath.Join(pcaps(), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ReadSource(src); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// scrape GETs /metrics and returns the body and the ntlmsensor_ samples
// by name with labels.
func scrape(t *testing.T, ln net.Listener) (string, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && strings.HasPrefix(line, "ntlmsensor_") {
			got[line[:i]] = line[i+1:]
		}
	}
	return string(body), got
}

// TestAuditAndAlertMetrics: the audit stage's counters and the alerts by
// rule, as the live sensor wires them (counters from the documents the
// stage emits, the stage's own from Stage.Stats), on real captures: kinit
// (an MIT KDC: three AS-REP roastable principals, one failing 6 times: 3
// asrep_roasting and 1 brute_force, audit/detect/detect_test.go) and two
// Samba lab logons (SMB2 to an IP: ip_target; HTTP NTLMv1 without
// Negotiate: ntlm_direct), 87 findings. The stage holds one finding and one
// row at most, so that forced releases (85: findings and the detectors'
// observations pushed out by the next) and an eviction (two NTLM rows, one
// kept) count.
func TestAuditAndAlertMetrics(t *testing.T) {
	c := NewCounters()
	causes := map[string]int{}
	rows := 0
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observations = true
	st := audit.New(audit.Config{Workers: 1, MaxHeld: 1, MaxRows: 1,
		Analyzers: []audit.Analyzer{detect.New(detect.DefaultConfig())},
		Emit: func(d findings.Document) {
			switch d := d.(type) {
			case *findings.Finding:
				c.Finding(d)
				if d.Cause != "" {
					causes[d.Cause]++
				}
			case *detect.Alert:
				c.Alert(d)
			case *audit.Row:
				rows++
			}
		}})
	cfg.Emit, cfg.Clock, cfg.OnTraceBreak = st.Finding, st.Clock, st.TraceBreak
	p := sensor.NewPipeline(cfg, 1, nil)
	readAll(t, p, "public/zeek/testing/btest/Traces/krb/kinit.pcap", "real-implementations/smb2_ntlmv2_by_ip.pcap", "real-implementations/http_ntlmv1.pcap")
	st.Close()
	st.WriteInventory(time.Now())

	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln, NewRegistry(p.Snapshot, c, Info{Method: "file", Workers: 1, Audit: st.Stats}))
	defer srv.Close()
	_, got := scrape(t, ln)
	// 87 exchanges, and kinit's one KDC step never retried (audit/retry.go)
	if n, _, _ := c.Totals(); n != 88 {
		t.Errorf("%d findings emitted, want 88", n)
	}
	want := map[string]string{
		`ntlmsensor_alerts_total{rule="asrep_roasting"}`:            "3",
		`ntlmsensor_alerts_total{rule="brute_force"}`:               "1",
		`ntlmsensor_alerts_total{rule="password_spray"}`:            "0",
		`ntlmsensor_alerts_total{rule="ntlm_relay_response"}`:       "0",
		`ntlmsensor_audit_findings_released_total`:                  "88",
		`ntlmsensor_audit_causes_total{cause="ip_target"}`:          "1",
		`ntlmsensor_audit_causes_total{cause="ntlm_direct"}`:        "1",
		`ntlmsensor_audit_causes_total{cause="spn_wrong_account"}`:  "0",
		`ntlmsensor_audit_inventory_rows`:                           "1",
		`ntlmsensor_audit_inventory_rows_evicted_total`:             "1",
		`ntlmsensor_audit_out_of_order_total`:                       "0",
		`ntlmsensor_audit_forced_releases_total`:                    "94", // MaxHeld 1: KDC steps held for their retry count too
		`ntlmsensor_audit_memories_evicted_total{memory="clients"}`: "0",
		`ntlmsensor_audit_memories_evicted_total{memory="servers"}`: "0",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	for cause, n := range causes {
		if name := `ntlmsensor_audit_causes_total{cause="` + cause + `"}`; got[name] != strconv.Itoa(n) {
			t.Errorf("%s = %q, the findings written say %d", name, got[name], n)
		}
	}
	if rows != 1 {
		t.Errorf("%d inventory rows written, want 1", rows)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
