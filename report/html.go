package report

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// firstRows is how many inventory rows the page holds as HTML (for
// printing and without script); the script renders all of them, a page
// at a time, from the compressed data.
const firstRows = 100

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"inc":  func(i int) int { return i + 1 },
	"join": strings.Join,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).ParseFS(assets, "assets/report.html.tmpl"))

// HTML writes the report as one self-contained page: inline CSS, inline
// SVG charts, a little inline script for the inventory; no request leaves
// it (its Content-Security-Policy forbids any), it opens from disk and
// prints.
func (r *Report) HTML(w io.Writer) error {
	css, _ := assets.ReadFile("assets/report.css")
	js, _ := assets.ReadFile("assets/report.js")
	data, err := r.inventoryData()
	if err != nil {
		return err
	}
	first := r.Rows
	if len(first) > firstRows {
		first = first[:firstRows]
	}
	share := ""
	if all := r.NTLM + r.Kerberos; all > 0 {
		share = fmt.Sprintf("%.0f%%", 100*float64(r.NTLM)/float64(all))
	}
	hygiene := []Count{
		{"accounts with RC4 tickets", uint64(r.RC4AccountsAll)},
		{"services with RC4 tickets", uint64(r.RC4ServicesAll)},
		{"unknown SPNs asked for", uint64(r.UnknownSPNsAll)},
		{"clients with clock skew", uint64(r.SkewAll)},
	}
	return page.Execute(w, map[string]any{
		"R":           r,
		"CSS":         template.CSS(css),
		"JS":          template.JS(js),
		"NTLMShare":   share,
		"Timeline":    timeChart(r.Timeline, r.Bucket),
		"ByProtocol":  pairBars(r.ByProtocol),
		"ByVersion":   hbars(r.ByVersion, "ntlm"),
		"ByCause":     hbars(r.ByCause, "ntlm"),
		"ByFlag":      hbars(r.ByFlag, "bad"),
		"SMB":         hbars(r.SMBPosture, "posture"),
		"LDAP":        hbars(r.LDAPPosture, "posture"),
		"Hygiene":     hbars(hygiene, "krb"),
		"RC4Accounts": hbars(r.RC4Accounts, "krb"),
		"RC4Services": hbars(r.RC4Services, "krb"),
		"UnknownSPNs": hbars(r.UnknownSPNs, "krb"),
		"Columns":     []string{"client", "server", "port", "protocol", "account", "version", "cause", "flags", "logons", "failed", "last seen"},
		"FirstRows":   first,
		"Data":        data,
		"MaxRows":     maxRows,
	})
}

// inventoryData is every row in CSV order, as JSON, gzip-compressed and
// base64-encoded: the page's script reads it for paging, sorting,
// filtering and the CSV export.
func (r *Report) inventoryData() (string, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	enc := json.NewEncoder(zw)
	zw.Write([]byte("["))
	for i := range r.Rows {
		if i > 0 {
			zw.Write([]byte(","))
		}
		if err := enc.Encode(r.Rows[i].CSV()); err != nil {
			return "", err
		}
	}
	zw.Write([]byte("]"))
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// bucketName says a timeline bucket's width: 1 min, 6 h, 1 day.
func bucketName(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d day", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}
