package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"ntlmsensor/findings"
)

// ---- Password spraying and guessing, MITRE T1110.003 / T1110.001 ----

// guesser is one client's failed logons in the current window.
type guesser struct {
	accounts []guessed // distinct accounts that failed, first maxAccounts
	cids     []string
	servers  []netip.Addr
	sprayed  bool
}

type guessed struct {
	key      uint64
	name     string
	failures int
	alerted  bool
}

// maxAccounts bounds the accounts one client's entry follows.
const maxAccounts = 256

// failedLogon: an NTLM logon the server refused for a named account, or an
// AS exchange that ended in KDC_ERR_PREAUTH_FAILED (wrong password) or
// KDC_ERR_C_PRINCIPAL_UNKNOWN (no such account) [RFC 4120 7.5.9].
func failedLogon(f *findings.Finding) bool {
	if f.Outcome != findings.Failure || f.UserName == "" {
		return false
	}
	switch f.Mechanism {
	case findings.MechNTLM, findings.MechSMB1Challenge:
		return f.NTLM.Version != findings.NTLMAnonymous
	case findings.MechKerberos:
		return f.Kerberos.Request == findings.KerberosAS &&
			(f.Kerberos.Error == findings.KrbErrPreauthFailed || f.Kerberos.Error == findings.KrbErrCPrincipalUnknown)
	}
	return false
}

func (d *Detector) guess(f *findings.Finding, emit func(findings.Document)) {
	if !failedLogon(f) {
		return
	}
	client := f.Client.Addr().Unmap()
	e, _ := d.guesses.getOrPut(key(client), f.Time)
	g := &e.v
	if len(g.cids) < maxList {
		g.cids = append(g.cids, f.CommunityID)
	}
	if srv := f.Server.Addr().Unmap(); len(g.servers) < maxList && !hasAddr(g.servers, srv) {
		g.servers = append(g.servers, srv)
	}
	// The account is the user name alone: the same person appears as
	// LAB\alice in NTLM and alice@LAB.TEST in Kerberos.
	k := key(netip.Addr{}, f.UserName)
	var acc *guessed
	for i := range g.accounts {
		if g.accounts[i].key == k {
			acc = &g.accounts[i]
			break
		}
	}
	if acc == nil {
		if len(g.accounts) == maxAccounts {
			d.stats.LimitHits++
			return
		}
		g.accounts = append(g.accounts, guessed{key: k, name: account(f)})
		acc = &g.accounts[len(g.accounts)-1]
	}
	acc.failures++
	window := d.cfg.GuessWindow
	if !g.sprayed && len(g.accounts) >= d.cfg.SprayAccounts {
		g.sprayed = true
		a := &Alert{Time: f.Time, Rule: PasswordSpray, Source: client,
			Message: fmt.Sprintf("%d accounts failed to log on from %s within %v (%s)", len(g.accounts), client, window, mechOf(f))}
		s := g.related(client)
		for _, x := range g.accounts {
			s.user(x.name)
		}
		if len(g.servers) == 1 {
			a.Destination = g.servers[0]
		}
		a.take(s)
		d.alert(emit, a)
	}
	if !acc.alerted && acc.failures >= d.cfg.BruteFailures {
		acc.alerted = true
		a := &Alert{Time: f.Time, Rule: BruteForce, Source: client,
			Message: fmt.Sprintf("%d failed logons for %s from %s within %v", acc.failures, acc.name, client, window)}
		s := g.related(client)
		s.user(acc.name)
		if len(g.servers) == 1 {
			a.Destination = g.servers[0]
		}
		a.take(s)
		d.alert(emit, a)
	}
}

func (g *guesser) related(client netip.Addr) *set {
	s := &set{}
	for _, c := range g.cids {
		s.cid(c)
	}
	s.ip(client)
	for _, a := range g.servers {
		s.ip(a)
	}
	return s
}

func mechOf(f *findings.Finding) string {
	if f.Mechanism == findings.MechKerberos {
		return "Kerberos " + strings.TrimPrefix(f.Kerberos.Error, "KDC_ERR_")
	}
	return "NTLM"
}

func hasAddr(l []netip.Addr, a netip.Addr) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}
