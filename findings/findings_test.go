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
		{[]string{"event", "kind"}, "alert"},
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
