package findings

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the finding as one JSON object (no newline), nested as
// the contract says ({"source":{"ip":...}}), absent facts omitted. It is
// written by hand: field order is stable, and nothing is reflected.
func (f *Finding) AppendJSON(b []byte) []byte {
	var o obj
	b = append(b, '{')
	b = o.key(b, "@timestamp")
	b = appendTime(b, f.Time)

	b = o.open(b, "event")
	var ev obj
	b = ev.str(b, "kind", f.Kind())
	b = ev.str(b, "module", Module)
	b = ev.str(b, "dataset", DatasetAuth)
	b = ev.key(b, "category")
	b = append(b, `["authentication"]`...)
	// authentication's allowed types: start, end, info; a logon attempt
	// starts a session (https://www.elastic.co/guide/en/ecs/8.17/ecs-allowed-values-event-category.html#ecs-event-category-authentication)
	b = ev.key(b, "type")
	b = append(b, `["start"]`...)
	b = ev.str(b, "action", f.Action())
	b = ev.str(b, "outcome", string(f.Outcome))
	b = ev.str(b, "reason", f.Reason)
	sev := WorstSeverity(f.Flags) // written even when none: sorting needs a value
	b = ev.key(b, "severity")
	b = strconv.AppendInt(b, int64(sev), 10)
	b = ev.key(b, "risk_score")
	b = strconv.AppendInt(b, int64(sev.RiskScore()), 10)
	b = append(b, '}')

	b = appendEndpoint(b, &o, "source", f.Client, f.SourceDomain())
	b = appendEndpoint(b, &o, "destination", f.Server, f.DestinationDomain())

	b = o.open(b, "network")
	var nw obj
	b = nw.str(b, "transport", f.Transport)
	b = nw.str(b, "protocol", string(f.Protocol))
	b = nw.str(b, "community_id", f.CommunityID)
	b = append(b, '}')

	if f.HasUser || f.UserName != "" || f.UserDomain != "" {
		b = o.open(b, "user")
		var u obj
		b = u.key(b, "name")
		b = appendString(b, f.UserName)
		b = u.str(b, "domain", f.UserDomain)
		b = append(b, '}')
	}

	if f.Mechanism != "" || f.SPNEGO != Unset || len(f.Offered) > 0 {
		b = o.open(b, "auth")
		var a obj
		b = a.str(b, "mechanism", string(f.Mechanism))
		b = a.opt(b, "spnego", f.SPNEGO)
		if len(f.Offered) > 0 {
			b = a.key(b, "offered")
			b = appendStrings(b, f.Offered)
		}
		b = append(b, '}')
	}

	if n := &f.NTLM; *n != (NTLMFacts{}) || f.Cause != "" || len(f.Causes) > 0 || f.CauseEvidence != "" {
		b = o.open(b, "ntlm")
		var x obj
		b = x.str(b, "version", string(n.Version))
		b = x.opt(b, "lm_response", n.LMResponse)
		b = x.str(b, "workstation", n.Workstation)
		b = x.str(b, "target_name", n.TargetName)
		b = x.opt(b, "mic", n.MIC)
		b = x.opt(b, "sign", n.Sign)
		b = x.opt(b, "seal", n.Seal)
		if n.HasFlags {
			b = x.key(b, "flags")
			b = appendHex32(b, n.Flags)
		}
		b = x.str(b, "client_version", n.ClientVersion)
		b = x.str(b, "server_version", n.ServerVersion)
		if n.ServerNbName != "" || n.ServerNbDom != "" || n.ServerDNSName != "" || n.ServerDNSDom != "" || n.ServerDNSTree != "" {
			b = x.open(b, "server")
			var s obj
			b = s.str(b, "nb_name", n.ServerNbName)
			b = s.str(b, "nb_domain", n.ServerNbDom)
			b = s.str(b, "dns_name", n.ServerDNSName)
			b = s.str(b, "dns_domain", n.ServerDNSDom)
			b = s.str(b, "dns_tree", n.ServerDNSTree)
			b = append(b, '}')
		}
		b = x.str(b, "cause", f.Cause)
		if len(f.Causes) > 0 {
			b = x.key(b, "causes")
			b = appendStrings(b, f.Causes)
		}
		b = x.str(b, "cause_evidence", f.CauseEvidence)
		b = append(b, '}')
	}

	if k := &f.Kerberos; k.Request != "" || k.Realm != "" || k.SName != "" || len(k.Etypes) > 0 || k.TicketEtype != 0 || k.SessionEtype != 0 || k.Error != "" {
		b = o.open(b, "kerberos")
		var x obj
		b = x.str(b, "request", string(k.Request))
		b = x.str(b, "realm", k.Realm)
		b = x.str(b, "sname", k.SName)
		if len(k.Etypes) > 0 {
			b = x.key(b, "etypes")
			b = append(b, '[')
			for i, e := range k.Etypes {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(e), 10)
			}
			b = append(b, ']')
		}
		b = x.int(b, "ticket_etype", int64(k.TicketEtype))
		b = x.int(b, "session_etype", int64(k.SessionEtype))
		// the names beside the numbers, as Zeek and MIT print them
		if len(k.Etypes) > 0 {
			b = x.key(b, "etype_names")
			b = append(b, '[')
			for i, e := range k.Etypes {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, EtypeName(e))
			}
			b = append(b, ']')
		}
		if k.TicketEtype != 0 {
			b = x.str(b, "ticket_etype_name", EtypeName(k.TicketEtype))
		}
		if k.SessionEtype != 0 {
			b = x.str(b, "session_etype_name", EtypeName(k.SessionEtype))
		}
		b = x.str(b, "error", k.Error)
		b = append(b, '}')
	}

	if s := &f.SMB; *s != (SMBFacts{}) {
		b = o.open(b, "smb")
		var x obj
		b = x.str(b, "version", s.Version)
		b = x.opt(b, "signing_required", s.SigningRequired)
		b = x.opt(b, "signed", s.Signed)
		b = x.opt(b, "encrypted", s.Encrypted)
		b = x.str(b, "tree", s.Tree)
		b = append(b, '}')
	}

	if h := &f.HTTP; h.Method != "" || h.StatusCode != 0 {
		b = o.open(b, "http")
		var x obj
		if h.Method != "" {
			b = x.open(b, "request")
			var r obj
			b = r.str(b, "method", h.Method)
			b = append(b, '}')
		}
		if h.StatusCode != 0 {
			b = x.open(b, "response")
			var r obj
			b = r.int(b, "status_code", int64(h.StatusCode))
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if f.HTTP.Host != "" {
		b = o.open(b, "url")
		var x obj
		b = x.str(b, "domain", f.HTTP.Host)
		b = append(b, '}')
	}

	if l := &f.LDAP; *l != (LDAPFacts{}) {
		b = o.open(b, "ldap")
		var x obj
		b = x.str(b, "bind", l.Bind)
		b = x.str(b, "sasl_mechanism", l.SASLMechanism)
		if l.HasResult {
			b = x.key(b, "result_code")
			b = strconv.AppendInt(b, int64(l.ResultCode), 10)
		}
		b = append(b, '}')
	}

	b = o.key(b, "flags")
	b = append(b, '[')
	for i, fl := range f.Flags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(fl))
	}
	b = append(b, ']')

	rel := f.Related()
	b = rel.AppendJSON(b)
	b = AppendECS(b, f.Observer)

	if f.File != "" {
		b = append(b, `,"log":{"file":{"path":`...)
		b = appendString(b, f.File)
		b = append(b, '}', '}')
	}
	return append(b, '}')
}

