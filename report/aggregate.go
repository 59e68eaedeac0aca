// Package report turns findings into what an admin reads: the headline
// numbers, what to fix first (servers, accounts, clients ranked by how
// much depends on them over NTLM), charts, the inventory of NTLM
// dependencies, and the flag and cause reference; as one self-contained
// HTML page or as text for the terminal. Every collection it keeps is
// bounded, so a week of findings makes a report in seconds and the page
// stays small.
package report

import (
	"net/netip"
	"strings"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/findings"
)

// Bounds of what an Aggregator keeps; beyond them new keys are counted as
// left out, never stored.
const (
	maxDistinct = 1_000_000 // distinct clients, servers, accounts each
	maxKeyed    = 10_000    // entries of each Kerberos hygiene and posture map
	maxBuckets  = 100_000   // timeline buckets before they are made coarser
	maxAlerts   = 1_000     // alerts listed (all are counted)
)

// posture of one SMB or LDAP server: the sessions seen, by protection.
type posture struct{ required, signed, unsigned uint64 }

// Aggregator adds findings up: the counts, charts and top lists of the
// report here, the inventory of NTLM dependencies in the audit package's
// Inventory. Add is not safe for concurrent use.
type Aggregator struct {
	total       uint64
	first, last time.Time
	byMech      map[string]uint64 // ntlm (incl. smb1-challenge), kerberos, simple
	byVersion   map[string]uint64
	byProtocol  map[string]*[2]uint64 // NTLM, Kerberos logons per network.protocol
	byCause     map[string]uint64
	byFlag      [32]uint64 // by index in findings.Flags
	ntlmOutcome [3]uint64  // success, failure, unknown
	weakNTLM    uint64     // NTLMv1 or LM logons

	bucket   time.Duration // timeline resolution: a minute, coarser past maxBuckets
	timeline map[int64]*[2]uint64

	inv *audit.Inventory // NTLM and Kerberos RC4 dependencies

	clients, servers, accounts map[string]struct{} // that used NTLM
	distinctOut                bool                // a set was full

	smb, ldap                      map[netip.Addr]*posture
	rc4Accounts, rc4Services       map[string]uint64
	unknownSPN, skew, preauthFails map[string]uint64

	alerts      []Alert // the first maxAlerts
	alertsTotal uint64
	byRule      map[string]uint64
}

// New makes an empty Aggregator.
func New() *Aggregator { return NewWithRows(0) }

// NewWithRows makes an empty Aggregator whose inventory holds at most
// maxRows rows (0: audit.DefaultMaxRows).
func NewWithRows(maxRows int) *Aggregator {
	return &Aggregator{
		byMech: map[string]uint64{}, byVersion: map[string]uint64{}, byProtocol: map[string]*[2]uint64{},
		byCause: map[string]uint64{}, bucket: time.Minute, timeline: map[int64]*[2]uint64{},
		inv:     audit.NewInventory(maxRows),
		clients: map[string]struct{}{}, servers: map[string]struct{}{}, accounts: map[string]struct{}{},
		smb: map[netip.Addr]*posture{}, ldap: map[netip.Addr]*posture{},
		rc4Accounts: map[string]uint64{}, rc4Services: map[string]uint64{},
		unknownSPN: map[string]uint64{}, skew: map[string]uint64{}, preauthFails: map[string]uint64{},
		byRule: map[string]uint64{},
	}
}

// AddDocument adds one document the audit stage released, or a findings
// file holds: a finding, or an alert; inventory rows are passed over (the
// inventory is rebuilt from the findings). It reports whether d was used.
func (a *Aggregator) AddDocument(d findings.Document) bool {
	switch d := d.(type) {
	case *findings.Finding:
		a.Add(d)
		return true
	case *audit.Row:
		return false
	}
	// an alert, read back from its JSON as from a findings file: the
	// report is the same from captures and from their findings
	al, ok := ParseAlert(d.AppendJSON(nil))
	if ok {
		a.AddAlert(al)
	}
	return ok
}

// AddAlert adds one alert of the detectors.
func (a *Aggregator) AddAlert(al Alert) {
	a.alertsTotal++
	if _, ok := a.byRule[al.Rule]; ok || len(a.byRule) < maxKeyed {
		a.byRule[al.Rule]++
	}
	if len(a.alerts) < maxAlerts {
		a.alerts = append(a.alerts, al)
	}
}

// Findings is how many findings were added.
func (a *Aggregator) Findings() uint64 { return a.total }

// flagIndex is the position of each flag in findings.Flags.
var flagIndex = func() map[findings.Flag]int {
	m := map[findings.Flag]int{}
	for i, f := range findings.Flags {
		m[f.ID] = i
	}
	return m
}()

func isNTLM(f *findings.Finding) bool { return f.Mechanism.IsNTLM() }

