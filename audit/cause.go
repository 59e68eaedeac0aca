package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"ntlmsensor/findings"
)

// DefaultWindow is how far back "shortly before" reaches: a Kerberos
// failure of the same client this long before an NTLM logon explains it.
// Windows falls back within a second or two of the failure; five minutes
// also covers a retry by the application, and matches the Kerberos clock
// tolerance.
const DefaultWindow = 5 * time.Minute

const (
	krbMemory   = 8 // Kerberos exchanges remembered per client
	namesMemory = 8 // names remembered per server
)

// krbEvent is one Kerberos exchange of a client, as much as the causes need.
type krbEvent struct {
	t       time.Time
	req     string // AS, TGS, AP
	sname   string
	err     string
	outcome findings.Outcome
	server  netip.Addr
}

// clientMem is what the correlator remembers of one client address.
type clientMem struct {
	addr   netip.Addr
	events [krbMemory]krbEvent
	n      int // events held (the newest overwrite the oldest)
	next   int
}

// serverMem is the names one server address was seen under.
type serverMem struct {
	addr  netip.Addr
	names [namesMemory]string
	n     int
}

// correlator remembers, per client, its recent Kerberos exchanges and, per
// server, its names, and from them decides the causes of NTLM logons. It
// sees findings in capture-time order (the Stage orders them).
type correlator struct {
	window  time.Duration
	clients *lru[clientMem]
	servers *lru[serverMem]
	// the last answered AS/TGS exchange of any client: the sensor can see
	// KDC traffic
	lastKDC    krbEvent
	lastKDCCli netip.Addr
}

func newCorrelator(window time.Duration, maxClients, maxServers int) *correlator {
	return &correlator{window: window, clients: newLRU[clientMem](maxClients), servers: newLRU[serverMem](maxServers)}
}

func (c *correlator) reset() {
	c.clients.reset()
	c.servers.reset()
	c.lastKDC, c.lastKDCCli = krbEvent{}, netip.Addr{}
}

func addrKey(a netip.Addr) uint64 {
	b := a.Unmap().As16()
	return xxhash.Sum64(b[:])
}

// observe learns from any finding: Kerberos exchanges per client, names
// per server.
func (c *correlator) observe(f *findings.Finding) {
	c.learnNames(f)
	if f.Mechanism != "kerberos" || !f.Client.IsValid() {
		return
	}
	cl := f.Client.Addr().Unmap()
	m, fresh := c.clients.put(addrKey(cl))
	if fresh || m.addr != cl {
		*m = clientMem{addr: cl}
	}
	e := krbEvent{t: f.Time, req: string(f.Kerberos.Request), sname: f.Kerberos.SName, err: f.Kerberos.Error, outcome: f.Outcome, server: f.Server.Addr().Unmap()}
	m.events[m.next] = e
	m.next = (m.next + 1) % krbMemory
	m.n = min(m.n+1, krbMemory)
	if (e.req == "AS" || e.req == "TGS") && e.outcome != findings.Unknown {
		c.lastKDC, c.lastKDCCli = e, cl
	}
}

// learnNames remembers the names a server answered to.
func (c *correlator) learnNames(f *findings.Finding) {
	if !f.Server.IsValid() || f.Protocol == "kerberos" {
		return // a KDC exchange names a service, not the KDC
	}
	var names []string
	names = ownNames(f, names)
	if len(names) == 0 {
		return
	}
	sv := f.Server.Addr().Unmap()
	m, fresh := c.servers.put(addrKey(sv))
	if fresh || m.addr != sv {
		*m = serverMem{addr: sv}
	}
	for _, n := range names {
		if slices.ContainsFunc(m.names[:m.n], func(h string) bool { return strings.EqualFold(h, n) }) {
			continue
		}
		if m.n < namesMemory {
			m.names[m.n] = n
			m.n++
		}
	}
}

