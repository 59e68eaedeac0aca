package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"

	"ntlmsensor/findings"
)

// Formats of findings on stdout (-format): JSON lines stay the default,
// the others are for people (table) and spreadsheets (tsv, csv).
var formats = []string{"json", "table", "tsv", "csv"}

// formatFlag is -format, checked when set.
type formatFlag string

func (f *formatFlag) String() string { return string(*f) }

func (f *formatFlag) Set(s string) error {
	for _, k := range formats {
		if s == k {
			*f = formatFlag(s)
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(formats, ", "))
}

// columns a person reads first, in the order of the table.
var columns = []string{"time", "client", "server", "protocol", "account", "mechanism", "outcome", "cause", "flags"}

// formatSink writes findings as a table, TSV or CSV. Other documents
// (inventory rows, alerts) have no columns here and are passed over.
type formatSink struct {
	format string
	w      *bufio.Writer
	csv    *csv.Writer
	header bool
	rows   int
}

func newFormatSink(w io.Writer, format string) *formatSink {
	s := &formatSink{format: format, w: bufio.NewWriterSize(w, 64<<10)}
	if format == "csv" {
		s.csv = csv.NewWriter(s.w)
	}
	return s
}

// cells are the columns of one finding, in full.
func cells(f *findings.Finding) []string {
	account := f.UserName
	if f.UserDomain != "" {
		account = f.UserDomain + `\` + f.UserName
	}
	if f.HasUser && account == "" {
		account = "(anonymous)"
	}
	mech := string(f.Mechanism)
	if f.NTLM.Version != "" {
		mech = string(f.NTLM.Version)
	}
	if f.Mechanism == findings.MechKerberos && f.Kerberos.Request != "" {
		mech = "kerberos " + string(f.Kerberos.Request)
	}
	flags := make([]string, len(f.Flags))
	for i, fl := range f.Flags {
		flags[i] = string(fl)
	}
	return []string{
		f.Time.UTC().Format("2006-01-02 15:04:05"),
		endpoint(f.Client, false), endpoint(f.Server, true),
		string(f.Protocol), account, mech, string(f.Outcome), f.Cause,
		strings.Join(flags, ","),
	}
}

// Write writes one finding as a row (the table's header before the first).
func (s *formatSink) Write(d findings.Document) error {
	f, ok := d.(*findings.Finding)
	if !ok {
		return nil
	}
	c := cells(f)
	switch s.format {
	case "csv":
		if !s.header {
			s.csv.Write(columns)
		}
		s.csv.Write(c)
		s.csv.Flush()
	case "tsv":
		if !s.header {
			s.w.WriteString(strings.Join(columns, "\t") + "\n")
		}
		for i := range c {
			c[i] = strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return ' '
				}
				return r
			}, c[i])
		}
		s.w.WriteString(strings.Join(c, "\t") + "\n")
	default:
		if !s.header || s.rows%50 == 0 && s.rows > 0 {
			s.tableRow(tableHeader)
		}
		s.tableRow([]string{c[0], c[1] + " → " + c[2], c[3], c[4], c[5], c[6], c[7], c[8]})
	}
	s.header = true
	s.rows++
	return s.w.Flush() // a person or a pipe sees each row as it comes
}

var tableHeader = []string{"TIME (UTC)", "CLIENT → SERVER", "PROTOCOL", "ACCOUNT", "MECHANISM", "OUTCOME", "CAUSE", "FLAGS"}

// widths of the table's columns but the last; longer values are cut
// with an ellipsis, so the columns stay aligned.
var widths = []int{19, 40, 8, 24, 13, 7, 20}

func (s *formatSink) tableRow(c []string) {
	var b strings.Builder
	for i, v := range c {
		if i == len(c)-1 {
			b.WriteString(v)
			break
		}
		n := utf8.RuneCountInString(v)
		if n > widths[i] {
			r := []rune(v)
			v, n = string(r[:widths[i]-1])+"…", widths[i]
		}
		b.WriteString(v)
		b.WriteString(strings.Repeat(" ", widths[i]-n+2))
	}
	s.w.WriteString(strings.TrimRight(b.String(), " ") + "\n")
}

// Close flushes what is left.
func (s *formatSink) Close() error { return s.w.Flush() }

// endpoint is ip, or ip:port for the server (the port tells the service).
func endpoint(ap netip.AddrPort, port bool) string {
	if !ap.IsValid() {
		return ""
	}
	a := ap.Addr().Unmap()
	if port {
		return netip.AddrPortFrom(a, ap.Port()).String()
	}
	return a.String()
}
