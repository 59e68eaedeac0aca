package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"ntlmsensor/findings"
)

// ---- Kerberos: roasting [MITRE T1558.003, T1558.004] and RC4 downgrade ----

// Encryption types [RFC 3961 8, RFC 4757, RFC 8009].
func isAES(e int32) bool { return e == 17 || e == 18 || e == 19 || e == 20 }

func isWeak(e int32) bool {
	switch e {
	case 1, 2, 3, 23, 24: // DES-CBC-*, RC4-HMAC(-EXP)
		return true
	}
	return false
}

// rc4Preferred: the client listed RC4 (or DES) first, or nothing stronger.
func rc4Preferred(es []int32) bool { return len(es) > 0 && isWeak(es[0]) }

func weakOnly(es []int32) bool {
	for _, e := range es {
		if !isWeak(e) {
			return false
		}
	}
	return len(es) > 0
}

func offersAES(es []int32) bool {
	for _, e := range es {
		if isAES(e) {
			return true
		}
	}
	return false
}

// roaster is one client's service-ticket requests in the current window.
type roaster struct {
	spns    []spnAsked // distinct SPNs asked for, first maxAccounts
	rc4     int        // of which asked with RC4 preferred
	names   []string   // SPNs for the message, first maxList
	users   []string
	cids    []string
	servers []netip.Addr
	alerted bool
}

type spnAsked struct {
	key uint64
	rc4 bool // asked for with RC4 preferred at least once
}

func (d *Detector) kerberos(f *findings.Finding, emit func(findings.Document)) {
	k := &f.Kerberos
	switch k.Request {
	case findings.KerberosAS:
		d.guess(f, emit)
		d.asrep(f, emit)
		d.downgrade(f, emit)
	case findings.KerberosTGS:
		d.roast(f, emit)
	}
}

func (d *Detector) roast(f *findings.Finding, emit func(findings.Document)) {
	k := &f.Kerberos
	if k.SName == "" || strings.HasPrefix(strings.ToLower(k.SName), "krbtgt/") {
		return // TGT renewals and referrals are not service tickets
	}
	client := f.Client.Addr().Unmap()
	e, _ := d.roasts.getOrPut(key(client), f.Time)
	r := &e.v
	if len(r.cids) < maxList && !hasString(r.cids, f.CommunityID) {
		r.cids = append(r.cids, f.CommunityID)
	}
	if u := account(f); u != "" && len(r.users) < maxList && !hasString(r.users, u) {
		r.users = append(r.users, u)
	}
	if srv := f.Server.Addr().Unmap(); len(r.servers) < maxList && !hasAddr(r.servers, srv) {
		r.servers = append(r.servers, srv)
	}
	sk := key(netip.Addr{}, k.SName)
	var asked *spnAsked
	for i := range r.spns {
		if r.spns[i].key == sk {
			asked = &r.spns[i]
		}
	}
	if asked == nil {
		if len(r.spns) == maxAccounts {
			d.stats.LimitHits++
			return
		}
		r.spns = append(r.spns, spnAsked{key: sk})
		asked = &r.spns[len(r.spns)-1]
		if len(r.names) < maxList {
			r.names = append(r.names, k.SName)
		}
	}
	if !asked.rc4 && rc4Preferred(k.Etypes) {
		asked.rc4 = true
		r.rc4++
	}
	if r.alerted || (r.rc4 < d.cfg.RoastSPNs && len(r.spns) < d.cfg.RoastAnySPNs) {
		return
	}
	r.alerted = true
	msg := fmt.Sprintf("%s asked for service tickets for %d SPNs (%d with RC4 preferred) within %v: %s",
		client, len(r.spns), r.rc4, d.cfg.RoastWindow, strings.Join(r.names, ", "))
	a := &Alert{Time: f.Time, Rule: Kerberoasting, Source: client, Message: msg}
	if len(r.servers) == 1 {
		a.Destination = r.servers[0]
	}
	s := &set{}
	for _, c := range r.cids {
		s.cid(c)
	}
	s.ip(client)
	for _, x := range r.servers {
		s.ip(x)
	}
	for _, u := range r.users {
		s.user(u)
	}
	for _, n := range r.names {
		s.host(findings.SPNHost(n))
	}
	a.take(s)
	d.alert(emit, a)
}

// once reports whether rule has not yet alerted for this client and account
// within KrbWindow, and remembers that it now has.
func (d *Detector) once(rule RuleID, f *findings.Finding) bool {
	_, fresh := d.raised.getOrPut(key(f.Client.Addr(), Rules[rule].ID, f.UserName, f.UserDomain), f.Time)
	return fresh
}

// asrep: an AS-REQ without pre-authentication answered by an AS-REP
// [RFC 4120 3.1.1, 7.5.2]: the KDC sealed a reply with the account's key for
// anyone who asked (DONT_REQ_PREAUTH).
func (d *Detector) asrep(f *findings.Finding, emit func(findings.Document)) {
	if f.Outcome != findings.Success || f.Attack.Preauth || !d.once(ASREPRoasting, f) {
		return
	}
	a, s := newAlert(ASREPRoasting, f, fmt.Sprintf("AS-REP for %s sent to %s without pre-authentication", account(f), f.Client.Addr()))
	a.take(s)
	d.alert(emit, a)
}

// downgrade: an AS-REQ offering only RC4/DES from a client that offered AES
// for the same account before; or an AS-REP sealed with RC4 answering an
// AS-REQ that offered AES.
func (d *Detector) downgrade(f *findings.Finding, emit func(findings.Document)) {
	k := &f.Kerberos
	if f.UserName == "" || len(k.Etypes) == 0 {
		return
	}
	ck := key(f.Client.Addr(), f.UserName, f.UserDomain)
	switch {
	case offersAES(k.Etypes):
		if e := d.aesOffers.get(ck, f.Time); e == nil {
			d.aesOffers.put(ck, f.Time)
		}
		if f.Outcome == findings.Success && (k.SessionEtype == 23 || k.SessionEtype == 24) && d.once(KrbDowngradeReply, f) {
			a, s := newAlert(KrbDowngradeReply, f, fmt.Sprintf("AS-REP for %s sealed with RC4 (etype %d) although the AS-REQ offered AES %v", account(f), k.SessionEtype, k.Etypes))
			a.take(s)
			d.alert(emit, a)
		}
	case weakOnly(k.Etypes):
		if d.aesOffers.get(ck, f.Time) != nil && d.once(KrbDowngradeRequest, f) {
			a, s := newAlert(KrbDowngradeRequest, f, fmt.Sprintf("AS-REQ for %s from %s offered only %v after offering AES", account(f), f.Client.Addr(), k.Etypes))
			a.take(s)
			d.alert(emit, a)
		}
	}
}
