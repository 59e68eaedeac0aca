package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"ntlmsensor/audit"
)

// textRows is how many inventory rows the text shows (the HTML page and
// the CSV hold them all).
const textRows = 25

// textAlerts is how many alerts the text lists.
const textAlerts = 20

// Text writes the report for a terminal, in the order an admin reads.
func (r *Report) Text(out io.Writer) error {
	w := bufio.NewWriter(out)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("NTLM REPORT  %s\n", r.Span())
	p("  from %s\n\n", r.From())
	for _, l := range r.Headline() {
		p("  %-34s %s\n", l[0], l[1])
	}
	if len(r.Alerts) > 0 {
		p("\nATTACKS SEEN (%d alerts", r.AlertsTotal)
		if len(r.Alerts) > textAlerts {
			p(", the first %d; -o report.html for %d", textAlerts, min(len(r.Alerts), pageAlerts))
		}
		p(")\n")
		for i, al := range r.Alerts {
			if i == textAlerts {
				break
			}
			p("  %s  %s (%s)\n", al.Time.Format("2006-01-02 15:04:05"), al.Name, al.Rule)
			if al.Message != "" {
				p("     %s\n", al.Message)
			}
			if w := al.Who(); w != "" {
				p("     %s\n", w)
			}
		}
	}
	section := func(title string, ts []Target, peers string) {
		if len(ts) == 0 {
			return
		}
		p("\n%s\n", title)
		for i, t := range ts {
			p("%3d. %s — %s\n", i+1, t.Name, t.Summary())
			p("     %s: %s\n", peers, strings.Join(t.Peers, ", "))
			var cs []string
			for _, c := range t.Causes {
				cs = append(cs, fmt.Sprintf("%s %d", c.Name, c.N))
			}
			p("     causes: %s\n", strings.Join(cs, ", "))
			p("     removed by: %s\n", strings.Join(t.RemovedBy, ", "))
			if len(t.Flags) > 0 {
				p("     flags: %s\n", strings.Join(t.Flags, ", "))
			}
		}
	}
	section("WHAT TO FIX FIRST: SERVERS", r.FixServers, "top clients")
	section("ACCOUNTS", r.FixAccounts, "top servers")
	section("CLIENTS", r.FixClients, "top servers")
	if len(r.ByCause) > 0 {
		p("\nTHE CAUSES SEEN, WHAT TO DO, HOW TO CONFIRM\n")
		for _, c := range r.ByCause {
			ci, ok := audit.Info(audit.Cause(c.Name))
			if !ok {
				p("  %s (%d NTLM logons)\n", c.Name, c.N)
				continue
			}
			p("  %s (%d NTLM logons): %s\n    fix: %s\n    removed by: %s\n    confirm: %s\n", c.Name, c.N, ci.When, ci.Remediation, ci.RemovedBy, ci.Events)
			if len(ci.Docs) > 0 {
				p("    docs: %s\n", strings.Join(ci.Docs, " "))
			}
		}
	}

	bars := func(title string, cs []Count) {
		if len(cs) == 0 {
			return
		}
		p("\n%s\n", title)
		var most uint64
		for _, c := range cs {
			most = max(most, c.N)
		}
		for _, c := range cs {
			p("  %-32s %8d %s\n", c.Name, c.N, strings.Repeat("█", int(30*c.N/max(most, 1))))
		}
	}
	var proto []Count
	for _, x := range r.ByProtocol {
		if x.NTLM > 0 {
			proto = append(proto, Count{x.Name, x.NTLM})
		}
	}
	bars("NTLM BY PROTOCOL", proto)
	bars("NTLM BY VERSION", r.ByVersion)
	bars("NTLM BY CAUSE", r.ByCause)
	bars("FLAGS RAISED", r.ByFlag)
	bars("SMB SERVERS BY SIGNING", r.SMBPosture)
	bars("LDAP SERVERS BY PROTECTION", r.LDAPPosture)
	bars("KERBEROS: RC4 ACCOUNTS", r.RC4Accounts)
	bars("KERBEROS: RC4 SERVICES", r.RC4Services)
	bars("KERBEROS: UNKNOWN SPNS", r.UnknownSPNs)
	bars("KERBEROS: CLOCK SKEW BY CLIENT", r.SkewClients)
	bars("KERBEROS: PRE-AUTHENTICATION FAILED", r.PreauthFails)
	bars("ATTACK ALERTS BY RULE", r.ByRule)

	if len(r.Rows) > 0 {
		p("\nINVENTORY (%d rows, what to fix first", len(r.Rows))
		if len(r.Rows) > textRows {
			p("; the first %d: -o report.html or -csv FILE for all", textRows)
		}
		p(")\n")
		p("  %-15s  %-28s  %-24s  %-20s  %-20s  %-22s  %6s\n", "CLIENT", "SERVER", "ACCOUNT", "MECHANISM", "CAUSE", "REMOVED BY", "LOGONS")
		for i := range r.Rows[:min(len(r.Rows), textRows)] {
			c := r.Rows[i].Columns()
			srv := fmt.Sprintf("%s:%s/%s", c[0], c[1], c[2])
			p("  %-15s  %-28s  %-24s  %-20s  %-20s  %-22s  %6s\n", c[3], srv, cut(c[4], 24), cut(c[5], 20), c[6], c[15], c[7])
		}
	}
	if r.RowsEvicted > 0 {
		p("  (%d rows seen least recently were evicted when the inventory was full: -max-inventory-rows)\n", r.RowsEvicted)
	}
	return w.Flush()
}

