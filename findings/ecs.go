package findings

import (
	"net/netip"
	"strings"
	"time"
)

// The Elastic Common Schema parts every document of the sensor shares:
// findings, inventory rows (package audit) and alerts (audit/detect) use
// these, so that the three kinds read alike in Elasticsearch.
// Field reference: https://www.elastic.co/guide/en/ecs/8.17/ecs-field-reference.html

// ECSVersion is ecs.version: the ECS release the documents follow (the field
// list in findings/testdata/ecs-fields-8.17.0.csv checks them).
const ECSVersion = "8.17.0"

// event.module and event.dataset of the three document kinds
// (https://www.elastic.co/guide/en/ecs/8.17/ecs-event.html).
const (
	Module           = "ntlmsensor"
	DatasetAuth      = "ntlmsensor.auth"      // findings, event.kind "event"
	DatasetInventory = "ntlmsensor.inventory" // inventory rows, event.kind "state"
	DatasetAlert     = "ntlmsensor.alert"     // detections, event.kind "alert"
)

// AppendString appends s as a JSON string (invalid UTF-8 as U+FFFD).
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// AppendStrings appends ss as a JSON array of strings ([] when empty).
func AppendStrings(b []byte, ss []string) []byte { return appendStrings(b, ss) }

// AppendTime appends t as the contract's timestamp: a JSON string, RFC 3339
// with microseconds, UTC.
func AppendTime(b []byte, t time.Time) []byte { return appendTime(b, t) }

// AppendECS appends the members every document ends with, after a comma:
// ,"observer":{"name":…,"type":"sensor"},"ecs":{"version":"8.17.0"}.
func AppendECS(b []byte, observer string) []byte {
	b = append(b, `,"observer":{`...)
	if observer != "" {
		b = append(b, `"name":`...)
		b = appendString(b, observer)
		b = append(b, ',')
	}
	b = append(b, `"type":"sensor"},"ecs":{"version":"`+ECSVersion+`"}`...)
	return b
}

// Related gathers related.user, related.ip and related.hosts: every account,
// address and host name a document names, each once, in the order first
// seen (https://www.elastic.co/guide/en/ecs/8.17/ecs-related.html). Names
// compare without regard to case, as Windows compares them; the first
// spelling is kept. The zero value is ready to use.
type Related struct {
	User, IP, Hosts []string
}

// AddUser adds an account name; empty names are left out.
func (r *Related) AddUser(name string) { r.User = addOnce(r.User, name) }

// AddIP adds an address (IPv4-mapped IPv6 written as IPv4).
func (r *Related) AddIP(a netip.Addr) {
	if a.IsValid() {
		r.IP = addOnce(r.IP, a.Unmap().String())
	}
}

// AddHost adds a host name. An IP literal goes to related.ip instead, a
// trailing dot is dropped, and empty names are left out.
func (r *Related) AddHost(name string) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return
	}
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		r.AddIP(a)
		return
	}
	r.Hosts = addOnce(r.Hosts, name)
}

// Empty reports whether nothing was added.
func (r *Related) Empty() bool { return len(r.User)+len(r.IP)+len(r.Hosts) == 0 }

// AppendJSON appends ,"related":{…} with the lists that are not empty, or
// nothing when all are.
func (r *Related) AppendJSON(b []byte) []byte {
	if r.Empty() {
		return b
	}
	b = append(b, `,"related":{`...)
	var o obj
	for _, l := range []struct {
		k string
		v []string
	}{{"user", r.User}, {"ip", r.IP}, {"hosts", r.Hosts}} {
		if len(l.v) > 0 {
			b = appendStrings(o.key(b, l.k), l.v)
		}
	}
	return append(b, '}')
}

func addOnce(l []string, s string) []string {
	if s == "" {
		return l
	}
	for _, e := range l {
		if strings.EqualFold(e, s) {
			return l
		}
	}
	return append(l, s)
}

// Action is event.action: what the authentication was, in the style of
// Elastic's own integrations ("kerberos-service-ticket-requested").
func (f *Finding) Action() string {
	switch f.Mechanism {
	case "ntlm":
		return "ntlm-authentication"
	case "smb1-challenge":
		return "smb1-challenge-authentication"
	case "simple":
		return "ldap-simple-bind"
	case "kerberos":
		switch f.Kerberos.Request {
		case "AS":
			return "kerberos-authentication-ticket-requested"
		case "TGS":
			return "kerberos-service-ticket-requested"
		case "AP":
			return "kerberos-service-ticket-presented"
		}
		return "kerberos-authentication"
	}
	return ""
}

// SourceDomain is source.domain: the client's own name, where the wire
// tells it (the NTLM workstation).
func (f *Finding) SourceDomain() string { return hostName(f.NTLM.Workstation) }

// DestinationDomain is destination.domain: the server's name, where the
// wire tells it. The server's own word (its DNS name, then its NetBIOS
// name, from the NTLM CHALLENGE) comes before the name the client used for
// it (HTTP Host, SMB tree, the SPN of an NTLM target or a Kerberos AP-REQ).
// The sname of an AS or TGS exchange names the service asked for, not the
// KDC the exchange is with, so it is not used. IP literals are not names.
func (f *Finding) DestinationDomain() string {
	for _, h := range []string{
		f.NTLM.ServerDNSName,
		f.NTLM.ServerNbName,
		f.HTTP.Host,
		UNCHost(f.SMB.Tree),
		SPNHost(f.NTLM.TargetName),
		f.apTarget(),
	} {
		if h = hostName(h); h != "" {
			return h
		}
	}
	return ""
}

func (f *Finding) apTarget() string {
	if f.Kerberos.Request == "AP" {
		return SPNHost(f.Kerberos.SName)
	}
	return ""
}

// hostName is h without a port and a trailing dot, or "" when h is empty or
// an IP literal.
func hostName(h string) string {
	if h == "" || IsIPLiteral(h) {
		return ""
	}
	return strings.TrimSuffix(StripPort(h), ".")
}

// Related is the finding's related.*: the account, both addresses, and
// every host name the finding carries.
func (f *Finding) Related() Related {
	var r Related
	r.AddUser(f.UserName)
	r.AddIP(f.Client.Addr())
	r.AddIP(f.Server.Addr())
	n := &f.NTLM
	for _, h := range []string{
		n.Workstation, n.ServerDNSName, n.ServerNbName, f.HTTP.Host,
		UNCHost(f.SMB.Tree), SPNHost(n.TargetName), serviceHost(f.Kerberos.SName),
	} {
		if h = hostName(h); h != "" {
			r.AddHost(h)
		}
	}
	return r
}

// serviceHost is the host of a Kerberos sname, or "" for a krbtgt or
// kadmin name, whose second part is a realm, not a host.
func serviceHost(sname string) string {
	svc, _, _ := strings.Cut(sname, "/")
	if strings.EqualFold(svc, "krbtgt") || strings.EqualFold(svc, "kadmin") {
		return ""
	}
	return SPNHost(sname)
}
