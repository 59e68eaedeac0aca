// Package audittest runs what the binary runs with its defaults (the sensor
// pipeline, the audit stage, the attack detectors) over the bundled
// captures, for the tests that check every document the sensor writes:
// findings, inventory rows and alerts.
package audittest

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/audit/detect"
	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// Written is the @timestamp of the inventory rows Documents returns.
var Written = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Pcaps is the repository's pcaps/ folder.
func Pcaps() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "pcaps")
}

// Captures lists every bundled capture (pcap, pcapng, NetMon .cap, gzip
// compressed or not), sorted.
func Captures(tb testing.TB) []string {
	tb.Helper()
	var paths []string
	err := filepath.WalkDir(Pcaps(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n := strings.TrimSuffix(d.Name(), ".gz")
		if strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".cap") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}

// Documents reads one capture as `ntlmsensor -r PATH -workers 1 -observer t`
// does and returns the documents it writes, in order: findings and alerts
// as the stage releases them, then the inventory rows (stamped Written).
func Documents(tb testing.TB, path string) []findings.Document {
	tb.Helper()
	var docs []findings.Document
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observer = "t"
	cfg.Observations = true
	dc := detect.DefaultConfig()
	dc.Observer = cfg.Observer
	st := audit.New(audit.Config{Workers: 1, Delay: cfg.TCPIdle + 30*time.Second,
		Analyzers: []audit.Analyzer{detect.New(dc)},
		Emit:      func(d findings.Document) { docs = append(docs, d) }})
	cfg.Emit, cfg.Clock, cfg.OnTraceBreak = st.Finding, st.Clock, st.TraceBreak
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	pl := sensor.NewPipeline(cfg, 1, nil)
	if err := pl.ReadSource(src); err != nil {
		tb.Logf("%s: %v", path, err)
	}
	pl.Close()
	st.Close()
	st.WriteInventory(Written)
	return docs
}

// Kind is a document's event.kind: "event" (finding), "state" (inventory
// row) or "alert".
func Kind(d findings.Document) string {
	switch d.(type) {
	case *findings.Finding:
		return "event"
	case *audit.Row:
		return "state"
	case *detect.Alert:
		return "alert"
	}
	return ""
}
