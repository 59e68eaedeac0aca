package findings

// Severity of a flag, and of a finding: the worst of its flags. A finding
// writes it as event.severity (the number) and event.risk_score, so that
// dashboards can sort and filter on how bad an authentication is.
type Severity int

const (
	SeverityNone     Severity = iota // no flag raised
	SeverityLow                      // hygiene: Kerberos could have been used, or a fault to fix
	SeverityMedium                   // a weakness an attacker can use with some effort (relay, RC4)
	SeverityHigh                     // credentials or sessions exposed to a passive or simple attack
	SeverityCritical                 // a secret is as good as on the wire
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

// String is the severity's name: none, low, medium, high, critical.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "none"
	}
	return severityNames[s]
}

// RiskScore is event.risk_score (0-100): the upper bound of the risk score
// range Elastic Security gives each rule severity (low 21, medium 47,
// high 73, critical 99;
// https://www.elastic.co/guide/en/security/current/rules-ui-create.html),
// so the sensor's findings and Elastic's own alerts sort alike.
func (s Severity) RiskScore() int {
	switch s {
	case SeverityLow:
		return 21
	case SeverityMedium:
		return 47
	case SeverityHigh:
		return 73
	case SeverityCritical:
		return 99
	}
	return 0
}

// Severity of the flag, from the Flags catalogue (SeverityNone for an id
// it does not list).
func (f Flag) Severity() Severity {
	for i := range Flags {
		if Flags[i].ID == f {
			return Flags[i].Severity
		}
	}
	return SeverityNone
}

// WorstSeverity is the highest severity among flags.
func WorstSeverity(flags []Flag) Severity {
	w := SeverityNone
	for _, f := range flags {
		w = max(w, f.Severity())
	}
	return w
}
