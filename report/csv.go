package report

import (
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns of Row.CSV, the inventory export (the same
// columns as the page's export).
var CSVHeader = []string{"client", "server", "server_name", "port", "protocol", "account", "mechanism", "version", "cause", "flags", "count", "success", "failure", "first_seen", "last_seen"}

// CSV is the row as CSV fields.
func (r *Row) CSV() []string {
	return []string{r.Client, r.Server, r.ServerName, strconv.Itoa(int(r.Port)), r.Protocol, r.Account, r.Mechanism, r.Version, r.Cause,
		strings.Join(r.Flags, " "), strconv.FormatUint(r.Count, 10), strconv.FormatUint(r.Success, 10), strconv.FormatUint(r.Failure, 10),
		r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339)}
}
