package audit

import (
	"strconv"

	"ntlmsensor/findings"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Severity is the worst severity of the row's flags (event.severity and
// event.risk_score, as on findings).
func (r *Row) Severity() findings.Severity { return findings.WorstSeverity(r.Flags) }

// Related is the row's related.*: the account, both addresses and the
// server's names.
func (r *Row) Related() findings.Related {
	var rel findings.Related
	rel.AddUser(r.UserName)
	rel.AddIP(r.Client)
	rel.AddIP(r.Server)
	for _, n := range r.Names {
		rel.AddHost(n)
	}
	return rel
}

// AppendJSON writes the row as an inventory document, in the contract's
// shape ("Inventory rows"), fields in a fixed order; the ECS parts shared
// with findings and alerts come from findings/ecs.go.
func (r *Row) AppendJSON(b []byte) []byte {
	var o jobj
	b = append(b, '{')
	b = o.key(b, "@timestamp")
	b = findings.AppendTime(b, r.Written)
	b = o.key(b, "event")
	sev := r.Severity()
	b = append(b, `{"kind":"state","module":"`+findings.Module+`","dataset":"`+findings.DatasetInventory+`","severity":`...)
	b = strconv.AppendInt(b, int64(sev), 10)
	b = append(b, `,"risk_score":`...)
	b = strconv.AppendInt(b, int64(sev.RiskScore()), 10)
	b = append(b, '}')

	b = o.key(b, "source")
	b = append(b, `{"ip":`...)
	b = findings.AppendString(b, r.Client.String())
	b = append(b, '}')
	b = o.key(b, "destination")
	b = append(b, `{"ip":`...)
	b = findings.AppendString(b, r.Server.String())
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(r.Port), 10)
	if len(r.Names) > 0 {
		b = findings.AppendStrings(append(b, `,"domain":`...), r.Names)
	}
	b = append(b, '}')
	b = o.key(b, "network")
	b = append(b, `{"protocol":`...)
	b = findings.AppendString(b, r.Protocol)
	b = append(b, '}')

	if r.UserName != "" || r.UserDomain != "" {
		b = o.key(b, "user")
		b = append(b, `{"name":`...)
		b = findings.AppendString(b, r.UserName)
		if r.UserDomain != "" {
			b = append(b, `,"domain":`...)
			b = findings.AppendString(b, r.UserDomain)
		}
		b = append(b, '}')
	}
	b = o.key(b, "auth")
	b = append(b, `{"mechanism":`...)
	b = findings.AppendString(b, r.Mechanism)
	b = append(b, '}')
	if r.Mechanism == "kerberos" {
		b = o.key(b, "kerberos")
		var k jobj
		b = append(b, '{')
		if r.SName != "" {
			b = findings.AppendString(k.key(b, "sname"), r.SName)
		}
		if r.Etype != 0 {
			b = strconv.AppendInt(k.key(b, "ticket_etype"), int64(r.Etype), 10)
			b = findings.AppendString(k.key(b, "ticket_etype_name"), findings.EtypeName(r.Etype))
		}
		b = append(b, '}')
	} else {
		b = o.key(b, "ntlm")
		var n jobj
		b = append(b, '{')
		if r.Version != "" {
			b = findings.AppendString(n.key(b, "version"), r.Version)
		}
		if r.Cause != "" {
			b = findings.AppendString(n.key(b, "cause"), string(r.Cause))
		}
		b = append(b, '}')
	}
	b = o.key(b, "flags")
	fl := make([]string, len(r.Flags))
	for i, f := range r.Flags {
		fl[i] = string(f)
	}
	b = findings.AppendStrings(b, fl)

	b = o.key(b, "inventory")
	b = append(b, `{"count":`...)
	b = strconv.AppendUint(b, r.Count, 10)
	b = append(b, `,"success":`...)
	b = strconv.AppendUint(b, r.Success, 10)
	b = append(b, `,"failure":`...)
	b = strconv.AppendUint(b, r.Failure, 10)
	b = append(b, `,"signed":`...)
	b = strconv.AppendUint(b, r.Signed, 10)
	b = append(b, `,"first_seen":`...)
	b = findings.AppendTime(b, r.First)
	b = append(b, `,"last_seen":`...)
	b = findings.AppendTime(b, r.Last)
	if rb := r.RemovedBy(); rb != "" {
		b = append(b, `,"removed_by":`...)
		b = findings.AppendString(b, rb)
	}
	b = append(b, '}')

	rel := r.Related()
	b = rel.AppendJSON(b)
	b = findings.AppendECS(b, r.Observer)
	return append(b, '}')
}

type jobj struct{ n int }

func (o *jobj) key(b []byte, k string) []byte {
	if o.n > 0 {
		b = append(b, ',')
	}
	o.n++
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}
