package audit

import (
	"strings"

	"ntlmsensor/findings"
)

// Names are compared as Windows compares them: without case, and a short
// name matches the first label of a fully qualified one (fs2 is
// fs2.corp.example).

// sameHost reports whether two host names (or IP literals) name the same
// host.
func sameHost(a, b string) bool {
	a, b = findings.StripPort(a), findings.StripPort(b)
	if a == "" || b == "" {
		return false
	}
	if strings.EqualFold(a, b) {
		return true
	}
	if findings.IsIPLiteral(a) || findings.IsIPLiteral(b) {
		return false
	}
	da, db := strings.IndexByte(a, '.'), strings.IndexByte(b, '.')
	switch {
	case da < 0 && db > 0:
		return strings.EqualFold(a, b[:db])
	case db < 0 && da > 0:
		return strings.EqualFold(a[:da], b)
	}
	return false
}

// sameDomain: an account domain (NetBIOS or DNS) names the server's domain.
func sameDomain(dom, nb, dns string) bool {
	if dom == "" {
		return false
	}
	if strings.EqualFold(dom, nb) || strings.EqualFold(dom, dns) {
		return true
	}
	// CORP vs corp.example: the NetBIOS name is usually the first label
	if i := strings.IndexByte(dns, '.'); i > 0 && strings.EqualFold(dom, dns[:i]) {
		return true
	}
	return false
}
