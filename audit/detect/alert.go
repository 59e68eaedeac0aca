package detect

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// Alert is one detection, written in the alert shape of docs/CONTRACT.md.
// It never holds a response, hash or ticket: only names, addresses and the
// community IDs of the connections involved.
type Alert struct {
	Time    time.Time // @timestamp: capture time of the finding that raised it
	Rule    RuleID
	Message string // message: what was seen, with counts

	// Source / Destination: written when one pair is meant (invalid otherwise).
	Source, Destination netip.Addr
	CommunityIDs        []string     // ntlmsensor.community_ids
	Users               []string     // related.user
	IPs                 []netip.Addr // related.ip
	Hosts               []string     // related.hosts
	Observer            string       // observer.name
}

// AppendJSON appends the alert as one JSON object (findings.Document).
func (a *Alert) AppendJSON(b []byte) []byte {
	r := &Rules[a.Rule]
	b = append(b, `{"@timestamp":"`...)
	b = a.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, `","event":{"kind":"alert","module":"ntlmsensor","dataset":"ntlmsensor.alert","category":["intrusion_detection"],"type":["indicator"],"severity":`...)
	b = strconv.AppendInt(b, int64(r.Severity), 10)
	b = append(b, `,"risk_score":`...)
	b = strconv.AppendInt(b, int64(r.Severity), 10)
	b = append(b, `},"rule":{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Name)
	b = append(b, `,"description":`...)
	b = appendString(b, r.Description)
	b = append(b, `},"threat":{"framework":"MITRE ATT&CK","technique":{"id":`...)
	b = appendString(b, r.TechniqueID)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Technique)
	b = append(b, `}}`...)
	if a.Message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, a.Message)
	}
	if a.Source.IsValid() {
		b = append(b, `,"source":{"ip":"`...)
		b = a.Source.Unmap().AppendTo(b)
		b = append(b, `"}`...)
	}
	if a.Destination.IsValid() {
		b = append(b, `,"destination":{"ip":"`...)
		b = a.Destination.Unmap().AppendTo(b)
		b = append(b, `"}`...)
	}
	b = append(b, `,"ntlmsensor":{"community_ids":`...)
	b = appendStrings(b, a.CommunityIDs)
	b = append(b, `},"related":{"user":`...)
	b = appendStrings(b, a.Users)
	b = append(b, `,"ip":[`...)
	for i, ip := range a.IPs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = ip.Unmap().AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, `],"hosts":`...)
	b = appendStrings(b, a.Hosts)
	b = append(b, `},"observer":{`...)
	if a.Observer != "" {
		b = append(b, `"name":`...)
		b = appendString(b, a.Observer)
		b = append(b, ',')
	}
	return append(b, `"type":"sensor"}}`...)
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

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD
// (names come from hostile packets).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// set gathers the related.* values of one alert, each once, in the order met.
type set struct {
	users, hosts []string
	ips          []netip.Addr
	cids         []string
}

func (s *set) user(u string) {
	if u != "" && !hasString(s.users, u) {
		s.users = append(s.users, u)
	}
}

func (s *set) host(h string) {
	if h != "" && !hasString(s.hosts, h) {
		s.hosts = append(s.hosts, h)
	}
}

func (s *set) cid(c string) {
	if c != "" && !hasString(s.cids, c) {
		s.cids = append(s.cids, c)
	}
}

func (s *set) ip(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	a = a.Unmap()
	for _, x := range s.ips {
		if x == a {
			return
		}
	}
	s.ips = append(s.ips, a)
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
