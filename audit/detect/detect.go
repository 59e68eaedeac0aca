// Package detect finds attacks on NTLM and Kerberos across connections
// (issue 12): NTLM relay, rogue NTLM servers, password spraying and brute
// force, Kerberoasting and AS-REP roasting, Kerberos RC4 downgrade, and
// coerced authentication. No single finding shows these; the Detector sees
// every finding of every worker in capture-time order (the audit stage hands
// them over) and raises Alerts, which the stage writes through the same
// sinks as the findings.
//
// It keeps no secret: responses and challenges are compared through the
// keyed digests of findings.AttackFacts. Every table is bounded, keyed with
// xxhash and expires by capture time; entries pushed out by a full table are
// counted in Stats.LimitHits.
package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ntlmsensor/decoders/ntlmssp"
	"ntlmsensor/findings"
)

// Config holds the thresholds. The zero value of a field takes its default
// (DefaultConfig).
type Config struct {
	// RelayWindow: two uses of one NTLM response or challenge this close
	// together are one relay. A relay forwards within a second; 2 minutes
	// covers slow links and clock marks without keeping old digests.
	RelayWindow time.Duration
	// RogueConnections: connections sharing one server challenge that make
	// a rogue server. A real server draws a fresh random challenge per
	// exchange [MS-NLMP 3.2.5.1.1], so any repeat is abnormal; a relay makes
	// two connections share one, so three is the smallest count a single
	// relayed logon cannot reach.
	RogueConnections int
	// GuessWindow, SprayAccounts, BruteFailures: one client's failed NTLM
	// logons and KDC_ERR_PREAUTH_FAILED / KDC_ERR_C_PRINCIPAL_UNKNOWN
	// errors within GuessWindow (10 min), for SprayAccounts (6) different
	// accounts (spraying) or BruteFailures (6) times for one account (brute
	// force). Spraying stays below account lockout (Microsoft's baseline
	// locks after 10 bad passwords, CIS after 5), so one account failing 6
	// times in 10 minutes is past what a person mistyping does, and 6
	// accounts failing from one host is past a shared workstation's day.
	GuessWindow                  time.Duration
	SprayAccounts, BruteFailures int
	// RoastWindow, RoastSPNs, RoastAnySPNs: one client asking for service
	// tickets (TGS-REQ, not krbtgt) for RoastSPNs (3) different SPNs with RC4
	// preferred (first in its etype list, or only RC4/DES), or for
	// RoastAnySPNs (40) different SPNs whatever the etypes, within
	// RoastWindow (10 min). Current Windows and MIT clients list AES first,
	// so RC4-first requests are roasting tools (impacket, Rubeus /rc4opsec);
	// 40 SPNs is well past a workstation's logon (a handful: krbtgt, cifs,
	// ldap, host of its DCs and file servers).
	RoastWindow             time.Duration
	RoastSPNs, RoastAnySPNs int
	// KrbWindow: how long a client's AES offer for an account is remembered
	// (downgrade), and how long an alert for one account is not repeated.
	KrbWindow time.Duration
	// CoercionWindow: how soon after a coercing RPC call the machine
	// account's NTLM logon must come (it comes within a second).
	CoercionWindow time.Duration
	// MaxEntries bounds every table (entries, not bytes; an entry is at
	// most a few hundred bytes).
	MaxEntries int
	// Observer is observer.name of the alerts.
	Observer string
}

// DefaultConfig returns the thresholds documented on Config.
func DefaultConfig() Config {
	return Config{
		RelayWindow:      2 * time.Minute,
		RogueConnections: 3,
		GuessWindow:      10 * time.Minute,
		SprayAccounts:    6,
		BruteFailures:    6,
		RoastWindow:      10 * time.Minute,
		RoastSPNs:        3,
		RoastAnySPNs:     40,
		KrbWindow:        time.Hour,
		CoercionWindow:   10 * time.Second,
		MaxEntries:       1 << 16,
	}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur(&c.RelayWindow, d.RelayWindow)
	setInt(&c.RogueConnections, d.RogueConnections)
	setDur(&c.GuessWindow, d.GuessWindow)
	setInt(&c.SprayAccounts, d.SprayAccounts)
	setInt(&c.BruteFailures, d.BruteFailures)
	setDur(&c.RoastWindow, d.RoastWindow)
	setInt(&c.RoastSPNs, d.RoastSPNs)
	setInt(&c.RoastAnySPNs, d.RoastAnySPNs)
	setDur(&c.KrbWindow, d.KrbWindow)
	setDur(&c.CoercionWindow, d.CoercionWindow)
	setInt(&c.MaxEntries, d.MaxEntries)
}

