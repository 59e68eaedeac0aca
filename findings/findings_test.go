package findings

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// Vectors from Zeek's community-id btest (seed 0).
func TestCommunityID(t *testing.T) {
	a := netip.MustParseAddrPort("1.2.3.4:1122")
	b := netip.MustParseAddrPort("5.6.7.8:3344")
	for _, tc := range []struct {
		udp  bool
		want string
	}{{false, "1:wCb3OG7yAFWelaUydu0D+125CLM="}, {true, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="}} {
		if got := CommunityID(a, b, tc.udp); got != tc.want {
			t.Errorf("udp=%v: %s, want %s", tc.udp, got, tc.want)
		}
		if got := CommunityID(b, a, tc.udp); got != tc.want {
			t.Errorf("reversed udp=%v: %s, want %s", tc.udp, got, tc.want)
		}
	}
}

func TestJSONShape(t *testing.T) {
	f := &Finding{
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC),
		Outcome: Success, Reason: "STATUS_SUCCESS",
		Client: netip.MustParseAddrPort("127.0.0.5:40000"), Server: netip.MustParseAddrPort("127.0.0.10:445"),
		Transport: "tcp", Protocol: "smb", CommunityID: "1:x",
		HasUser: true, UserName: "al\"ice\x01", UserDomain: "LAB",
		Mechanism: "ntlm", SPNEGO: True, Offered: []string{"kerberos", "ntlm"},
		NTLM: NTLMFacts{Version: "NTLMv2", MIC: False, Flags: 0x62088235, HasFlags: true, TargetName: "cifs/127.0.0.10", ServerNbName: "DC1"},
		SMB:  SMBFacts{Version: "3.1.1", SigningRequired: False, Signed: False, Tree: `\\127.0.0.10\IPC$`},
	}
	f.Evaluate()
	b := f.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	get := func(path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"@timestamp"}, "2026-01-02T03:04:05.678901Z"},
		{[]string{"event", "kind"}, "event"},
		{[]string{"event", "module"}, "ntlmsensor"},
		{[]string{"event", "dataset"}, "ntlmsensor.auth"},
		{[]string{"event", "action"}, "ntlm-authentication"},
		{[]string{"event", "severity"}, 3.0}, // ntlm_no_mic: high
		{[]string{"event", "risk_score"}, 73.0},
		{[]string{"ecs", "version"}, "8.17.0"},
		{[]string{"source", "domain"}, nil},        // no workstation sent
		{[]string{"destination", "domain"}, "DC1"}, // the server's NetBIOS name, not the IP of the tree
		{[]string{"event", "outcome"}, "success"},
		{[]string{"source", "ip"}, "127.0.0.5"},
		{[]string{"destination", "port"}, 445.0},
		{[]string{"user", "name"}, "al\"ice\x01"},
		{[]string{"ntlm", "flags"}, "0x62088235"},
		{[]string{"ntlm", "mic"}, false},
		{[]string{"ntlm", "server", "nb_name"}, "DC1"},
		{[]string{"smb", "tree"}, `\\127.0.0.10\IPC$`},
		{[]string{"smb", "signed"}, false},
		{[]string{"observer", "type"}, "sensor"},
		{[]string{"kerberos"}, nil},
		{[]string{"ntlm", "sign"}, nil},
	}
	for _, c := range checks {
		if got := get(c.path...); got != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	want := []Flag{FlagIPTarget, FlagNTLMFallback, FlagNTLMNoMIC, FlagSMBUnsigned}
	f.ClientOfferedKerberos = true
	f.Evaluate()
	if !slices.Equal(f.Flags, want) {
		t.Errorf("flags %v, want %v", f.Flags, want)
	}
}

func TestAnonymousUserNameIsWritten(t *testing.T) {
	f := &Finding{HasUser: true, Mechanism: "ntlm", NTLM: NTLMFacts{Version: "anonymous"}}
	f.Evaluate()
	var m struct {
		User  map[string]any `json:"user"`
		Flags []string       `json:"flags"`
	}
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m.User["name"]; !ok || v != "" {
		t.Errorf("user.name = %#v, want present and empty", v)
	}
	if !slices.Equal(m.Flags, []string{"ntlm_anonymous"}) {
		t.Errorf("flags %v", m.Flags)
	}
}

