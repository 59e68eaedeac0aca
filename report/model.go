package report

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/findings"
)

// topN is the length of every ranking and top list on the page.
const topN = 15

// Count is one named number of a list or chart.
type Count struct {
	Name string
	N    uint64
}

// Pair is a named NTLM and Kerberos count (charts of both).
type Pair struct {
	Name           string
	NTLM, Kerberos uint64
}

// Target is one server, account or client in "what to fix first": how
// much depends on it over NTLM, with whom, why, and what to do.
type Target struct {
	Name     string // the address or account; with the server's name when known
	Logons   uint64
	Clients  int // distinct, for servers and accounts
	Servers  int // distinct, for accounts and clients
	Accounts int // distinct, for servers and clients
	Peers    []string
	Causes   []Count
	Fixes    []audit.CauseInfo // of Causes, from the cause registry
	// RemovedBy: what would remove these dependencies (the causes'
	// "removed by": IAKerb, LocalKDC, an SPN, a name instead of an IP,
	// Negotiate in the app, vendor), each once.
	RemovedBy []string
	Flags     []string
}

// Report is what the page and the text show, computed once.
type Report struct {
	Generated   time.Time
	Sources     []string
	Findings    uint64
	First, Last time.Time

	NTLM, Kerberos, Other      uint64
	NTLMFailed                 uint64
	WeakNTLM                   uint64 // NTLMv1 or LM
	UnsignedSMB, UnsignedLDAP  uint64 // sessions (findings) with the flag
	Clients, Servers, Accounts int    // distinct, using NTLM
	DistinctCapped             bool

	FixServers, FixAccounts, FixClients []Target

	Bucket     time.Duration
	Timeline   []Pair // Name: bucket start, RFC 3339
	ByProtocol []Pair
	ByVersion  []Count
	ByCause    []Count
	ByFlag     []Count

	SMBPosture, LDAPPosture                                          []Count // servers by their weakest session
	RC4Accounts, RC4Services, UnknownSPNs, SkewClients, PreauthFails []Count
	RC4AccountsAll, RC4ServicesAll, UnknownSPNsAll, SkewAll          int

	// Rows is the audit inventory (audit.Inventory.Rows: what to fix
	// first); RowsEvicted the rows it evicted when full.
	Rows        []audit.Row
	RowsEvicted uint64

	Alerts      []Alert // in time order, the first maxAlerts
	AlertsTotal uint64
	ByRule      []Count

	FlagRef  []findings.FlagInfo
	CauseRef []audit.CauseInfo
}

// Report computes the report of what was added. sources name the inputs.
func (a *Aggregator) Report(sources []string) *Report {
	r := &Report{
		Generated: time.Now().UTC(), Sources: sources, Findings: a.total,
		First: a.first, Last: a.last,
		NTLM: a.byMech["ntlm"], Kerberos: a.byMech["kerberos"],
		NTLMFailed: a.ntlmOutcome[1], WeakNTLM: a.weakNTLM,
		UnsignedSMB:  a.byFlag[flagIndex[findings.FlagSMBUnsigned]],
		UnsignedLDAP: a.byFlag[flagIndex[findings.FlagLDAPUnsigned]] + a.byFlag[flagIndex[findings.FlagLDAPCleartext]],
		Clients:      len(a.clients), Servers: len(a.servers), Accounts: len(a.accounts), DistinctCapped: a.distinctOut,
		Bucket: a.bucket, FlagRef: findings.Flags, CauseRef: audit.Causes,
		Rows: a.inv.Rows(), RowsEvicted: a.inv.Evicted(),
		AlertsTotal: a.alertsTotal, ByRule: sorted(a.byRule, 0),
	}
	r.Other = a.total - r.NTLM - r.Kerberos
	r.ByVersion = sorted(a.byVersion, 0)
	r.ByCause = sorted(a.byCause, 0)
	for i, f := range findings.Flags {
		if a.byFlag[i] > 0 {
			r.ByFlag = append(r.ByFlag, Count{string(f.ID), a.byFlag[i]})
		}
	}
	for p, c := range a.byProtocol {
		r.ByProtocol = append(r.ByProtocol, Pair{p, c[0], c[1]})
	}
	slices.SortFunc(r.ByProtocol, func(x, y Pair) int {
		return cmp.Or(cmp.Compare(y.NTLM+y.Kerberos, x.NTLM+x.Kerberos), strings.Compare(x.Name, y.Name))
	})
	r.timeline(a)
	r.SMBPosture = postures(a.smb, "signing required or encrypted", "signed, not required", "unsigned (relay target)")
	r.LDAPPosture = postures(a.ldap, "TLS (LDAPS, StartTLS)", "signed or sealed", "unsigned or cleartext")
	r.RC4Accounts, r.RC4AccountsAll = sorted(a.rc4Accounts, topN), len(a.rc4Accounts)
	r.RC4Services, r.RC4ServicesAll = sorted(a.rc4Services, topN), len(a.rc4Services)
	r.UnknownSPNs, r.UnknownSPNsAll = sorted(a.unknownSPN, topN), len(a.unknownSPN)
	r.SkewClients, r.SkewAll = sorted(a.skew, topN), len(a.skew)
	r.PreauthFails = sorted(a.preauthFails, topN)
	r.Alerts = slices.Clone(a.alerts)
	slices.SortStableFunc(r.Alerts, func(x, y Alert) int { return x.Time.Compare(y.Time) })
	r.rank()
	return r
}

