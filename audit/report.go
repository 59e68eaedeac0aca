package audit

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats WriteRows writes.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatTSV   = "tsv"
	FormatJSON  = "json"
)

// ColumnNames names the fields of Row.Columns: the CSV and TSV header.
var ColumnNames = []string{"server", "port", "protocol", "client", "account", "mechanism", "cause", "count", "success", "failure", "signed", "first_seen", "last_seen", "server_names", "flags", "removed_by"}

// Columns is the row as text fields, in the order of ColumnNames (the
// inventory's CSV export).
func (r *Row) Columns() []string {
	mech := r.Mechanism
	if r.Version != "" {
		mech += " " + r.Version
	}
	if r.Mechanism == "kerberos" {
		mech = fmt.Sprintf("kerberos etype %d %s", r.Etype, r.SName)
	}
	account := r.UserName
	if r.UserDomain != "" {
		account = r.UserDomain + `\` + r.UserName
	}
	fl := make([]string, len(r.Flags))
	for i, f := range r.Flags {
		fl[i] = string(f)
	}
	return []string{r.Server.String(), strconv.Itoa(int(r.Port)), r.Protocol, r.Client.String(), account, mech, string(r.Cause),
		strconv.FormatUint(r.Count, 10), strconv.FormatUint(r.Success, 10), strconv.FormatUint(r.Failure, 10), strconv.FormatUint(r.Signed, 10),
		r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339), strings.Join(r.Names, " "), strings.Join(fl, " "), r.RemovedBy()}
}

// WriteRows writes rows (in the order given) as a table for a terminal,
// CSV or TSV with a header, or inventory documents, one JSON object a line
// stamped now.
func WriteRows(w io.Writer, rows []Row, format string, now time.Time) error {
	switch format {
	case FormatJSON:
		var b []byte
		for i := range rows {
			rows[i].Written = now
			b = rows[i].AppendJSON(b[:0])
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	case FormatCSV, FormatTSV:
		cw := csv.NewWriter(w)
		if format == FormatTSV {
			cw.Comma = '\t'
		}
		cw.Write(ColumnNames)
		for i := range rows {
			cw.Write(rows[i].Columns())
		}
		cw.Flush()
		return cw.Error()
	case FormatTable, "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVER\tPORT\tCLIENT\tACCOUNT\tMECHANISM\tCAUSE\tCOUNT\tOK\tFAIL\tLAST SEEN\tREMOVED BY")
		for i := range rows {
			c := rows[i].Columns()
			fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[12], c[15])
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q (table, csv, tsv, json)", format)
}
