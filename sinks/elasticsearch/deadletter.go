package elasticsearch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// deadLetter records the findings Elasticsearch refused for their content
// (a mapping conflict, a malformed field): one JSON line each,
//
//	{"@timestamp":"<when>","status":400,"reason":"<the server's words>","finding":{...the document...}}
//
// so that they can be fixed and sent again by hand. The caller serialises.
type deadLetter struct {
	path string
	f    *os.File
	w    io.Writer
	buf  []byte
}

func openDeadLetter(path string, fallback io.Writer) (*deadLetter, error) {
	if path == "" {
		if fallback == nil {
			fallback = os.Stderr
		}
		return &deadLetter{w: fallback}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: dead-letter file: %w", err)
	}
	return &deadLetter{path: path, f: f, w: f}, nil
}

func (d *deadLetter) write(status int, reason string, doc []byte) error {
	b := append(d.buf[:0], `{"@timestamp":`...)
	b = strconv.AppendQuote(b, time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"reason":`...)
	r, _ := json.Marshal(Secrets.Redact(reason))
	b = append(b, r...)
	if json.Valid(doc) {
		b = append(b, `,"finding":`...)
		b = append(b, doc...)
	} else {
		raw, _ := json.Marshal(string(doc))
		b = append(b, `,"finding_raw":`...)
		b = append(b, raw...)
	}
	b = append(b, '}', '\n')
	d.buf = b
	if _, err := d.w.Write(b); err != nil {
		return fmt.Errorf("elasticsearch: dead-letter file: %w", err)
	}
	return nil
}

func (d *deadLetter) Close() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