// sorted lists m biggest first (ties by name), the first n (0: all).
func sorted(m map[string]uint64, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(x, y Count) int { return cmp.Or(cmp.Compare(y.N, x.N), strings.Compare(x.Name, y.Name)) })
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// postures counts servers by the weakest protection of their sessions.
func postures(m map[netip.Addr]*posture, strong, middle, weak string) []Count {
	var c [3]uint64
	for _, p := range m {
		switch {
		case p.unsigned > 0:
			c[2]++
		case p.signed > 0:
			c[1]++
		case p.required > 0:
			c[0]++
		}
	}
	if c == [3]uint64{} {
		return nil
	}
	return []Count{{strong, c[0]}, {middle, c[1]}, {weak, c[2]}}
}

// maxBars bounds the bars of the timeline.
const maxBars = 120

// timeline lays the buckets from first to last, wide enough that there
// are at most maxBars.
func (r *Report) timeline(a *Aggregator) {
	if a.first.IsZero() || len(a.timeline) == 0 {
		return
	}
	width := a.bucket
	span := a.last.Sub(a.first)
	for _, w := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour} {
		if w >= a.bucket && w%a.bucket == 0 {
			width = w
			if span/w < maxBars {
				break
			}
		}
	}
	r.Bucket = width
	start := a.first.Truncate(width)
	n := int(a.last.Sub(start)/width) + 1
	if n > maxBars*2 {
		n = maxBars * 2
	}
	bars := make([]Pair, n)
	for i := range bars {
		bars[i].Name = start.Add(time.Duration(i) * width).UTC().Format(time.RFC3339)
	}
	for k, c := range a.timeline {
		t := time.Unix(0, k*int64(a.bucket))
		i := int(t.Sub(start) / width)
		if i >= 0 && i < n {
			bars[i].NTLM += c[0]
			bars[i].Kerberos += c[1]
		}
	}
	r.Timeline = bars
}

// group is a Target being summed up from rows.
type group struct {
	name                    string
	logons                  uint64
	clients, servers, accts map[string]uint64
	causes                  map[string]uint64
	flags                   map[string]bool
}

