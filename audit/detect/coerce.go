package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"ntlmsensor/findings"
)

// ---- Coerced authentication, MITRE T1187 ----
//
// The dcerpc carrier reports each RPC call known to coerce authentication
// (MS-RPRN, MS-EFSR, MS-DFSNM, MS-FSRVP; dcerpc.Coercing) as an observation
// (findings.Finding.Observation), which the audit stage hands over in time
// order with the findings. The coerced host is the call's server; the
// coerced logon is its machine account's NTLM logon, soon after, to a host
// that is not a domain controller (the attacker's listener or a relay).

type coercion struct {
	caller netip.Addr // who made the call
	cid    string
	call   string
}

// kdcs are the addresses seen answering Kerberos on port 88: domain
// controllers. A machine account's logon to one is ordinary.
func (d *Detector) noteKDC(f *findings.Finding) {
	if f.Protocol == findings.ProtoKerberos && f.Server.Port() == 88 {
		d.kdcs.getOrPut(key(f.Server.Addr()), f.Time)
	}
}

func (d *Detector) coercionCall(f *findings.Finding) {
	if f.Attack.CoercionCall == "" {
		return // another observation (a KDC exchange awaiting a retry)
	}
	e := d.coercions.put(key(f.Server.Addr()), f.Time)
	e.v = coercion{caller: f.Client.Addr().Unmap(), cid: f.CommunityID, call: f.Attack.CoercionCall}
}

func (d *Detector) coerced(f *findings.Finding, emit func(findings.Document)) {
	if !strings.HasSuffix(f.UserName, "$") || f.NTLM.Version == findings.NTLMAnonymous {
		return
	}
	host := f.Client.Addr().Unmap()
	e := d.coercions.get(key(host), f.Time)
	if e == nil || d.kdcs.get(key(f.Server.Addr()), f.Time) != nil {
		return
	}
	c := e.v
	d.coercions.pop1(e)
	what := "host"
	if d.kdcs.get(key(host), f.Time) != nil {
		what = "domain controller"
	}
	a := &Alert{Time: f.Time, Rule: Coercion, Source: host, Destination: f.Server.Addr().Unmap(),
		Message: fmt.Sprintf("%s called %s on %s; %s then logged on as %s with NTLM to %s",
			c.caller, c.call, host, what, account(f), f.Server.Addr())}
	s := &set{}
	s.cid(c.cid)
	s.add(f)
	s.ip(c.caller)
	a.take(s)
	d.alert(emit, a)
}
