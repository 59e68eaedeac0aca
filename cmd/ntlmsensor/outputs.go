package main

import (
	"fmt"
	"io"

	"ntlmsensor/findings"
	"ntlmsensor/sinks"
	"ntlmsensor/sinks/elasticsearch"
	"ntlmsensor/sinks/json"
)

// outputOptions say where documents go: JSON lines (stdout or a file) and/or
// Elasticsearch.
type outputOptions struct {
	jsonPath   string
	jsonWanted bool // -w given, or no other sink
	json       json.Options
	es         elasticsearch.Config
	format     string // -format: json, or a format for people on stdout (format.go)
}

// outputs are the open sinks. emit is handed to the sensor; the first
// write error is kept and reported at close.
type outputs struct {
	all     sinks.Multi
	json    *json.Sink
	es      *elasticsearch.Sink
	sinkErr error
}

// openOutputs opens the sinks; on failure it returns nil and the exit status.
func openOutputs(o outputOptions, stdout, stderr io.Writer) (*outputs, int) {
	outs := &outputs{}
	toStdout := o.jsonPath == "-" || o.jsonPath == ""
	if o.format != "" && o.format != "json" {
		outs.all = append(outs.all, newFormatSink(stdout, o.format))
		o.jsonWanted = o.jsonWanted && !toStdout // -w FILE stays JSON lines
	}
	if o.jsonWanted {
		if toStdout {
			outs.json = json.New(stdout)
		} else {
			var err error
			if outs.json, err = json.Open(o.jsonPath, o.json); err != nil {
				fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
				return nil, 1
			}
		}
		outs.all = append(outs.all, outs.json)
	}
	if o.es.Enabled() {
		o.es.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "ntlmsensor: "+format+"\n", args...) }
		var err error
		if outs.es, err = elasticsearch.Open(o.es); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			outs.all.Close()
			return nil, 2
		}
		outs.all = append(outs.all, outs.es)
	}
	return outs, 0
}

// emitDocument writes any document (a finding, an inventory row, an
// alert) to every sink.
func (o *outputs) emitDocument(d findings.Document) {
	if err := o.all.Write(d); err != nil && o.sinkErr == nil {
		o.sinkErr = err
	}
}

// close delivers what the sinks buffer and reports the Elasticsearch
// delivery counters (always when something failed). It returns the first
// sink error, already printed.
func (o *outputs) close(quiet bool, stderr io.Writer) error {
	if err := o.all.Close(); err != nil && o.sinkErr == nil {
		o.sinkErr = err
	}
	if o.es != nil {
		if st := o.es.Stats(); !quiet || st.Failed > 0 {
			fmt.Fprintf(stderr, "ntlmsensor: elasticsearch: %v\n", st)
		}
	}
	if o.sinkErr != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", o.sinkErr)
	}
	return o.sinkErr
}