// rank builds "what to fix first" from the NTLM rows of the inventory:
// servers, accounts and clients, each ranked by how many others depend on
// it over NTLM.
func (r *Report) rank() {
	type view struct {
		client, server, account string
		w                       *audit.Row
	}
	rows := make([]view, 0, len(r.Rows))
	for i := range r.Rows {
		w := &r.Rows[i]
		if w.Mechanism != "kerberos" {
			rows = append(rows, view{w.Client.String(), w.Server.String(), Account(w), w})
		}
	}
	by := func(key func(*view) string) map[string]*group {
		m := map[string]*group{}
		for i := range rows {
			v := &rows[i]
			k := key(v)
			if k == "" {
				continue
			}
			w := v.w
			g := m[k]
			if g == nil {
				g = &group{name: k, clients: map[string]uint64{}, servers: map[string]uint64{}, accts: map[string]uint64{}, causes: map[string]uint64{}, flags: map[string]bool{}}
				m[k] = g
			}
			g.logons += w.Count
			g.clients[v.client] += w.Count
			g.servers[v.server] += w.Count
			if v.account != "" {
				g.accts[v.account] += w.Count
			}
			g.causes[cmp.Or(string(w.Cause), noCause)] += w.Count
			for _, f := range w.Flags {
				g.flags[string(f)] = true
			}
		}
		return m
	}
	names := map[string]string{}
	for _, v := range rows {
		if n := ServerName(v.w); n != "" && names[v.server] == "" {
			names[v.server] = n
		}
	}
	r.FixServers = top(by(func(v *view) string { return v.server }), func(g *group) map[string]uint64 { return g.clients }, names)
	r.FixAccounts = top(by(func(v *view) string { return v.account }), func(g *group) map[string]uint64 { return g.servers }, names)
	r.FixClients = top(by(func(v *view) string { return v.client }), func(g *group) map[string]uint64 { return g.servers }, names)
}

// Account is a row's account as the inventory writes it: DOMAIN\user.
func Account(w *audit.Row) string {
	if w.UserDomain == "" {
		return w.UserName
	}
	return w.UserDomain + `\` + w.UserName
}

// ServerName is the name of a row's server to show: its first fully
// qualified name (in lower case), else its first name; "" for none.
func ServerName(w *audit.Row) string {
	for _, n := range w.Names {
		if strings.Contains(n, ".") {
			return strings.ToLower(n)
		}
	}
	if len(w.Names) > 0 {
		return w.Names[0]
	}
	return ""
}

// top ranks groups by how many peers and accounts depend on them, then by
// logons; peers are what a Target lists by name.
func top(m map[string]*group, peers func(*group) map[string]uint64, names map[string]string) []Target {
	gs := make([]*group, 0, len(m))
	for _, g := range m {
		gs = append(gs, g)
	}
	weight := func(g *group) int { return len(peers(g)) + len(g.accts) }
	slices.SortFunc(gs, func(x, y *group) int {
		return cmp.Or(cmp.Compare(weight(y), weight(x)), cmp.Compare(y.logons, x.logons), strings.Compare(x.name, y.name))
	})
	if len(gs) > topN {
		gs = gs[:topN]
	}
	out := make([]Target, 0, len(gs))
	for _, g := range gs {
		t := Target{Name: g.name, Logons: g.logons, Clients: len(g.clients), Servers: len(g.servers), Accounts: len(g.accts)}
		if n := names[g.name]; n != "" && peers(g)[g.name] == 0 {
			t.Name += " (" + n + ")" // a server's own name
		}
		for _, c := range sorted(peers(g), 5) {
			if n := names[c.Name]; n != "" {
				c.Name += " (" + n + ")"
			}
			t.Peers = append(t.Peers, c.Name)
		}
		t.Causes = sorted(g.causes, 0)
		for _, c := range t.Causes {
			ci, ok := audit.Info(audit.Cause(c.Name))
			if !ok {
				ci = audit.CauseInfo{ID: audit.Cause(c.Name), When: "not a cause the audit stage knows", RemovedBy: "unknown"}
			}
			t.Fixes = append(t.Fixes, ci)
			if !slices.Contains(t.RemovedBy, ci.RemovedBy) {
				t.RemovedBy = append(t.RemovedBy, ci.RemovedBy)
			}
		}
		for _, f := range findings.Flags {
			if g.flags[string(f.ID)] {
				t.Flags = append(t.Flags, string(f.ID))
			}
		}
		out = append(out, t)
	}
	return out
}
