package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/findings"
)

// oneNTLM runs captures and returns the single NTLM logon of client port
// (0: the only NTLM logon there is).
func ntlmLogons(t *testing.T, paths ...string) []*findings.Finding {
	t.Helper()
	l := ntlmOf(analyse(t, paths, 1, nil).found)
	if len(l) == 0 {
		t.Fatalf("%v: no NTLM logon", paths)
	}
	return l
}

func wantCause(t *testing.T, f *findings.Finding, cause Cause, also []Cause, evidence string) {
	t.Helper()
	if f.Cause != string(cause) {
		t.Errorf("%v %s\\%s: cause %q (%v, %q), want %q", f.Client, f.UserDomain, f.UserName, f.Cause, f.Causes, f.CauseEvidence, cause)
	}
	for _, c := range also {
		if !slices.Contains(f.Causes, string(c)) {
			t.Errorf("%v: causes %v lack %q", f.Client, f.Causes, c)
		}
	}
	if !strings.Contains(f.CauseEvidence, evidence) {
		t.Errorf("%v: evidence %q, want it to say %q", f.Client, f.CauseEvidence, evidence)
	}
}

// Every cause from real captures (Samba, smbclient, MIT kinit/kvno,
// impacket, curl; public Windows captures), alone or merged with another
// exchange of the same client shifted just after it.
func TestCausesOnRealCaptures(t *testing.T) {
	t.Run("local_account/server name", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("smb2_ntlmv2_unsigned.pcap"))[0]
		wantCause(t, f, CauseLocalAccount, []Cause{CauseWorkgroupServer}, `account FS1\carol: the domain is the server's own NetBIOS name`)
	})
	t.Run("local_account/client workstation", func(t *testing.T) {
		// DESKTOP-2AEFM7G\user from DESKTOP-2AEFM7G: a local account of the client
		for _, f := range ntlmLogons(t, pcapsDir()+"/public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap") {
			if f.UserDomain == "DESKTOP-2AEFM7G" {
				wantCause(t, f, CauseLocalAccount, []Cause{CauseIPTarget, CauseWorkgroupServer}, "the domain is the client's own workstation name")
			}
		}
	})
	t.Run("ip_target", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("smb2_ntlmv2_by_ip.pcap"))[0]
		wantCause(t, f, CauseIPTarget, nil, "the client named the server by IP: target name cifs/127.0.0.10")
		if len(f.Causes) != 1 {
			t.Errorf("causes %v: a domain account to a domain server by IP has one", f.Causes)
		}
	})
	t.Run("ntlm_direct", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("http_ntlmv2_hostname.pcap"))[0]
		wantCause(t, f, CauseNTLMDirect, []Cause{CauseKerberosNotOffered}, "Authorization: NTLM, not Negotiate")
	})
	t.Run("spn_missing", func(t *testing.T) {
		// kvno cifs/127.0.0.10 gets KDC_ERR_S_PRINCIPAL_UNKNOWN, then smbclient //127.0.0.10 uses NTLM
		m := merged(t, map[string]time.Duration{realPcap("krb_tgs_spn_is_ip.pcap"): 0, realPcap("smb2_ntlmv2_by_ip.pcap"): 64 * time.Second})
		f := ntlmLogons(t, m)[0]
		wantCause(t, f, CauseIPTarget, []Cause{CauseSPNMissing}, "cifs/127.0.0.10")
		if !slices.Equal(f.Causes, []string{"ip_target", "spn_missing"}) {
			t.Errorf("causes %v", f.Causes)
		}
	})
	t.Run("spn_missing/another server", func(t *testing.T) {
		// cifs/nosuchhost.lab.test unknown does not explain NTLM to dc1.lab.test
		m := merged(t, map[string]time.Duration{realPcap("krb_tgs_unknown_spn.pcap"): 0, realPcap("smb2_ntlmv2_hostname_signed.pcap"): 64 * time.Second})
		f := ntlmLogons(t, m)[0]
		wantCause(t, f, CauseUnexplained, nil, "Kerberos was offered")
	})
	t.Run("clock_skew", func(t *testing.T) {
		m := merged(t, map[string]time.Duration{realPcap("krb_clock_skew_tgs.pcap"): 0, realPcap("smb2_ntlmv2_hostname_signed.pcap"): 73 * time.Second})
		f := ntlmLogons(t, m)[0]
		wantCause(t, f, CauseClockSkew, nil, "answered this client's TGS-REQ for cifs/dc1.lab.test with KRB_AP_ERR_SKEW")
	})
	t.Run("clock_skew/too long before", func(t *testing.T) {
		m := merged(t, map[string]time.Duration{realPcap("krb_clock_skew_tgs.pcap"): 0, realPcap("smb2_ntlmv2_hostname_signed.pcap"): 73*time.Second + DefaultWindow})
		f := ntlmLogons(t, m)[0]
		wantCause(t, f, CauseUnexplained, nil, "")
	})
	t.Run("kdc_unreachable/others reach the KDC", func(t *testing.T) {
		// 127.0.0.5 gets tickets from 127.0.0.10 (kinit, kvno); robin at
		// 172.31.222.186 (a Windows client, public capture) uses NTLM 30 s
		// later with no Kerberos of its own
		smb := pcapsDir() + "/public/suricata-verify/tests/smb-version-keyword/input.pcap"
		start := captureStart(t, smb)
		krb := realPcap("krb_as_tgs_aes_success.pcap")
		m := merged(t, map[string]time.Duration{krb: start.Sub(captureStart(t, krb)) - 30*time.Second, smb: 0})
		f := ntlmLogons(t, m)[0]
		wantCause(t, f, CauseKDCUnreachable, nil, "no Kerberos from this client in the 5 min before, while 127.0.0.5 got an answer from the KDC 127.0.0.10")
	})
	t.Run("cross_domain", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("smb2_to_impacket_server.pcap"))[0]
		wantCause(t, f, CauseIPTarget, []Cause{CauseCrossDomain}, "")
	})
	t.Run("workgroup_server", func(t *testing.T) {
		// a null session to SCV, a Windows 10 workgroup machine
		for _, f := range ntlmLogons(t, pcapsDir()+"/public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap") {
			if f.NTLM.ServerNbName == "SCV" {
				wantCause(t, f, CauseWorkgroupServer, nil, "server SCV is in no domain: its domain SCV is its own name")
			}
		}
	})
	t.Run("kerberos_not_offered", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("ldap_spnego_ntlm_sealed.pcap"))[0]
		wantCause(t, f, CauseKerberosNotOffered, nil, "SPNEGO offered ntlm, no Kerberos")
	})
	t.Run("unexplained", func(t *testing.T) {
		f := ntlmLogons(t, realPcap("smb2_ntlmv2_hostname_signed.pcap"))[0]
		wantCause(t, f, CauseUnexplained, nil, "Kerberos was offered")
	})
}

