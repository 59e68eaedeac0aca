package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// textRows is how many inventory rows the text shows (the HTML page and
// the CSV hold them all).
const textRows = 25

// Text writes the report for a terminal, in the order an admin reads.
func (r *Report) Text(out io.Writer) error {
	w := bufio.NewWriter(out)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("NTLM REPORT  %s\n", r.Span())
	p("  from %s\n\n", r.From())
	for _, l := range r.Headline() {
		p("  %-34s %s\n", l[0], l[1])
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
			ci := causeInfo(c.Name)
			p("  %s (%d NTLM logons): %s\n    fix: %s\n    confirm: %s\n", c.Name, c.N, ci.Meaning, ci.Remediation, ci.Events)
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

	if len(r.Rows) > 0 {
		p("\nINVENTORY (%d rows", len(r.Rows))
		if len(r.Rows) > textRows {
			p(", the %d busiest; -o report.html or -csv FILE for all", textRows)
		}
		p(")\n")
		p("  %-15s  %-28s  %-8s  %-24s  %-12s  %-20s  %6s\n", "CLIENT", "SERVER", "PROTOCOL", "ACCOUNT", "VERSION", "CAUSE", "LOGONS")
		for i, x := range r.Rows {
			if i == textRows {
				break
			}
			srv := fmt.Sprintf("%s:%d", x.Server, x.Port)
			p("  %-15s  %-28s  %-8s  %-24s  %-12s  %-20s  %6d\n", x.Client, srv, x.Protocol, cut(x.Account, 24), x.Version, x.Cause, x.Count)
		}
	}
	if r.RowsOut > 0 {
		p("  (%d findings of dependencies beyond the first %d rows are counted above but not listed)\n", r.RowsOut, maxRows)
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
