package findings

import (
	"net/netip"
	"strings"
)

// The host names a finding carries come in several shapes: an SPN
// (service/host[:port][/name][@REALM], MS-KILE 3.1.5.11), a UNC path
// (\\server\share), an HTTP Host (host[:port], [v6]:port). These give the
// host of each, the same way for the flags, the audit and the detections.

// SPNHost returns the host of an SPN, without port; "" when it has none.
func SPNHost(spn string) string {
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
	return StripPort(h)
}

// UNCHost returns the server of \\server\share.
func UNCHost(p string) string {
	p = strings.TrimLeft(p, `\/`)
	if i := strings.IndexAny(p, `\/`); i >= 0 {
		p = p[:i]
	}
	return p
}

// StripPort removes :port and [brackets] from a host.
func StripPort(h string) string {
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

// IsIPLiteral reports whether a host (port and brackets allowed) is an
// IPv4 or IPv6 address rather than a name.
func IsIPLiteral(h string) bool {
	if h == "" {
		return false
	}
	_, err := netip.ParseAddr(StripPort(h))
	return err == nil
}