func captureStart(t *testing.T, path string) time.Time {
	t.Helper()
	r := analyse(t, []string{path}, 1, nil)
	if len(r.found) == 0 {
		t.Fatalf("%s: no findings", path)
	}
	return r.found[0].Time.Add(-5 * time.Second)
}

// KRB_AP_ERR_MODIFIED from the server, then NTLM to it: no capture has one
// yet, so the stage is fed the two findings as the sensor writes them.
func TestSPNWrongAccount(t *testing.T) {
	var out []*findings.Finding
	st := New(Config{Emit: func(d findings.Document) {
		if f, ok := d.(*findings.Finding); ok {
			out = append(out, f)
		}
	}})
	ap, err := findings.ParseJSON([]byte(`{"@timestamp":"2026-01-02T03:04:05.000000Z","event":{"kind":"alert","category":["authentication"],"outcome":"failure","reason":"KRB_AP_ERR_MODIFIED"},"source":{"ip":"10.1.0.5","port":50000},"destination":{"ip":"10.1.0.20","port":445},"network":{"transport":"tcp","protocol":"smb"},"auth":{"mechanism":"kerberos","spnego":true,"offered":["kerberos","ntlm"]},"kerberos":{"request":"AP","sname":"cifs/fs2.corp.example","error":"KRB_AP_ERR_MODIFIED"},"flags":[],"observer":{"name":"t","type":"sensor"}}`))
	if err != nil {
		t.Fatal(err)
	}
	nt, err := findings.ParseJSON([]byte(`{"@timestamp":"2026-01-02T03:04:05.900000Z","event":{"kind":"alert","category":["authentication"],"outcome":"success"},"source":{"ip":"10.1.0.5","port":50001},"destination":{"ip":"10.1.0.20","port":445},"network":{"transport":"tcp","protocol":"smb"},"user":{"name":"ann","domain":"CORP"},"auth":{"mechanism":"ntlm","spnego":true,"offered":["ntlm"]},"ntlm":{"version":"NTLMv2","target_name":"cifs/fs2.corp.example","server":{"nb_name":"FS2","nb_domain":"CORP","dns_name":"fs2.corp.example","dns_domain":"corp.example"}},"flags":["ntlm_fallback"],"observer":{"name":"t","type":"sensor"}}`))
	if err != nil {
		t.Fatal(err)
	}
	st.Finding(nt)
	st.Finding(ap)
	st.Close()
	if len(out) != 2 || out[1] != nt {
		t.Fatalf("order: %v", out)
	}
	wantCause(t, nt, CauseSPNWrongAccount, nil, "the server refused this client's AP-REQ for cifs/fs2.corp.example with KRB_AP_ERR_MODIFIED 0.9 s before")
}

