package detect

import (
	"net/netip"
	"strconv"
	"time"

	"ntlmsensor/findings"
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

// AppendJSON appends the alert as one JSON object (findings.Document); the
// ECS parts shared with findings and inventory rows come from
// findings/ecs.go.
func (a *Alert) AppendJSON(b []byte) []byte {
	r := &Rules[a.Rule]
	b = append(b, `{"@timestamp":`...)
	b = findings.AppendTime(b, a.Time)
	b = append(b, `,"event":{"kind":"alert","module":"`+findings.Module+`","dataset":"`+findings.DatasetAlert+`","category":["intrusion_detection"],"type":["indicator"],"severity":`...)
	b = strconv.AppendInt(b, int64(r.Severity), 10)
	b = append(b, `,"risk_score":`...)
	b = strconv.AppendInt(b, int64(r.Severity.RiskScore()), 10)
	b = append(b, `},"rule":{"id":`...)
	b = findings.AppendString(b, r.ID)
	b = append(b, `,"name":`...)
	b = findings.AppendString(b, r.Name)
	b = append(b, `,"description":`...)
	b = findings.AppendString(b, r.Description)
	b = append(b, `},"threat":{"framework":"MITRE ATT&CK","technique":{"id":`...)
	b = findings.AppendString(b, r.TechniqueID)
	b = append(b, `,"name":`...)
	b = findings.AppendString(b, r.Technique)
	b = append(b, `}}`...)
	if a.Message != "" {
		b = append(b, `,"message":`...)
		b = findings.AppendString(b, a.Message)
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
	b = findings.AppendStrings(b, a.CommunityIDs)
	b = append(b, '}')
	rel := a.Related()
	b = rel.AppendJSON(b)
	b = findings.AppendECS(b, a.Observer)
	return append(b, '}')
}

// Related is the alert's related.*: its accounts, addresses and hosts.
func (a *Alert) Related() findings.Related {
	var rel findings.Related
	for _, u := range a.Users {
		rel.AddUser(u)
	}
	for _, ip := range a.IPs {
		rel.AddIP(ip)
	}
	for _, h := range a.Hosts {
		rel.AddHost(h)
	}
	return rel
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
