package elasticsearch

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// indexNamer turns the -es-index pattern into the index of one document,
// the date taken from the document's own @timestamp (UTC), as Logstash and
// Beats do: a capture of last month lands in last month's index.
type indexNamer struct {
	parts   []part
	dated   bool
	ingest  bool   // the clock names the index, not the document (-es-index-time ingest)
	lastKey string // "YYYY-MM-DDTHH" of the last document
	last    string
}

// part of an index pattern: literal text, or a date verb (Y, m, d, H).
type part struct {
	lit  string
	verb byte
}

func newIndexNamer(pattern string) (*indexNamer, error) {
	n := &indexNamer{}
	var lit strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(pattern) {
			return nil, fmt.Errorf("elasticsearch: index %q ends in %%", pattern)
		}
		i++
		switch v := pattern[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'H':
			if lit.Len() > 0 {
				n.parts = append(n.parts, part{lit: lit.String()})
				lit.Reset()
			}
			n.parts = append(n.parts, part{verb: v})
			n.dated = true
		default:
			return nil, fmt.Errorf("elasticsearch: index %q: unknown %%%c (use %%Y %%m %%d %%H)", pattern, v)
		}
	}
	if lit.Len() > 0 {
		n.parts = append(n.parts, part{lit: lit.String()})
	}
	sample := n.format(time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC))
	if err := checkIndexName(sample); err != nil {
		return nil, err
	}
	return n, nil
}

// checkIndexName applies Elasticsearch's rules for index and data stream names.
func checkIndexName(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fmt.Errorf("elasticsearch: bad index name %q", s)
	case len(s) > 255:
		return fmt.Errorf("elasticsearch: index name %q longer than 255 bytes", s)
	case strings.ContainsAny(s, "\\/*?\"<>| ,#:"):
		return fmt.Errorf("elasticsearch: index name %q contains one of \\ / * ? \" < > | , # : or a space", s)
	case s != strings.ToLower(s):
		return fmt.Errorf("elasticsearch: index name %q must be lowercase", s)
	case strings.IndexAny(s[:1], "-_+") == 0:
		return fmt.Errorf("elasticsearch: index name %q must not start with - _ +", s)
	}
	return nil
}

func (n *indexNamer) format(t time.Time) string {
	var b strings.Builder
	for _, p := range n.parts {
		switch p.verb {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// pattern is the index pattern a template must match: the text before the
// first date verb and *, or with no text before it every verb as *.
func (n *indexNamer) pattern() string {
	if !n.dated {
		return n.format(time.Time{})
	}
	if n.parts[0].verb == 0 {
		return n.parts[0].lit + "*"
	}
	var b strings.Builder
	for _, p := range n.parts {
		if p.verb != 0 {
			b.WriteByte('*')
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

const tsPrefix = `{"@timestamp":"`

var errNoTimestamp = errors.New("no @timestamp")

// docTime reads @timestamp from the start of a finding document, where
// AppendJSON always writes it.
func docTime(doc []byte) (string, error) {
	if len(doc) < len(tsPrefix)+13 || string(doc[:len(tsPrefix)]) != tsPrefix {
		return "", errNoTimestamp
	}
	return string(doc[len(tsPrefix) : len(tsPrefix)+13]), nil // 2006-01-02T15
}

// name is the index of doc; a document without a readable @timestamp goes to
// the index of the current time.
func (n *indexNamer) name(doc []byte) string {
	if !n.dated {
		if n.last == "" {
			n.last = n.format(time.Time{})
		}
		return n.last
	}
	if n.ingest {
		doc = nil // the current time, below
	}
	key, err := docTime(doc)
	if err == nil && key == n.lastKey {
		return n.last
	}
	var t time.Time
	if err == nil {
		t, err = time.Parse("2006-01-02T15", key)
	}
	if err != nil {
		return n.format(time.Now().UTC())
	}
	n.lastKey, n.last = key, n.format(t)
	return n.last
}
