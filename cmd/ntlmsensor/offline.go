package main

import (
	"fmt"
	"io"
	"sync/atomic"

	"ntlmsensor/capture"
	"ntlmsensor/sensor"
)

// offlineRun is what reading the -r files left.
type offlineRun struct {
	pipeline  *sensor.Pipeline // nil when no file could be opened
	opened    int              // files read
	badFilter bool             // the BPF expression did not compile
}

// readFiles reads the capture files one after the other through one
// pipeline (made when the first file opens: the filter is compiled for its
// link type). A file that cannot be opened is reported and skipped.
func readFiles(paths []string, cfg sensor.Config, workers int, expr string, stop *atomic.Bool, prog *progress, quiet bool, stderr io.Writer) offlineRun {
	var r offlineRun
	for _, path := range paths {
		if stop.Load() {
			break
		}
		src, err := capture.OpenFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			continue
		}
		if r.pipeline == nil {
			var filter *capture.Filter
			if expr != "" {
				filter, err = capture.NewFilter(src.LinkType(), 262144, expr)
				if err != nil {
					fmt.Fprintf(stderr, "ntlmsensor: filter %q: %v\n", expr, err)
					src.Close()
					r.badFilter = true
					return r
				}
			}
			r.pipeline = sensor.NewPipeline(cfg, workers, filter)
		}
		r.opened++
		prog.reading(src, r.pipeline) // progress.go
		if err := r.pipeline.ReadSource(stopping(src, stop)); err != nil {
			prog.clear()
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		}
		prog.read(src, path)
		if rs, ok := src.(capture.RecordSkipper); ok && rs.SkippedRecords() > 0 && !quiet {
			fmt.Fprintf(stderr, "ntlmsensor: %s: %d records with no packet skipped (ETW events of other providers, NetMon metadata)\n", src.Name(), rs.SkippedRecords())
		}
		src.Close()
	}
	return r
}
