// Package sinks is where findings leave the sensor: JSON lines on stdout or
// in a file (sinks/json), Elasticsearch (sinks/elasticsearch), or several
// at once.
package sinks

import (
	"errors"

	"ntlmsensor/findings"
)

// Sink takes finished findings. Write is called from one goroutine at a
// time; the sink must not keep f after Write returns.
type Sink interface {
	Write(f *findings.Finding) error
	// Close delivers whatever is buffered and releases the sink.
	Close() error
}

// Multi writes every finding to each sink.
type Multi []Sink

// Write hands f to every sink; errors are joined, and one failing sink does
// not starve the others.
func (m Multi) Write(f *findings.Finding) error {
	var errs []error
	for _, s := range m {
		if err := s.Write(f); err != nil {
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