func TestIPTargets(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want bool
	}{
		{Finding{NTLM: NTLMFacts{TargetName: "cifs/127.0.0.10"}}, true},
		{Finding{NTLM: NTLMFacts{TargetName: "cifs/dc1.lab.test"}}, false},
		{Finding{NTLM: NTLMFacts{TargetName: "HTTP/[fe80::1]:8080"}}, true},
		{Finding{SMB: SMBFacts{Tree: `\\10.1.2.3\share`}}, true},
		{Finding{SMB: SMBFacts{Tree: `\\FS1\share`}}, false},
		{Finding{HTTP: HTTPFacts{Host: "::1"}}, true},
		{Finding{Kerberos: KerberosFacts{SName: "cifs/127.0.0.10"}}, true},
		{Finding{Kerberos: KerberosFacts{SName: "krbtgt/LAB.TEST"}}, false},
	} {
		if got := tc.f.ipTarget(); got != tc.want {
			t.Errorf("%+v: ipTarget %v, want %v", tc.f, got, tc.want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("alice", "LAB", "cifs/x")
	f.Add("\xff\xfe\u2028", "\x00", "\\")
	f.Fuzz(func(t *testing.T, user, domain, target string) {
		fd := &Finding{HasUser: true, UserName: user, UserDomain: domain, NTLM: NTLMFacts{TargetName: target}, Mechanism: "ntlm"}
		fd.Evaluate()
		if !json.Valid(fd.AppendJSON(nil)) {
			t.Fatalf("invalid JSON for %q %q %q", user, domain, target)
		}
	})
}

func TestSeverities(t *testing.T) {
	seen := map[Flag]bool{}
	for _, f := range Flags {
		if f.Severity < SeverityLow || f.Severity > SeverityCritical {
			t.Errorf("flag %s has no severity", f.ID)
		}
		seen[f.ID] = true
	}
	if len(seen) != 16 {
		t.Errorf("%d flags", len(seen))
	}
	if got := WorstSeverity([]Flag{FlagIPTarget, FlagNTLMv1, FlagSMB1}); got != SeverityHigh || got.RiskScore() != 73 || got.String() != "high" {
		t.Errorf("worst of ip_target, ntlm_v1, smb1: %v", got)
	}
	if got := WorstSeverity(nil); got != SeverityNone || got.RiskScore() != 0 {
		t.Errorf("no flags: %v", got)
	}
}

func TestRelated(t *testing.T) {
	var r Related
	r.AddUser("alice")
	r.AddUser("ALICE")
	r.AddUser("")
	r.AddIP(netip.MustParseAddr("::ffff:10.0.0.1"))
	r.AddIP(netip.MustParseAddr("10.0.0.1"))
	r.AddHost("dc1.lab.test.")
	r.AddHost("DC1.lab.test")
	r.AddHost("fe80::1")
	r.AddHost("")
	got := string(r.AppendJSON(nil))
	want := `,"related":{"user":["alice"],"ip":["10.0.0.1","fe80::1"],"hosts":["dc1.lab.test"]}`
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	var empty Related
	if len(empty.AppendJSON(nil)) != 0 {
		t.Error("empty related written")
	}
	if got := string(AppendECS(nil, "s1")); got != `,"observer":{"name":"s1","type":"sensor"},"ecs":{"version":"8.17.0"}` {
		t.Error(got)
	}
}

func TestKerberosNamesAndDomains(t *testing.T) {
	f := &Finding{
		Client: netip.MustParseAddrPort("10.0.0.5:5000"), Server: netip.MustParseAddrPort("10.0.0.1:88"),
		HasUser: true, UserName: "bob", Mechanism: "kerberos",
		Kerberos: KerberosFacts{Request: "TGS", SName: "krbtgt/LAB.TEST", Etypes: []int32{18, 23, 99}, TicketEtype: 23, SessionEtype: 18},
	}
	f.Evaluate()
	var m struct {
		Event struct {
			Action   string `json:"action"`
			Severity int    `json:"severity"`
		} `json:"event"`
		Destination map[string]any `json:"destination"`
		Kerberos    struct {
			Names   []string `json:"etype_names"`
			Ticket  string   `json:"ticket_etype_name"`
			Session string   `json:"session_etype_name"`
		} `json:"kerberos"`
		Related map[string][]string `json:"related"`
	}
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Kerberos.Names, []string{"aes256-cts-hmac-sha1-96", "rc4-hmac", "etype-99"}) || m.Kerberos.Ticket != "rc4-hmac" || m.Kerberos.Session != "aes256-cts-hmac-sha1-96" {
		t.Errorf("etype names %+v", m.Kerberos)
	}
	if m.Event.Action != "kerberos-service-ticket-requested" || m.Event.Severity != int(SeverityMedium) {
		t.Errorf("event %+v", m.Event)
	}
	// the sname of a TGS exchange is not the KDC's name, and a realm is no host
	if _, ok := m.Destination["domain"]; ok || m.Related["hosts"] != nil {
		t.Errorf("destination %v, related %v", m.Destination, m.Related)
	}
	f.Kerberos = KerberosFacts{Request: "AP", SName: "cifs/fs1.lab.test@LAB.TEST"}
	if got := f.DestinationDomain(); got != "fs1.lab.test" {
		t.Errorf("AP-REQ destination.domain %q", got)
	}
}
