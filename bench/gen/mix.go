package gen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// A Mix reweighs the kinds of traffic: connections of a class arrive at
// its perGiB times the weight (a class not named does not appear), and
// may be all IPv6, or SMB2 all signed or encrypted. The default mix ("")
// is the classes' own numbers, byte for byte as without a mix.
type Mix struct {
	Name    string
	About   string
	Weights map[string]float64
	AllV6   bool // every class that can use IPv6 does
	SMBSec  bool // every SMB2 session signed (3 in 4) or encrypted (1 in 4)
	// ShortMax caps the response of a short HTTP connection (0: 16 KiB)
	ShortMax int64
}

func (m *Mix) shortMax(def int64) int64 {
	if m == nil || m.ShortMax == 0 {
		return def
	}
	return m.ShortMax
}

// Mixes are the named mixes (-mix of gencap, benchrun, livebench).
var Mixes = map[string]*Mix{
	"proxy": {Name: "proxy", About: "many short connections, as a web proxy sees (about a million per GiB): short HTTP with small answers, short TLS, refused connections, DNS",
		Weights: map[string]float64{"http-short": 20, "tls-short": 1, "refused": 20, "dns": 2}, ShortMax: 1 << 10},
	"small": {Name: "small", About: "mostly small packets: DNS, NTP, syslog, ARP, Redis and Postgres chatter (the generator has no Kerberos or LDAP background: those are the planted captures)",
		Weights: map[string]float64{"dns": 4, "ntp": 4, "syslog": 4, "arp": 2, "redis": 2, "postgres": 1, "refused": 1}},
	"tls": {Name: "tls", About: "mostly TLS: bulk and short TLS, QUIC, with their DNS",
		Weights: map[string]float64{"tls-bulk": 3, "tls-short": 2, "quic": 1, "dns": 0.5}},
	"smb": {Name: "smb", About: "mostly SMB2 file I/O, every session signed or encrypted, with some DNS",
		Weights: map[string]float64{"smb2-file-io": 3, "dns": 0.2}, SMBSec: true},
	"ipv6": {Name: "ipv6", About: "the default mix with every connection that can be IPv6 on IPv6 (ARP, NTP and syslog stay IPv4)",
		AllV6: true},
}

// MixNames lists the named mixes.
func MixNames() []string {
	var n []string
	for k := range Mixes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// LookupMix finds a mix by name ("" or "default": nil, the default).
func LookupMix(name string) (*Mix, error) {
	if name == "" || name == "default" {
		return nil, nil
	}
	m, ok := Mixes[name]
	if !ok {
		return nil, fmt.Errorf("no mix %q (default, %s)", name, strings.Join(MixNames(), ", "))
	}
	return m, nil
}

// weight is a class's weight in the mix.
func (m *Mix) weight(class string) float64 {
	if m == nil || m.Weights == nil {
		return 1
	}
	return m.Weights[class]
}

// v6 draws whether a connection uses IPv6 (one in n), as the default mix
// does; the draw is made in every mix, so the rest stays the same.
func (g *Gen) v6(r *rand.Rand, n int) bool {
	x := r.IntN(n) == 0
	return x || (g.mix != nil && g.mix.AllV6)
}