// account is DOMAIN\user, user@realm as sent, or "" for none.
func account(f *findings.Finding) string {
	switch {
	case f.UserName == "" && f.UserDomain == "":
		if f.HasUser {
			return "(anonymous)"
		}
		return ""
	case f.UserDomain == "" || strings.Contains(f.UserName, "@"):
		return f.UserName
	case f.Mechanism == "kerberos":
		return f.UserName + "@" + f.UserDomain
	}
	return f.UserDomain + `\` + f.UserName
}

// Add adds one finding.
func (a *Aggregator) Add(f *findings.Finding) {
	a.total++
	if !f.Time.IsZero() {
		if a.first.IsZero() || f.Time.Before(a.first) {
			a.first = f.Time
		}
		if f.Time.After(a.last) {
			a.last = f.Time
		}
	}
	var flags uint32
	for _, fl := range f.Flags {
		if i, ok := flagIndex[fl]; ok {
			flags |= 1 << i
			a.byFlag[i]++
		}
	}
	has := func(x findings.Flag) bool { return flags&(1<<flagIndex[x]) != 0 }
	ntlm, krb := isNTLM(f), f.Mechanism == "kerberos"
	mech := string(f.Mechanism)
	if ntlm {
		mech = "ntlm"
	}
	a.byMech[mech]++
	proto := string(f.Protocol)
	if proto == "" {
		proto = "unknown"
	}
	if ntlm || krb {
		p := a.byProtocol[proto]
		if p == nil && len(a.byProtocol) < maxKeyed {
			p = new([2]uint64)
			a.byProtocol[proto] = p
		}
		if p != nil {
			p[b2i(krb)]++
		}
		a.tick(f.Time, b2i(krb))
	}
	client, server := f.Client.Addr().Unmap(), f.Server.Addr().Unmap()
	acct := account(f)
	if ntlm {
		v := string(f.NTLM.Version)
		if v == "" {
			v = string(f.Mechanism)
		}
		if len(a.byVersion) < maxKeyed || a.byVersion[v] > 0 {
			a.byVersion[v]++
		}
		cause := f.Cause // set by the audit stage
		if cause == "" {
			cause = noCause
		}
		if _, ok := a.byCause[cause]; ok || len(a.byCause) < maxKeyed {
			a.byCause[cause]++
		}
		if has(findings.FlagNTLMv1) || has(findings.FlagNTLMLM) {
			a.weakNTLM++
		}
		switch f.Outcome {
		case findings.Success:
			a.ntlmOutcome[0]++
		case findings.Failure:
			a.ntlmOutcome[1]++
		default:
			a.ntlmOutcome[2]++
		}
		a.distinct(a.clients, client.String())
		a.distinct(a.servers, server.String())
		if acct != "" {
			a.distinct(a.accounts, strings.ToLower(acct))
		}
	}
	switch f.Protocol {
	case "smb":
		p := keyed(a.smb, server)
		switch {
		case p == nil:
		case f.SMB.SigningRequired == findings.True || f.SMB.Encrypted == findings.True:
			p.required++
		case f.SMB.Signed == findings.True:
			p.signed++
		case has(findings.FlagSMBUnsigned):
			p.unsigned++
		}
	case "ldap":
		p := keyed(a.ldap, server)
		switch {
		case p == nil:
		case has(findings.FlagLDAPUnsigned) || has(findings.FlagLDAPCleartext):
			p.unsigned++
		case f.TLS:
			p.required++
		default:
			p.signed++
		}
	}
	if krb {
		if has(findings.FlagKrbRC4) {
			count(a.rc4Accounts, acct)
			if f.Kerberos.SName != "" && !strings.HasPrefix(strings.ToLower(f.Kerberos.SName), "krbtgt/") {
				count(a.rc4Services, f.Kerberos.SName)
			}
		}
		if has(findings.FlagKrbSPNUnknown) {
			count(a.unknownSPN, f.Kerberos.SName)
		}
		if has(findings.FlagKrbClockSkew) {
			count(a.skew, client.String())
		}
		if has(findings.FlagKrbPreauthFailed) {
			count(a.preauthFails, acct)
		}
	}
	a.inv.Add(f)
}

// noCause counts the NTLM logons of findings written without the audit
// stage (an older sensor): they carry no ntlm.cause.
const noCause = "(no cause)"

// tick counts one logon (0 NTLM, 1 Kerberos) in its timeline bucket,
// making the buckets coarser when there are too many.
func (a *Aggregator) tick(t time.Time, kind int) {
	if t.IsZero() {
		return
	}
	k := t.UnixNano() / int64(a.bucket)
	c := a.timeline[k]
	if c == nil {
		if len(a.timeline) >= maxBuckets {
			a.coarsen()
			k = t.UnixNano() / int64(a.bucket)
			c = a.timeline[k]
		}
		if c == nil {
			c = new([2]uint64)
			a.timeline[k] = c
		}
	}
	c[kind]++
}

// coarsen makes each bucket 24 times wider (a minute, a day...).
func (a *Aggregator) coarsen() {
	old := a.bucket
	a.bucket *= 24
	m := map[int64]*[2]uint64{}
	for k, c := range a.timeline {
		nk := k * int64(old) / int64(a.bucket)
		n := m[nk]
		if n == nil {
			n = new([2]uint64)
			m[nk] = n
		}
		n[0] += c[0]
		n[1] += c[1]
	}
	a.timeline = m
}

func (a *Aggregator) distinct(set map[string]struct{}, k string) {
	if _, ok := set[k]; ok {
		return
	}
	if len(set) >= maxDistinct {
		a.distinctOut = true
		return
	}
	set[k] = struct{}{}
}

func keyed(m map[netip.Addr]*posture, k netip.Addr) *posture {
	p := m[k]
	if p == nil && len(m) < maxKeyed {
		p = &posture{}
		m[k] = p
	}
	return p
}

func count(m map[string]uint64, k string) {
	if k == "" {
		k = "(none)"
	}
	if _, ok := m[k]; ok || len(m) < maxKeyed {
		m[k]++
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