// Kind is event.kind: "event" for every finding. Flags raise
// event.severity, not the kind: "alert" is kept for detections (package
// audit/detect), so that it sorts them out.
func (f *Finding) Kind() string { return "event" }

// obj writes the members of one JSON object, placing the commas.
type obj struct{ n int }

func (o *obj) key(b []byte, k string) []byte {
	if o.n > 0 {
		b = append(b, ',')
	}
	o.n++
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func (o *obj) open(b []byte, k string) []byte { return append(o.key(b, k), '{') }

func (o *obj) str(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(o.key(b, k), v)
}

func (o *obj) int(b []byte, k string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(o.key(b, k), v, 10)
}

func (o *obj) opt(b []byte, k string, v Opt) []byte {
	switch v {
	case True:
		return append(o.key(b, k), "true"...)
	case False:
		return append(o.key(b, k), "false"...)
	}
	return b
}

func appendEndpoint(b []byte, o *obj, name string, ap netip.AddrPort, domain string) []byte {
	if !ap.IsValid() {
		return b
	}
	b = o.open(b, name)
	b = append(b, `"ip":"`...)
	b = ap.Addr().Unmap().AppendTo(b)
	b = append(b, `","port":`...)
	b = strconv.AppendUint(b, uint64(ap.Port()), 10)
	if domain != "" {
		b = append(b, `,"domain":`...)
		b = appendString(b, domain)
	}
	return append(b, '}')
}

// appendTime writes RFC 3339 with microseconds in UTC, as the contract fixes.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	return append(b, '"')
}

func appendHex32(b []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"', '0', 'x')
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hex[(v>>uint(s))&0xf])
	}
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD, so
// names taken from hostile packets always yield valid JSON.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