// ownNames appends the host names a finding itself gives its server: the
// CHALLENGE's names, the target name, the tree, the Host, an AP-REQ's sname.
func ownNames(f *findings.Finding, names []string) []string {
	add := func(h string) {
		if h != "" && !findings.IsIPLiteral(h) {
			names = append(names, h)
		}
	}
	add(f.NTLM.ServerNbName)
	add(f.NTLM.ServerDNSName)
	add(findings.SPNHost(f.NTLM.TargetName))
	add(findings.UNCHost(f.SMB.Tree))
	add(findings.StripPort(f.HTTP.Host))
	if f.Kerberos.Request == "AP" {
		add(findings.SPNHost(f.Kerberos.SName))
	}
	return names
}

// serverNames are every name this finding's server is known by.
func (c *correlator) serverNames(f *findings.Finding) []string {
	names := ownNames(f, nil)
	if f.Server.IsValid() {
		sv := f.Server.Addr().Unmap()
		if m := c.servers.peek(addrKey(sv)); m != nil && m.addr == sv {
			names = append(names, m.names[:m.n]...)
		}
	}
	return names
}

// recent returns the client's Kerberos exchanges within the window before
// t, newest first.
func (c *correlator) recent(client netip.Addr, t time.Time) []krbEvent {
	m := c.clients.peek(addrKey(client))
	if m == nil || m.addr != client {
		return nil
	}
	var out []krbEvent
	for k := 1; k <= m.n; k++ {
		e := m.events[(m.next-k+krbMemory)%krbMemory]
		if d := t.Sub(e.t); d >= 0 && d <= c.window {
			out = append(out, e)
		}
	}
	return out
}

// isNTLM: the findings that get a cause.
func isNTLM(f *findings.Finding) bool {
	return f.Mechanism == "ntlm" || f.Mechanism == "smb1-challenge"
}

func hasFlag(f *findings.Finding, fl findings.Flag) bool { return slices.Contains(f.Flags, fl) }

// precedence orders the causes that apply, most decisive first: what makes
// Kerberos impossible or not tried for this logon (a local account, the
// service named by IP, the application asking for NTLM itself), then
// Kerberos failures seen for this server or this client, then a server
// that cannot do Kerberos at all (no domain, no Kerberos offered), and last
// a foreign account domain, which a trust may well serve.
var precedence = []Cause{
	CauseLocalAccount, CauseIPTarget, CauseNTLMDirect,
	CauseSPNMissing, CauseSPNWrongAccount, CauseClockSkew, CauseKDCUnreachable,
	CauseWorkgroupServer, CauseKerberosNotOffered, CauseCrossDomain, CauseUnexplained,
}

// apRefused names the refusals of an AP-REQ that say the ticket was not
// made for this server's account: KRB_AP_ERR_MODIFIED as Windows answers
// [MS-KILE 3.4.5.1], KRB_AP_ERR_BAD_INTEGRITY as MIT answers [RFC 4120
// 7.5.9, error 31], or a refused SMB session setup that carried the AP-REQ
// (Samba and Windows send no KRB-ERROR there).
func apRefused(e krbEvent) (string, bool) {
	switch {
	case e.err == findings.KrbErrModified || e.err == "KRB_AP_ERR_BAD_INTEGRITY":
		return "with " + e.err, true
	case e.err == "" && e.outcome == findings.Failure:
		return "(a failed logon, no KRB-ERROR)", true
	}
	return "", false
}