// Headline is the report's first lines, as label and value: also the
// summary a run prints at exit.
func (r *Report) Headline() [][2]string {
	pct := func(n, of uint64) string {
		if of == 0 {
			return ""
		}
		return fmt.Sprintf(" (%.0f%%)", 100*float64(n)/float64(of))
	}
	var versions []string
	for _, v := range r.ByVersion {
		versions = append(versions, fmt.Sprintf("%d %s", v.N, v.Name))
	}
	logons := fmt.Sprintf("%d NTLM%s, %d Kerberos", r.NTLM, pct(r.NTLM, r.NTLM+r.Kerberos), r.Kerberos)
	if r.Other > 0 {
		logons += fmt.Sprintf(", %d other (LDAP simple bind)", r.Other)
	}
	plus := ""
	if r.DistinctCapped {
		plus = "+"
	}
	out := [][2]string{
		{"logons", logons},
		{"NTLM by version", strings.Join(versions, ", ")},
		{"using NTLM", fmt.Sprintf("%d%s clients, %d%s servers, %d%s accounts", r.Clients, plus, r.Servers, plus, r.Accounts, plus)},
		{"NTLMv1 or LM (crackable)", fmt.Sprint(r.WeakNTLM)},
		{"unsigned SMB sessions", fmt.Sprint(r.UnsignedSMB)},
		{"unsigned or cleartext LDAP binds", fmt.Sprint(r.UnsignedLDAP)},
		{"attack alerts", fmt.Sprint(r.AlertsTotal)},
	}
	if r.NTLMFailed > 0 {
		out = append(out, [2]string{"failed NTLM logons", fmt.Sprint(r.NTLMFailed)})
	}
	return out
}

// Span is the time the findings cover, in words.
func (r *Report) Span() string {
	if r.First.IsZero() {
		return "(no findings)"
	}
	d := r.Last.Sub(r.First)
	return fmt.Sprintf("%s to %s UTC (%s)", r.First.UTC().Format("2006-01-02 15:04:05"), r.Last.UTC().Format("2006-01-02 15:04:05"), Duration(d))
}

// Duration says d the way a person would: 3 h 12 min, 40 s.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days %d h", int(d.Hours())/24, int(d.Hours())%24)
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// From names the inputs, the first few when there are many.
func (r *Report) From() string {
	if len(r.Sources) <= 4 {
		return strings.Join(r.Sources, ", ")
	}
	return fmt.Sprintf("%d files: %s, …", len(r.Sources), strings.Join(r.Sources[:3], ", "))
}

// Summary is a Target's numbers in words.
func (t *Target) Summary() string {
	return fmt.Sprintf("%d NTLM logons from %d clients with %d accounts to %d servers", t.Logons, t.Clients, t.Accounts, t.Servers)
}