// Stats counts alerts per rule and limit hits (live entries pushed out of a
// full table, or lists cut at their bound).
type Stats struct {
	Alerts    [numRules]uint64
	LimitHits uint64
}

// Total is the number of alerts raised.
func (s *Stats) Total() uint64 {
	var n uint64
	for _, a := range s.Alerts {
		n += a
	}
	return n
}

// maxList bounds the community IDs, accounts and SPNs one entry keeps.
const maxList = 32

// Detector holds the state of every detection. It is not safe for
// concurrent use: the audit stage calls it from one goroutine, in
// capture-time order.
type Detector struct {
	cfg   Config
	stats Stats

	proofs     *table[ntlmUse]   // NTProofStr digest -> first use
	challenges *table[challenge] // server challenge digest -> uses
	guesses    *table[guesser]   // client -> failed logons
	roasts     *table[roaster]   // client -> service tickets asked
	aesOffers  *table[struct{}]  // client+account -> offered AES in an AS-REQ
	raised     *table[struct{}]  // rule+client+account -> alerted already (per KrbWindow)
	coercions  *table[coercion]  // coerced host -> the coercing call
	kdcs       *table[struct{}]  // addresses that answered Kerberos on 88

	fixedChallenge uint64 // Digest of 1122334455667788
}

// New makes a Detector.
func New(cfg Config) *Detector {
	cfg.defaults()
	d := &Detector{cfg: cfg}
	h := &d.stats.LimitHits
	d.proofs = newTable[ntlmUse](cfg.MaxEntries, cfg.RelayWindow, h)
	d.challenges = newTable[challenge](cfg.MaxEntries, cfg.RelayWindow, h)
	d.guesses = newTable[guesser](cfg.MaxEntries, cfg.GuessWindow, h)
	d.roasts = newTable[roaster](cfg.MaxEntries, cfg.RoastWindow, h)
	d.aesOffers = newTable[struct{}](cfg.MaxEntries, cfg.KrbWindow, h)
	d.raised = newTable[struct{}](cfg.MaxEntries, cfg.KrbWindow, h)
	d.coercions = newTable[coercion](cfg.MaxEntries, cfg.CoercionWindow, h)
	d.kdcs = newTable[struct{}](cfg.MaxEntries, cfg.KrbWindow, h)
	// Responder, Inveigh and Metasploit's capture modules answer with this
	// challenge by default so their captures crack with rainbow tables.
	d.fixedChallenge = findings.Digest([]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88})
	return d
}

// Stats returns the counts so far.
func (d *Detector) Stats() Stats { return d.stats }

// Flush forgets every window: the input ended, or the trace broke (a new
// capture file, a clock jump), after which nothing correlates with what came
// before. Alerts are raised as their threshold is crossed, so there is
// nothing left to write.
func (d *Detector) Flush(emit func(findings.Document)) {
	d.proofs.reset()
	d.challenges.reset()
	d.guesses.reset()
	d.roasts.reset()
	d.aesOffers.reset()
	d.raised.reset()
	d.coercions.reset()
	d.kdcs.reset()
}

// Observe takes the next finding in capture-time order.
func (d *Detector) Observe(f *findings.Finding, emit func(findings.Document)) {
	if f.Observation() {
		d.coercionCall(f)
		return
	}
	d.noteKDC(f)
	switch f.Mechanism {
	case findings.MechNTLM, findings.MechSMB1Challenge:
		d.ntlm(f, emit)
		d.guess(f, emit)
		d.coerced(f, emit)
	case findings.MechKerberos:
		d.kerberos(f, emit)
	}
}

func (d *Detector) alert(emit func(findings.Document), a *Alert) {
	a.Observer = d.cfg.Observer
	d.stats.Alerts[a.Rule]++
	emit(a)
}

