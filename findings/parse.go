package findings

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ErrNotFinding is returned by ParseJSON for a document of another kind
// (an inventory row, an alert) found among findings.
var ErrNotFinding = errors.New("not a finding")

// ParseJSON reads one finding back from the JSON AppendJSON wrote (a line
// of a findings file, a document from Elasticsearch): AppendJSON of the
// result gives the same bytes. Facts that are not written out (what the
// server offered, TLS, SASL wrapping) stay zero; the flags they decided
// are read back with the rest. Unknown members are ignored, so documents
// that carry more fields (ECS additions) read as well.
func ParseJSON(line []byte) (*Finding, error) {
	var d jsonFinding
	if err := json.Unmarshal(line, &d); err != nil {
		return nil, err
	}
	if d.Rule != nil || d.Event.Kind == "state" || (d.Event.Dataset != "" && d.Event.Dataset != "ntlmsensor.auth") {
		return nil, ErrNotFinding
	}
	f := &Finding{Outcome: Outcome(d.Event.Outcome), Reason: d.Event.Reason}
	if d.Timestamp == "" {
		return nil, errors.New("finding without @timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, d.Timestamp)
	if err != nil {
		return nil, err
	}
	f.Time = t.UTC()
	if f.Client, err = d.Source.addrPort(); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if f.Server, err = d.Destination.addrPort(); err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	f.Transport, f.Protocol, f.CommunityID = d.Network.Transport, Protocol(d.Network.Protocol), d.Network.CommunityID
	if d.User != nil {
		f.HasUser, f.UserName, f.UserDomain = true, d.User.Name, d.User.Domain
	}
	f.Mechanism, f.SPNEGO, f.Offered = Mechanism(d.Auth.Mechanism), opt(d.Auth.SPNEGO), d.Auth.Offered

	n, x := &f.NTLM, &d.NTLM
	n.Version, n.LMResponse, n.Workstation, n.TargetName = NTLMVersion(x.Version), opt(x.LMResponse), x.Workstation, x.TargetName
	n.MIC, n.Sign, n.Seal = opt(x.MIC), opt(x.Sign), opt(x.Seal)
	if x.Flags != "" {
		v, err := strconv.ParseUint(strings.TrimPrefix(x.Flags, "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("ntlm.flags: %w", err)
		}
		n.Flags, n.HasFlags = uint32(v), true
	}
	n.ClientVersion, n.ServerVersion = x.ClientVersion, x.ServerVersion
	n.ServerNbName, n.ServerNbDom = x.Server.NbName, x.Server.NbDomain
	n.ServerDNSName, n.ServerDNSDom, n.ServerDNSTree = x.Server.DNSName, x.Server.DNSDomain, x.Server.DNSTree
	f.Cause, f.Causes, f.CauseEvidence = x.Cause, x.Causes, x.CauseEvidence

	k := &d.Kerberos
	f.Kerberos = KerberosFacts{Request: KerberosRequest(k.Request), Realm: k.Realm, SName: k.SName, Etypes: k.Etypes,
		TicketEtype: k.TicketEtype, SessionEtype: k.SessionEtype, Error: k.Error}
	s := &d.SMB
	f.SMB = SMBFacts{Version: s.Version, SigningRequired: opt(s.SigningRequired), Signed: opt(s.Signed),
		Encrypted: opt(s.Encrypted), Tree: s.Tree}
	f.HTTP = HTTPFacts{Method: d.HTTP.Request.Method, StatusCode: d.HTTP.Response.StatusCode, Host: d.URL.Domain}
	l := &d.LDAP
	f.LDAP = LDAPFacts{Bind: l.Bind, SASLMechanism: l.SASLMechanism}
	if l.ResultCode != nil {
		f.LDAP.ResultCode, f.LDAP.HasResult = *l.ResultCode, true
	}
	f.Flags = make([]Flag, len(d.Flags))
	for i, fl := range d.Flags {
		f.Flags[i] = Flag(fl)
	}
	f.Observer = d.Observer.Name
	return f, nil
}

func opt(b *bool) Opt {
	if b == nil {
		return Unset
	}
	return OptOf(*b)
}

type jsonEndpoint struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

func (e *jsonEndpoint) addrPort() (netip.AddrPort, error) {
	if e == nil || e.IP == "" {
		return netip.AddrPort{}, nil
	}
	a, err := netip.ParseAddr(e.IP)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, e.Port), nil
}

// jsonFinding mirrors the members AppendJSON writes.
type jsonFinding struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Kind    string `json:"kind"`
		Dataset string `json:"dataset"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	} `json:"event"`
	Rule        *json.RawMessage `json:"rule"`
	Source      *jsonEndpoint    `json:"source"`
	Destination *jsonEndpoint    `json:"destination"`
	Network     struct {
		Transport   string `json:"transport"`
		Protocol    string `json:"protocol"`
		CommunityID string `json:"community_id"`
	} `json:"network"`
	User *struct {
		Name   string `json:"name"`
		Domain string `json:"domain"`
	} `json:"user"`
	Auth struct {
		Mechanism string   `json:"mechanism"`
		SPNEGO    *bool    `json:"spnego"`
		Offered   []string `json:"offered"`
	} `json:"auth"`
	NTLM struct {
		Version       string `json:"version"`
		LMResponse    *bool  `json:"lm_response"`
		Workstation   string `json:"workstation"`
		TargetName    string `json:"target_name"`
		MIC           *bool  `json:"mic"`
		Sign          *bool  `json:"sign"`
		Seal          *bool  `json:"seal"`
		Flags         string `json:"flags"`
		ClientVersion string `json:"client_version"`
		ServerVersion string `json:"server_version"`
		Server        struct {
			NbName    string `json:"nb_name"`
			NbDomain  string `json:"nb_domain"`
			DNSName   string `json:"dns_name"`
			DNSDomain string `json:"dns_domain"`
			DNSTree   string `json:"dns_tree"`
		} `json:"server"`
		Cause         string   `json:"cause"`
		Causes        []string `json:"causes"`
		CauseEvidence string   `json:"cause_evidence"`
	} `json:"ntlm"`
	Kerberos struct {
		Request      string  `json:"request"`
		Realm        string  `json:"realm"`
		SName        string  `json:"sname"`
		Etypes       []int32 `json:"etypes"`
		TicketEtype  int32   `json:"ticket_etype"`
		SessionEtype int32   `json:"session_etype"`
		Error        string  `json:"error"`
	} `json:"kerberos"`
	SMB struct {
		Version         string `json:"version"`
		SigningRequired *bool  `json:"signing_required"`
		Signed          *bool  `json:"signed"`
		Encrypted       *bool  `json:"encrypted"`
		Tree            string `json:"tree"`
	} `json:"smb"`
	HTTP struct {
		Request struct {
			Method string `json:"method"`
		} `json:"request"`
		Response struct {
			StatusCode int `json:"status_code"`
		} `json:"response"`
	} `json:"http"`
	URL struct {
		Domain string `json:"domain"`
	} `json:"url"`
	LDAP struct {
		Bind          string `json:"bind"`
		SASLMechanism string `json:"sasl_mechanism"`
		ResultCode    *int   `json:"result_code"`
	} `json:"ldap"`
	Flags    []string `json:"flags"`
	Observer struct {
		Name string `json:"name"`
	} `json:"observer"`
}
