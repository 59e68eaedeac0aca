package audit

import (
	"net/netip"
	"strings"
)

// Names are compared as Windows compares them: without case, and a short
// name matches the first label of a fully qualified one (fs2 is
// fs2.corp.example).

// sameHost reports whether two host names (or IP literals) name the same
// host.
func sameHost(a, b string) bool {
	a, b = stripPort(a), stripPort(b)
	if a == "" || b == "" {
		return false
	}
	if strings.EqualFold(a, b) {
		return true
	}
	if isIPLiteral(a) || isIPLiteral(b) {
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

// stripPort removes :port and [brackets] from a host.
func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

func isIPLiteral(h string) bool {
	_, err := netip.ParseAddr(stripPort(h))
	return err == nil
}

// spnHost is the host of service/host[:port][/name][@REALM].
func spnHost(spn string) string {
	i := strings.IndexByte(spn, '/')
	if i < 0 {
		return ""
	}
	h := spn[i+1:]
	if j := strings.IndexByte(h, '/'); j >= 0 {
		h = h[:j]
	}
	if k := strings.IndexByte(h, '@'); k >= 0 {
		h = h[:k]
	}
	return stripPort(h)
}

// uncHost is the server of \\server\share.
func uncHost(p string) string {
	p = strings.TrimLeft(p, `\/`)
	if i := strings.IndexAny(p, `\/`); i >= 0 {
		p = p[:i]
	}
	return p
}