// newAlert starts an alert on one finding: its connection, its endpoints as
// the pair, its account and the server's names.
func newAlert(rule RuleID, f *findings.Finding, msg string) (*Alert, *set) {
	a := &Alert{Time: f.Time, Rule: rule, Message: msg,
		Source: f.Client.Addr(), Destination: f.Server.Addr()}
	s := &set{}
	s.add(f)
	return a, s
}

func (s *set) add(f *findings.Finding) {
	s.cid(f.CommunityID)
	s.user(account(f))
	s.ip(f.Client.Addr())
	s.ip(f.Server.Addr())
	s.host(f.NTLM.Workstation)
	s.host(f.NTLM.ServerDNSName)
	if f.NTLM.ServerDNSName == "" {
		s.host(f.NTLM.ServerNbName)
	}
}

func (a *Alert) take(s *set) {
	a.CommunityIDs, a.Users, a.IPs, a.Hosts = s.cids, s.users, s.ips, s.hosts
	if a.CommunityIDs == nil {
		a.CommunityIDs = []string{}
	}
}

// account is DOMAIN\user (NTLM) or user@REALM (Kerberos), as sent.
func account(f *findings.Finding) string {
	switch {
	case f.UserName == "":
		return ""
	case f.UserDomain == "":
		return f.UserName
	case f.Mechanism == findings.MechKerberos:
		return f.UserName + "@" + f.UserDomain
	}
	return f.UserDomain + `\` + f.UserName
}

// ---- NTLM relay and rogue servers [MS-NLMP], MITRE T1557.001 ----

type ntlmUse struct {
	client, server netip.Addr
	cid            string
	f              findings.Finding // names for the alert (no secret is in a Finding)
}

type challenge struct {
	first   ntlmUse
	cids    []string
	conns   int
	relayed bool
	rogue   bool
	extra   []findings.Finding // up to maxList later uses, for the rogue alert
}

func (d *Detector) ntlm(f *findings.Finding, emit func(findings.Document)) {
	af := &f.Attack
	server := f.Server.Addr().Unmap()
	relayed := false
	if af.ProofDigest != 0 {
		e, fresh := d.proofs.getOrPut(af.ProofDigest, f.Time)
		if fresh {
			e.v = ntlmUse{client: f.Client.Addr().Unmap(), server: server, cid: f.CommunityID, f: *f}
		} else if e.v.cid != f.CommunityID && e.v.server != server && sameAccount(&e.v.f, f) {
			relayed = true
			d.relayAlert(RelayResponse, &e.v, f, "the same NTLM response", emit)
			e.v = ntlmUse{client: f.Client.Addr().Unmap(), server: server, cid: f.CommunityID, f: *f}
		}
	}
	if af.ChallengeDigest != 0 {
		d.challenge(f, server, relayed, emit)
	}
	d.targetMismatch(f, server, emit)
	if f.NTLM.Version == findings.NTLMv2 && af.AvFlagsMIC && !af.MICSent {
		a, s := newAlert(MICRemoved, f, fmt.Sprintf("NTLMv2 AUTHENTICATE from %s to %s: MsvAvFlags announces a MIC, the message carries none", f.Client.Addr(), server))
		a.take(s)
		d.alert(emit, a)
	}
	if af.HasNegotiate && af.HasChallenge && f.NTLM.HasFlags && f.NTLM.Version != findings.NTLMAnonymous {
		const guarded = uint32(ntlmssp.FlagSign | ntlmssp.FlagKeyExchange)
		if lost := af.NegotiateFlags & af.ChallengeFlags & guarded &^ f.NTLM.Flags; lost != 0 {
			var names []string
			if lost&uint32(ntlmssp.FlagSign) != 0 {
				names = append(names, "NEGOTIATE_SIGN")
			}
			if lost&uint32(ntlmssp.FlagKeyExchange) != 0 {
				names = append(names, "NEGOTIATE_KEY_EXCH")
			}
			a, s := newAlert(FlagsStripped, f, fmt.Sprintf("AUTHENTICATE from %s to %s dropped %s that its NEGOTIATE asked for and the CHALLENGE granted", f.Client.Addr(), server, strings.Join(names, " and ")))
			a.take(s)
			d.alert(emit, a)
		}
	}
}

// sameAccount: a relay forwards the AUTHENTICATE as it is, so both
// connections name the same account (the response is computed over it
// [MS-NLMP 3.3.2], so it cannot be replayed for another).
func sameAccount(a, b *findings.Finding) bool {
	return strings.EqualFold(a.UserName, b.UserName) && strings.EqualFold(a.UserDomain, b.UserDomain)
}

// relayAlert: one secret seen on two connections to two servers. The relay
// is the host that is the server of one and the client of the other.
func (d *Detector) relayAlert(rule RuleID, first *ntlmUse, f *findings.Finding, what string, emit func(findings.Document)) {
	prev := &first.f
	victim, target := prev, f
	if f.Server.Addr().Unmap() == prev.Client.Addr().Unmap() {
		victim, target = f, prev // the later finding is the victim's (its reply came last)
	}
	msg := fmt.Sprintf("%s on %s -> %s and %s -> %s", what,
		victim.Client.Addr(), victim.Server.Addr(), target.Client.Addr(), target.Server.Addr())
	if u := account(f); u != "" {
		msg += " for " + u
	}
	a := &Alert{Time: f.Time, Rule: rule, Message: msg,
		Source: victim.Client.Addr(), Destination: target.Server.Addr()}
	s := &set{}
	s.add(victim)
	s.add(target)
	a.take(s)
	d.alert(emit, a)
}

func (d *Detector) challenge(f *findings.Finding, server netip.Addr, relayed bool, emit func(findings.Document)) {
	af := &f.Attack
	e, fresh := d.challenges.getOrPut(af.ChallengeDigest, f.Time)
	c := &e.v
	if fresh {
		c.first = ntlmUse{client: f.Client.Addr().Unmap(), server: server, cid: f.CommunityID, f: *f}
		c.cids = append(c.cids, f.CommunityID)
		c.conns = 1
	} else if !hasString(c.cids, f.CommunityID) {
		if c.first.server == server {
			c.conns++ // connections to the server that chose the challenge
		}
		if len(c.cids) < maxList {
			c.cids = append(c.cids, f.CommunityID)
			c.extra = append(c.extra, *f)
		} else {
			d.stats.LimitHits++
		}
		if !relayed && !c.relayed && c.first.server != server && sameAccount(&c.first.f, f) {
			c.relayed = true
			d.relayAlert(RelayChallenge, &c.first, f, "the same NTLM server challenge", emit)
		}
	}
	if c.rogue || (c.conns < d.cfg.RogueConnections && af.ChallengeDigest != d.fixedChallenge) {
		return
	}
	c.rogue = true
	msg := fmt.Sprintf("one NTLM server challenge on %d connections", c.conns)
	if af.ChallengeDigest == d.fixedChallenge {
		msg = "the fixed NTLM server challenge 1122334455667788"
		if c.conns > 1 {
			msg += fmt.Sprintf(" on %d connections", c.conns)
		}
	}
	msg += fmt.Sprintf(", served by %s", server)
	a := &Alert{Time: f.Time, Rule: RogueServer, Message: msg, Destination: server}
	s := &set{}
	s.add(&c.first.f)
	for i := range c.extra {
		s.add(&c.extra[i])
	}
	s.add(f)
	a.take(s)
	d.alert(emit, a)
}

// targetMismatch: MsvAvTargetName [MS-NLMP 2.2.2.1] names the service the
// client meant. An IP literal other than the receiving server's address
// means the AUTHENTICATE was made for another host. (A name is not
// compared: DNS aliases and cluster names make names differ legitimately.)
func (d *Detector) targetMismatch(f *findings.Finding, server netip.Addr, emit func(findings.Document)) {
	h := findings.SPNHost(f.NTLM.TargetName)
	if h == "" {
		return
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if err != nil {
		ap, err2 := netip.ParseAddrPort(h)
		if err2 != nil {
			return
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	// 127.0.0.1 and ::1 are where port forwards listen (SSH tunnels,
	// container port mappings): the client reached the server through one,
	// which the sensor cannot tell from a relay, so they are not compared.
	if ip == server || ip.IsUnspecified() || ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || ip == netip.IPv6Loopback() {
		return
	}
	a, s := newAlert(RelayTarget, f, fmt.Sprintf("AUTHENTICATE received by %s names the service %q", server, f.NTLM.TargetName))
	s.ip(ip)
	a.take(s)
	d.alert(emit, a)
}
