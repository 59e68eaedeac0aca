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
	"net/url"
	"strings"
	"time"

	"ntlmsensor/audit"
)

//go:embed assets
var assets embed.FS

// firstRows is how many inventory rows the page holds as HTML (for
// printing and without script); the script renders all of them, a page
// at a time, from the compressed data.
const firstRows = 100

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"inc":   func(i int) int { return i + 1 },
	"join":  strings.Join,
	"split": strings.Fields,
	// minute shortens an RFC 3339 time to the minute: 2026-01-05 08:00
	"minute":  func(t string) string { return strings.Replace(t[:min(len(t), 16)], "T", " ", 1) },
	"docName": docName,
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
	var first [][]string
	for i := range r.Rows[:min(len(r.Rows), firstRows)] {
		first = append(first, r.Rows[i].Columns())
	}
	header, _ := json.Marshal(audit.ColumnNames)
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
	alerts := r.Alerts
	if len(alerts) > pageAlerts {
		alerts = alerts[:pageAlerts]
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
		"ByRule":      hbars(r.ByRule, "bad"),
		"Alerts":      alerts,
		"Columns":     []string{"server", "client", "account", "mechanism", "cause", "removed by", "flags", "logons", "failed", "signed", "last seen"},
		"Header":      string(header),
		"FirstRows":   first,
		"Data":        data,
	})
}

// pageAlerts is how many alerts the page lists (the headline counts all).
const pageAlerts = 200

// docName is a short name for a documentation URL: its host and last
// path element.
func docName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	last := strings.Trim(p.Path, "/")
	if i := strings.LastIndexByte(last, '/'); i >= 0 {
		last = last[i+1:]
	}
	if len(last) > 48 {
		last = last[:47] + "…"
	}
	return p.Host + ": " + last
}

// inventoryData is every row as audit.Row.Columns (the CSV export), as JSON, gzip-compressed and
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
		if err := enc.Encode(r.Rows[i].Columns()); err != nil {
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
