package audit

import (
	"strconv"

	"ntlmsensor/findings"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// AppendJSON writes the row as an inventory document, in the contract's
// shape ("Inventory rows"), fields in a fixed order.
func (r *Row) AppendJSON(b []byte) []byte {
	var o jobj
	b = append(b, '{')
	b = o.key(b, "@timestamp")
	b = findings.AppendJSONTime(b, r.Written)
	b = o.key(b, "event")
	b = append(b, `{"kind":"state","module":"ntlmsensor","dataset":"ntlmsensor.inventory"}`...)

	b = o.key(b, "source")
	b = append(b, `{"ip":`...)
	b = findings.AppendJSONString(b, r.Client.String())
	b = append(b, '}')
	b = o.key(b, "destination")
	b = append(b, `{"ip":`...)
	b = findings.AppendJSONString(b, r.Server.String())
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(r.Port), 10)
	if len(r.Names) > 0 {
		b = append(b, `,"domain":`...)
		b = appendStrings(b, r.Names)
	}
	b = append(b, '}')
	b = o.key(b, "network")
	b = append(b, `{"protocol":`...)
	b = findings.AppendJSONString(b, r.Protocol)
	b = append(b, '}')

	if r.UserName != "" || r.UserDomain != "" {
		b = o.key(b, "user")
		b = append(b, `{"name":`...)
		b = findings.AppendJSONString(b, r.UserName)
		if r.UserDomain != "" {
			b = append(b, `,"domain":`...)
			b = findings.AppendJSONString(b, r.UserDomain)
		}
		b = append(b, '}')
	}
	b = o.key(b, "auth")
	b = append(b, `{"mechanism":`...)
	b = findings.AppendJSONString(b, r.Mechanism)
	b = append(b, '}')
	if r.Mechanism == "kerberos" {
		b = o.key(b, "kerberos")
		var k jobj
		b = append(b, '{')
		if r.SName != "" {
			b = findings.AppendJSONString(k.key(b, "sname"), r.SName)
		}
		if r.Etype != 0 {
			b = strconv.AppendInt(k.key(b, "ticket_etype"), int64(r.Etype), 10)
		}
		b = append(b, '}')
	} else {
		b = o.key(b, "ntlm")
		var n jobj
		b = append(b, '{')
		if r.Version != "" {
			b = findings.AppendJSONString(n.key(b, "version"), r.Version)
		}
		if r.Cause != "" {
			b = findings.AppendJSONString(n.key(b, "cause"), string(r.Cause))
		}
		b = append(b, '}')
	}
	b = o.key(b, "flags")
	fl := make([]string, len(r.Flags))
	for i, f := range r.Flags {
		fl[i] = string(f)
	}
	b = appendStrings(b, fl)

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
	b = findings.AppendJSONTime(b, r.First)
	b = append(b, `,"last_seen":`...)
	b = findings.AppendJSONTime(b, r.Last)
	if rb := r.RemovedBy(); rb != "" {
		b = append(b, `,"removed_by":`...)
		b = findings.AppendJSONString(b, rb)
	}
	b = append(b, '}')

	b = o.key(b, "related")
	b = append(b, `{"ip":`...)
	b = appendStrings(b, []string{r.Client.String(), r.Server.String()})
	if r.UserName != "" {
		b = append(b, `,"user":`...)
		b = appendStrings(b, []string{r.UserName})
	}
	if len(r.Names) > 0 {
		b = append(b, `,"hosts":`...)
		b = appendStrings(b, r.Names)
	}
	b = append(b, '}')

	b = o.key(b, "observer")
	b = append(b, '{')
	if r.Observer != "" {
		b = append(b, `"name":`...)
		b = findings.AppendJSONString(b, r.Observer)
		b = append(b, ',')
	}
	b = append(b, `"type":"sensor"}`...)
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

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = findings.AppendJSONString(b, s)
	}
	return append(b, ']')
}
