package report

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Alert is one alert of the detectors (package audit/detect), as its
// document says it (event.dataset ntlmsensor.alert): the report lists
// what the detector raised, it does not judge again.
type Alert struct {
	Time                time.Time
	Rule, Name          string // rule.id, rule.name
	Technique           string // threat.technique.id
	Severity            int    // event.severity
	Message             string
	Source, Destination string   // one pair, when the alert is about one
	Users, IPs, Hosts   []string // related.*
}

// ParseAlert reads an alert document; ok false for any other document.
func ParseAlert(line []byte) (al Alert, ok bool) {
	var d struct {
		Timestamp time.Time `json:"@timestamp"`
		Event     struct {
			Dataset  string `json:"dataset"`
			Severity int    `json:"severity"`
		} `json:"event"`
		Rule struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rule"`
		Threat struct {
			Technique struct {
				ID string `json:"id"`
			} `json:"technique"`
		} `json:"threat"`
		Message     string              `json:"message"`
		Source      struct{ IP string } `json:"source"`
		Destination struct{ IP string } `json:"destination"`
		Related     struct {
			User  []string `json:"user"`
			IP    []string `json:"ip"`
			Hosts []string `json:"hosts"`
		} `json:"related"`
	}
	if json.Unmarshal(line, &d) != nil || d.Event.Dataset != "ntlmsensor.alert" || d.Rule.ID == "" {
		return Alert{}, false
	}
	return Alert{Time: d.Timestamp.UTC(), Rule: d.Rule.ID, Name: d.Rule.Name, Technique: d.Threat.Technique.ID,
		Severity: d.Event.Severity, Message: d.Message, Source: d.Source.IP, Destination: d.Destination.IP,
		Users: d.Related.User, IPs: d.Related.IP, Hosts: d.Related.Hosts}, true
}

// Who is the accounts and addresses of an alert, in a few words.
func (al *Alert) Who() string {
	var parts []string
	if al.Source != "" || al.Destination != "" {
		parts = append(parts, cmp.Or(al.Source, "?")+" → "+cmp.Or(al.Destination, "?"))
	}
	if len(al.Users) > 0 {
		parts = append(parts, "accounts "+list(al.Users, 5))
	}
	ips := slices.DeleteFunc(slices.Clone(al.IPs), func(ip string) bool { return ip == al.Source || ip == al.Destination })
	if len(ips) > 0 {
		parts = append(parts, "addresses "+list(ips, 5))
	}
	if len(al.Hosts) > 0 {
		parts = append(parts, "hosts "+list(al.Hosts, 5))
	}
	return strings.Join(parts, "; ")
}

// list joins the first n of l, saying how many more there are.
func list(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:n], ", ") + ", … (" + strconv.Itoa(len(l)-n) + " more)"
}