// decide returns every cause that applies to an NTLM logon, most decisive
// first (precedence), and the evidence of the first. It reads only facts a findings file
// keeps, so a report built from files decides as the sensor did.
func (c *correlator) decide(f *findings.Finding) ([]Cause, string) {
	var causes []Cause
	var evidence []string
	add := func(cs Cause, ev string) {
		causes = append(causes, cs)
		evidence = append(evidence, ev)
	}
	n := &f.NTLM
	anonymous := n.Version == "anonymous"
	dom := f.UserDomain
	if dom == "" {
		if i := strings.LastIndexByte(f.UserName, '@'); i >= 0 {
			dom = f.UserName[i+1:] // a UPN names its domain itself
		}
	}
	account := f.UserName
	if f.UserDomain != "" {
		account = f.UserDomain + `\` + f.UserName
	}
	local := false
	if !anonymous {
		switch {
		case dom == "" || dom == ".":
			local = true
			add(CauseLocalAccount, fmt.Sprintf("account %q was sent with no domain (%q): the server resolves it itself", account, f.UserDomain))
		case n.ServerNbName != "" && strings.EqualFold(dom, n.ServerNbName):
			local = true
			add(CauseLocalAccount, fmt.Sprintf("account %s: the domain is the server's own NetBIOS name (CHALLENGE)", account))
		case n.Workstation != "" && strings.EqualFold(dom, n.Workstation):
			local = true
			add(CauseLocalAccount, fmt.Sprintf("account %s: the domain is the client's own workstation name", account))
		}
	}
	if by, name := ipName(f); by != "" {
		add(CauseIPTarget, fmt.Sprintf("the client named the server by IP: %s %s", by, name))
	}
	switch {
	case f.Mechanism == "smb1-challenge":
		add(CauseNTLMDirect, "SMB1 logon without extended security: a raw challenge/response, no SPNEGO")
	case f.SPNEGO == findings.False:
		how := "raw NTLMSSP over " + string(f.Protocol) + ", no SPNEGO"
		if f.Protocol == "http" {
			how = "Authorization: NTLM, not Negotiate"
		}
		add(CauseNTLMDirect, "the application sent NTLM itself: "+how)
	}
	cl := f.Client.Addr().Unmap()
	events := c.recent(cl, f.Time)
	names := c.serverNames(f)
	server := f.Server.Addr().Unmap()
	ago := func(e krbEvent) string { return fmtAgo(f.Time.Sub(e.t)) }
	for _, e := range events {
		if e.err == "KDC_ERR_S_PRINCIPAL_UNKNOWN" && e.sname != "" && namesServer(findings.SPNHost(e.sname), names, server) {
			add(CauseSPNMissing, fmt.Sprintf("%s-REQ for %s from this client got KDC_ERR_S_PRINCIPAL_UNKNOWN %s before", e.req, e.sname, ago(e)))
			break
		}
	}
	for _, e := range events {
		if how, ok := apRefused(e); ok && e.req == "AP" && e.server == server {
			add(CauseSPNWrongAccount, fmt.Sprintf("the server refused this client's AP-REQ for %s %s %s before: the ticket was made for another account", orDash(e.sname), how, ago(e)))
			break
		}
	}
	for _, e := range events {
		if e.err == "KRB_AP_ERR_SKEW" {
			from := "the KDC " + e.server.String()
			if e.req == "AP" {
				from = "the server " + e.server.String()
			}
			add(CauseClockSkew, fmt.Sprintf("%s answered this client's %s-REQ for %s with KRB_AP_ERR_SKEW %s before", from, e.req, orDash(e.sname), ago(e)))
			break
		}
	}
	unanswered := false
	for _, e := range events {
		if (e.req == "AS" || e.req == "TGS") && e.outcome == findings.Unknown {
			switch e.err {
			case "":
				add(CauseKDCUnreachable, fmt.Sprintf("this client's %s-REQ for %s to %s went unanswered %s before", e.req, orDash(e.sname), e.server, ago(e)))
			case findings.KrbErrResponseTooBig:
				// the KDC asked for TCP [RFC 4120 7.2.1] and no retry came
				add(CauseKDCUnreachable, fmt.Sprintf("this client's %s-REQ for %s to %s got KRB_ERR_RESPONSE_TOO_BIG %s before and was never retried over TCP", e.req, orDash(e.sname), e.server, ago(e)))
			default:
				continue
			}
			unanswered = true
			break
		}
	}
	if !unanswered && len(events) == 0 && c.lastKDC.req != "" && c.lastKDCCli != cl {
		if d := f.Time.Sub(c.lastKDC.t); d >= 0 && d <= c.window {
			add(CauseKDCUnreachable, fmt.Sprintf("no Kerberos from this client in the %s before, while %s got an answer from the KDC %s %s before",
				fmtAgo(c.window), c.lastKDCCli, c.lastKDC.server, fmtAgo(d)))
		}
	}
	workgroup := n.ServerNbName != "" && (n.ServerDNSDom == "" || strings.EqualFold(n.ServerDNSDom, n.ServerDNSName) ||
		strings.EqualFold(n.ServerDNSDom, n.ServerNbName) || strings.EqualFold(n.ServerNbDom, n.ServerNbName))
	if !anonymous && !local && dom != "" && !workgroup && (n.ServerNbDom != "" || n.ServerDNSDom != "") &&
		!sameDomain(dom, n.ServerNbDom, n.ServerDNSDom) {
		srvDom := n.ServerDNSDom
		if srvDom == "" {
			srvDom = n.ServerNbDom
		}
		add(CauseCrossDomain, fmt.Sprintf("account domain %s is not the server's domain %s", dom, srvDom))
	}
	if workgroup {
		why := "its CHALLENGE names no DNS domain"
		if n.ServerDNSDom != "" {
			why = fmt.Sprintf("its domain %s is its own name", n.ServerDNSDom)
		}
		add(CauseWorkgroupServer, fmt.Sprintf("server %s is in no domain: %s", n.ServerNbName, why))
	}
	// a Kerberos logon of this client to this server shortly before shows
	// the server does offer Kerberos, whatever this exchange showed
	krbHere := slices.ContainsFunc(events, func(e krbEvent) bool { return e.req == "AP" && e.server == server })
	if !hasFlag(f, findings.FlagNTLMFallback) && !slices.Contains(f.Offered, "kerberos") && !krbHere {
		ev := "neither side offered Kerberos"
		switch {
		case f.Protocol == "http" && f.SPNEGO == findings.False:
			ev = "the server offered no Negotiate, only NTLM"
		case len(f.Offered) > 0:
			ev = "SPNEGO offered " + strings.Join(f.Offered, ", ") + ", no Kerberos"
		}
		add(CauseKerberosNotOffered, ev)
	} else if len(causes) == 0 {
		add(CauseUnexplained, "Kerberos was offered; no Kerberos failure, IP name, local or foreign account was seen for this client")
	}
	// most decisive first; the order found above is kept among equals
	order := make([]int, len(causes))
	for i := range order {
		order[i] = i
	}
	rank := func(c Cause) int { return slices.Index(precedence, c) }
	slices.SortStableFunc(order, func(a, b int) int { return rank(causes[a]) - rank(causes[b]) })
	sorted := make([]Cause, len(causes))
	for i, k := range order {
		sorted[i] = causes[k]
	}
	first := evidence[order[0]]
	if anonymous {
		first = "anonymous logon (null session); " + first
	}
	return sorted, first
}

// ipName says which name the client gave the service was an IP literal.
func ipName(f *findings.Finding) (by, name string) {
	switch {
	case f.NTLM.TargetName != "" && findings.IsIPLiteral(findings.SPNHost(f.NTLM.TargetName)):
		return "target name", f.NTLM.TargetName
	case f.SMB.Tree != "" && findings.IsIPLiteral(findings.UNCHost(f.SMB.Tree)):
		return "tree", f.SMB.Tree
	case f.HTTP.Host != "" && findings.IsIPLiteral(f.HTTP.Host):
		return "Host", f.HTTP.Host
	case f.Kerberos.SName != "" && findings.IsIPLiteral(findings.SPNHost(f.Kerberos.SName)):
		return "sname", f.Kerberos.SName
	}
	return "", ""
}

// namesServer: a host from an SPN names the server (its IP or one of its
// names).
func namesServer(h string, names []string, server netip.Addr) bool {
	if h == "" {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap() == server
	}
	for _, n := range names {
		if sameHost(h, n) {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtAgo writes a duration the way the evidence sentences do: 0.8 s, 12 s, 3 min.
func fmtAgo(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f min", d.Minutes())
}
