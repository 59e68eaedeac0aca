package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
	"ntlmsensor/sinks/elasticsearch/vltest"
)

// realFindings: every finding of the bundled captures (deep copies).
func realFindings(b testing.TB) []*findings.Finding {
	_, file, _, _ := runtime.Caller(0)
	var out []*findings.Finding
	filepath.WalkDir(filepath.Join(filepath.Dir(file), "..", "..", "pcaps"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			return err
		}
		src, err := capture.OpenFile(p)
		if err != nil {
			return nil
		}
		defer src.Close()
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		cfg.Observer = "bench"
		cfg.Emit = func(f *findings.Finding) {
			c := *f
			c.Offered, c.Flags = slices.Clone(f.Offered), slices.Clone(f.Flags)
			c.Kerberos.Etypes = slices.Clone(f.Kerberos.Etypes)
			out = append(out, &c)
		}
		pl := sensor.NewPipeline(cfg, 1, nil)
		pl.ReadSource(src)
		pl.Close()
		return nil
	})
	if len(out) == 0 {
		b.Fatal("no findings")
	}
	return out
}

// leanES acknowledges every item at once, storing nothing: the benchmark
// measures the sink, not the server.
func leanES(b testing.TB, received *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			io.WriteString(w, `{"version":{"number":"8.15.0"}}`)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, _ := gzip.NewReader(r.Body)
			body = zr
		}
		raw, _ := io.ReadAll(body)
		n := bytes.Count(raw, []byte{'\n'}) / 2
		received.Add(int64(n))
		var out bytes.Buffer
		out.WriteString(`{"took":1,"errors":false,"items":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				out.WriteByte(',')
			}
			fmt.Fprintf(&out, `{"create":{"_index":"x","_id":"%d","_version":1,"result":"created","status":201}}`, i)
		}
		out.WriteString("]}")
		w.Write(out.Bytes())
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkSink: findings per second through the sink, from Write to the
// server's acknowledgement (Close waits for the last one), with the
// defaults (gzip, 1 MiB bulk requests, 2 workers).
func BenchmarkSink(b *testing.B) {
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			fs := realFindings(b)
			var received atomic.Int64
			srv := leanES(b, &received)
			cfg := Defaults()
			cfg.URLs = []string{srv.URL}
			cfg.Gzip = gz
			cfg.Getenv = func(string) string { return "" }
			cfg.Logf = b.Logf
			bench(b, cfg, fs, func() int64 { return received.Load() })
		})
	}
}

// BenchmarkSinkVictoriaLogs: the same against the real server.
func BenchmarkSinkVictoriaLogs(b *testing.B) {
	fs := realFindings(b)
	vl := vltest.Start(b)
	cfg := Defaults()
	cfg.URLs = []string{vl.ESURL()}
	cfg.Headers = vltest.Headers
	cfg.Getenv = func(string) string { return "" }
	cfg.Logf = b.Logf
	bench(b, cfg, fs, nil)
}

func bench(b *testing.B, cfg Config, fs []*findings.Finding, received func() int64) {
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, f := range fs {
		size += len(f.AppendJSON(nil))
	}
	b.SetBytes(int64(size / len(fs)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.Write(fs[i%len(fs)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	st := s.Stats()
	if st.Sent != uint64(b.N) || (received != nil && received() != int64(b.N)) {
		b.Fatalf("sent %d of %d: %+v", st.Sent, b.N, st)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "findings/s")
}
