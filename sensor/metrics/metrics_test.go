package metrics

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

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
	for _, name := range []string{"smb2_ntlmv2_by_ip.pcap", "http_ntlmv1.pcap", "krb_rc4_only_client.pcap"} {
		src, err := capture.OpenFile(filepath.Join(pcaps(), "real-implementations", name))
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

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