// Every NTLM logon of the public captures gets a cause, and each cause is
// one its evidence supports.
func TestEveryPublicLogonHasACause(t *testing.T) {
	counts := map[string]int{}
	for _, p := range publicCaptures(t) {
		for _, f := range ntlmOf(analyse(t, []string{p}, 1, nil).found) {
			counts[f.Cause]++
			if f.Cause == "" || len(f.Causes) == 0 || f.Causes[0] != f.Cause || f.CauseEvidence == "" {
				t.Errorf("%s %v: cause %q causes %v evidence %q", p, f.Client, f.Cause, f.Causes, f.CauseEvidence)
				continue
			}
			for _, c := range f.Causes {
				if !supported(f, Cause(c)) {
					t.Errorf("%s %v %s\\%s: cause %s not supported by the finding", p, f.Client, f.UserDomain, f.UserName, c)
				}
			}
		}
	}
	t.Logf("causes over pcaps/public: %v", counts)
	for c, n := range map[string]int{"local_account": 30, "ip_target": 90, "ntlm_direct": 30, "workgroup_server": 1, "unexplained": 5} {
		if counts[c] < n {
			t.Errorf("%s: %d logons, want at least %d", c, counts[c], n)
		}
	}
}

// supported checks a cause against the finding's own facts (the ones the
// correlation decides need the trace, and are checked above).
func supported(f *findings.Finding, c Cause) bool {
	switch c {
	case CauseLocalAccount:
		d := f.UserDomain
		return f.NTLM.Version != "anonymous" && (d == "" || d == "." || strings.EqualFold(d, f.NTLM.ServerNbName) || strings.EqualFold(d, f.NTLM.Workstation))
	case CauseIPTarget:
		return slices.Contains(f.Flags, findings.FlagIPTarget)
	case CauseNTLMDirect:
		return f.SPNEGO == findings.False || f.Mechanism == "smb1-challenge"
	case CauseWorkgroupServer:
		return f.NTLM.ServerNbName != ""
	case CauseKerberosNotOffered:
		return !slices.Contains(f.Flags, findings.FlagNTLMFallback)
	case CauseUnexplained:
		return slices.Contains(f.Flags, findings.FlagNTLMFallback) && len(f.Causes) == 1
	case CauseCrossDomain:
		return f.UserDomain != "" && f.NTLM.ServerNbDom != ""
	}
	return true
}
