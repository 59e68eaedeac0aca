// Package sinks is where findings leave the sensor: JSON lines on stdout or
// in a file (sinks/json), Elasticsearch (sinks/elasticsearch), or several
// at once.
package sinks

import (
	"errors"

	"ntlmsensor/findings"
)

// Sink takes finished documents (findings, inventory rows, alerts). Write
// is called from one goroutine at a time; the sink must not keep d after
// Write returns.
type Sink interface {
	Write(d findings.Document) error
	// Close delivers whatever is buffered and releases the sink.
	Close() error
}

// Multi writes every document to each sink.
type Multi []Sink

// Write hands d to every sink; errors are joined, and one failing sink does
// not starve the others.
func (m Multi) Write(d findings.Document) error {
	var errs []error
	for _, s := range m {
		if err := s.Write(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close closes every sink.
func (m Multi) Close() error {
	var errs []error
	for _, s := range m {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
