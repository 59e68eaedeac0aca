package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/findings"
)

func real(name string) string { return filepath.Join(pcapsDir(), "real-implementations", name) }

func public(name string) string { return filepath.Join(pcapsDir(), "public", name) }

// summary is "rule message" per alert, for failure messages.
func summary(as []*Alert) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\n  %s: %s", Rules[a.Rule].ID, a.Message)
	}
	return b.String()
}

func ruleIDs(as []*Alert) []string {
	var ids []string
	for _, a := range as {
		ids = append(ids, Rules[a.Rule].ID)
	}
	return ids
}

// wantAlerts is how many alerts, by rule, each bundled capture raises with
// the default thresholds; every other capture raises none. Why each:
//   - ldap_invalid_credentials: an attack lab (DESKTOP-EVIL) where one
//     host fails NTLM LDAP binds for 6 accounts, machine accounts included.
//   - aduser1: an ADHACKING lab; User1 gets an AS-REP without
//     pre-authentication (an AS-REP roastable account).
//   - kinit: an MIT KDC whose principals do not require pre-authentication
//     (MIT's default), so three accounts get AS-REPs without it; and kinit
//     fails 6 times for one enterprise principal.
//   - smbandx (suricata-verify): the client's AUTHENTICATE names
//     cifs/192.168.1.12 but reached 192.168.1.51: a NAT the sensor cannot
//     tell from a relay.
//   - dcerpc-ctxids: the KDC answers Administrator's AES offer with an RC4
//     reply (a built-in account with no AES keys).
//   - the Windows Server 2016 protocol documentation captures (MS-ADOD 1_3,
//     MS-AUTHSOD 2-1 and 3-1): the same, for CONTOSO's Administrator, whose
//     password was set before the domain had AES keys. Not an attack, but
//     exactly what the rule is for: the account would lose Kerberos when
//     RC4 goes.
//
// The attack captures of pcaps/real-implementations/attacks (real tools on
// loopback, TRUTH.md there) raise theirs: ntlmrelayx relaying carol to fs1
// (the same response on both legs, and the AUTHENTICATE fs1 received names
// the relay); impacket's listener with its fixed challenge, also the
// listener the coerced machine account logs on to after the MS-RPRN call;
// the spray over 8 accounts and the brute force of 10 passwords (NTLM and
// Kerberos); Kerberoasting of 3+ SPNs with RC4 first (MIT kvno, and
// impacket's requests that Samba refused: the attempt is what shows); the
// RC4-only AS-REQ after AES ones. The AS-REP roast attempt raises none: the
// KDC demanded pre-authentication, so no AS-REP was sent.
//
// The zerologon, PrintNightmare and EternalBlue/DoublePulsar captures raise
// none: they attack Netlogon, the spooler and SMB1 itself, not NTLM or
// Kerberos logons, and show no relay, guessing or roasting.
var wantAlerts = map[string][]string{
	"real-implementations/attacks/bruteforce_kerberos.pcap":                   {"brute_force"},
	"real-implementations/attacks/bruteforce_smb_ntlm.pcap":                   {"brute_force"},
	"real-implementations/attacks/coerce_rprn_then_machine_account_ntlm.pcap": {"ntlm_rogue_server", "coerced_authentication"},
	"real-implementations/attacks/kerberoast_attempt_getuserspns.pcap":        {"kerberoasting"},
	"real-implementations/attacks/kerberoast_rc4_tgs_kvno.pcap":               {"kerberoasting"},
	"real-implementations/attacks/krb_downgrade_aes_then_rc4.pcap":            {"kerberos_downgrade_request"},
	"real-implementations/attacks/ntlm_relay_smb_to_smb.pcap":                 {"ntlm_relay_target", "ntlm_relay_response"},
	"real-implementations/attacks/rogue_smb_server_fixed_challenge.pcap":      {"ntlm_rogue_server"},
	"real-implementations/attacks/spray_kerberos.pcap":                        {"password_spray"},
	"real-implementations/attacks/spray_smb_ntlm.pcap":                        {"password_spray"},
	"zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap":            {"password_spray"},
	"zeek/testing/btest/Traces/ldap/aduser1.pcap":                             {"asrep_roasting"},
	"zeek/testing/btest/Traces/krb/kinit.pcap":                                {"asrep_roasting", "brute_force", "asrep_roasting", "asrep_roasting"},
	"suricata-verify/tests/smb-eicar-andx/smbandx.pcap":                       {"ntlm_relay_target"},
	"suricata-verify/tests/dcerpc/dcerpc-ctxids/input.pcap":                   {"kerberos_downgrade_reply"},
	"windows-formats/microsoft__prot-od-netcaps/[MS-ADOD]-captureALL/MS-ADOD_Example1_3_Win2016_X64_Win2016_X64_Domain_JoiningADomainByCreatingAnAccountViaLDAP.cap": {"kerberos_downgrade_reply"},
	"windows-formats/microsoft__prot-od-netcaps/[MS-AUTHSOD]-captureALL/MS-AUTHSOD_Example2-1_Win2016_X64_Win2016_X64_Domain.cap":                                    {"kerberos_downgrade_reply"},
	"windows-formats/microsoft__prot-od-netcaps/[MS-AUTHSOD]-captureALL/MS-AUTHSOD_Example3-1_Win2016_X64_Win2016_X64_Domain.cap":                                    {"kerberos_downgrade_reply"},
}

// TestBundledCaptures: the normal captures raise no alert, the listed ones
// exactly theirs, with 1 and with 2 workers alike.
func TestBundledCaptures(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every bundled capture")
	}
	for _, p := range captures(t, pcapsDir()) {
		rel, _ := filepath.Rel(filepath.Join(pcapsDir(), "public"), p)
		if strings.HasPrefix(rel, "..") {
			rel, _ = filepath.Rel(pcapsDir(), p)
		}
		got := alertsOf(DefaultConfig(), findingsOf(t, 1, p))
		if want := wantAlerts[filepath.ToSlash(rel)]; !slices.Equal(ruleIDs(got), want) {
			t.Errorf("%s: alerts %v, want %v%s", rel, ruleIDs(got), want, summary(got))
		}
		if len(got) == 0 {
			continue
		}
		two := alertsOf(DefaultConfig(), findingsOf(t, 2, p))
		if a, b := jsonOf(got), jsonOf(two); a != b {
			t.Errorf("%s: 2 workers give other alerts:\n%s\nvs\n%s", rel, a, b)
		}
	}
}

func jsonOf(as []*Alert) string {
	var b []byte
	for _, a := range as {
		b = a.AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

// TestGuessingOnRealCaptures: the failed logons of the Samba lab (alice's
// wrong password over SMB2, NTLMv1 refused by the DC, HTTP, Kerberos
// KDC_ERR_PREAUTH_FAILED; an unknown user over SMB2 and Kerberos
// KDC_ERR_C_PRINCIPAL_UNKNOWN), all from 127.0.0.5 within two minutes, read
// in one run as one stretch of traffic.
func TestGuessingOnRealCaptures(t *testing.T) {
	fs := findingsOf(t, 2, real("smb2_wrong_password.pcap"), real("smb2_unknown_user.pcap"),
		real("smb2_ntlmv1_rejected_by_dc.pcap"), real("krb_preauth_failed.pcap"),
		real("krb_unknown_client.pcap"), real("http_ntlm_wrong_password.pcap"))
	if got := alertsOf(DefaultConfig(), fs); len(got) != 0 {
		t.Fatalf("default thresholds: %d alerts, want none:%s", len(got), summary(got))
	}
	cfg := DefaultConfig()
	cfg.SprayAccounts, cfg.BruteFailures = 2, 4
	got := alertsOf(cfg, fs)
	if ids := ruleIDs(got); !slices.Equal(ids, []string{"password_spray", "brute_force"}) {
		t.Fatalf("alerts %v:%s", ids, summary(got))
	}
	spray, brute := got[0], got[1]
	if !slices.Equal(spray.Users, []string{`LAB\alice`, `LAB\nosuchuser`}) || spray.Source != netip.MustParseAddr("127.0.0.5") ||
		spray.Destination != netip.MustParseAddr("127.0.0.10") || len(spray.CommunityIDs) != 2 {
		t.Errorf("spray: %s", spray.AppendJSON(nil))
	}
	// alice failed over SMB2 twice, Kerberos once and HTTP once (another
	// server, so no single destination)
	if !slices.Equal(brute.Users, []string{`LAB\alice`}) || brute.Destination.IsValid() ||
		!strings.HasPrefix(brute.Message, "4 failed logons for LAB\\alice from 127.0.0.5") ||
		!slices.Equal(brute.IPs, []netip.Addr{netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.0.10"), netip.MustParseAddr("127.0.0.30")}) {
		t.Errorf("brute force: %s", brute.AppendJSON(nil))
	}
	checkDocument(t, brute)
}

// TestKerberoastOnRealCaptures: the lab's service-ticket requests from
// 127.0.0.5 (cifs, HTTP, ldap, an IP SPN, an unknown SPN; and bob's
// RC4-only one) read as one stretch.
func TestKerberoastOnRealCaptures(t *testing.T) {
	fs := findingsOf(t, 1, real("krb_as_tgs_aes_success.pcap"), real("krb_tgs_unknown_spn.pcap"),
		real("krb_tgs_spn_is_ip.pcap"), real("krb_rc4_only_client.pcap"),
		real("ldap_sasl_gssapi_kerberos.pcap"), real("http_negotiate_kerberos.pcap"))
	if got := alertsOf(DefaultConfig(), fs); len(got) != 0 {
		t.Fatalf("default thresholds: want none:%s", summary(got))
	}
	cfg := DefaultConfig()
	cfg.RoastAnySPNs = 5
	got := alertsOf(cfg, fs)
	if len(got) != 1 || got[0].Rule != Kerberoasting {
		t.Fatalf("alerts:%s", summary(got))
	}
	want := "127.0.0.5 asked for service tickets for 5 SPNs (1 with RC4 preferred) within 10m0s: cifs/dc1.lab.test, cifs/nosuchhost.lab.test, cifs/127.0.0.10, ldap/dc1.lab.test, HTTP/web.lab.test"
	if got[0].Message != want {
		t.Errorf("message %q, want %q", got[0].Message, want)
	}
	// RC4 preferred counts against the lower threshold: bob's RC4-only request
	cfg = DefaultConfig()
	cfg.RoastSPNs = 1
	got = alertsOf(cfg, fs)
	if len(got) != 1 || got[0].Rule != Kerberoasting || !strings.Contains(got[0].Message, "(1 with RC4 preferred)") {
		t.Fatalf("alerts:%s", summary(got))
	}
}

// TestASREPRoastOnPublicCapture: aduser1.pcap, User1 gets an AS-REP for an
// AS-REQ without padata.
func TestASREPRoastOnPublicCapture(t *testing.T) {
	got := alertsOf(DefaultConfig(), findingsOf(t, 1, public("zeek/testing/btest/Traces/ldap/aduser1.pcap")))
	if len(got) != 1 || got[0].Rule != ASREPRoasting {
		t.Fatalf("alerts:%s", summary(got))
	}
	a := got[0]
	if !slices.Equal(a.Users, []string{"User1@ADHACKING.LOCAL"}) || a.Source != netip.MustParseAddr("192.168.226.131") ||
		a.Message != "AS-REP for User1@ADHACKING.LOCAL sent to 192.168.226.131 without pre-authentication" {
		t.Errorf("%s", a.AppendJSON(nil))
	}
	checkDocument(t, a)
}

// first returns the first finding of a capture that matches.
func first(t *testing.T, path string, ok func(*findings.Finding) bool) *findings.Finding {
	t.Helper()
	for _, f := range findingsOf(t, 1, path) {
		if ok(f) {
			return f
		}
	}
	t.Fatalf("%s: no such finding", path)
	return nil
}

func isNTLM(f *findings.Finding) bool { return f.Mechanism == "ntlm" }

// TestRelayFromRealFinding: alice's real NTLMv2 logon to the DC, seen once
// as the victim's logon to a relay (127.0.0.66) and again arriving at the
// DC from the relay: the same response on two servers. (The relaying
// captures of the corpus test the whole path; this pins the correlation.)
func TestRelayFromRealFinding(t *testing.T) {
	f := first(t, real("smb2_ntlmv2_hostname_signed.pcap"), isNTLM)
	if f.Attack.ProofDigest == 0 || f.Attack.ChallengeDigest == 0 {
		t.Fatalf("no digests: %+v", f.Attack)
	}
	relay := netip.MustParseAddr("127.0.0.66")
	victim := *f
	victim.Server = netip.AddrPortFrom(relay, 445)
	victim.CommunityID = findings.CommunityID(victim.Client, victim.Server, false)
	toDC := *f
	toDC.Client = netip.AddrPortFrom(relay, 50000)
	toDC.CommunityID = findings.CommunityID(toDC.Client, toDC.Server, false)
	toDC.Time = f.Time.Add(-time.Millisecond) // the DC answers before the relay answers the victim
	got := alertsOf(DefaultConfig(), []*findings.Finding{&toDC, &victim})
	if len(got) != 1 || got[0].Rule != RelayResponse {
		t.Fatalf("alerts:%s", summary(got))
	}
	a := got[0]
	if a.Source != netip.MustParseAddr("127.0.0.5") || a.Destination != netip.MustParseAddr("127.0.0.10") ||
		!slices.Equal(a.CommunityIDs, []string{victim.CommunityID, toDC.CommunityID}) ||
		a.Message != `the same NTLM response on 127.0.0.5 -> 127.0.0.66 and 127.0.0.66 -> 127.0.0.10 for LAB\alice` {
		t.Errorf("%s", a.AppendJSON(nil))
	}
	checkDocument(t, a)

	// the same logon seen twice at the same server (a retransmitted
	// capture, two sensors' copies merged) is no relay
	again := *f
	again.CommunityID = "other"
	if got := alertsOf(DefaultConfig(), []*findings.Finding{f, &again}); len(got) != 0 {
		t.Errorf("same server:%s", summary(got))
	}
}

// TestMICRemovedAndFlagsStripped: alice's real AUTHENTICATE with its MIC
// taken out and NEGOTIATE_SIGN cleared, as ntlmrelayx --remove-mic sends it.
func TestMICRemovedAndFlagsStripped(t *testing.T) {
	f := first(t, real("smb2_ntlmv2_hostname_signed.pcap"), isNTLM)
	if !f.Attack.AvFlagsMIC || !f.Attack.MICSent || f.Attack.NegotiateFlags&0x10 == 0 || f.Attack.ChallengeFlags&0x10 == 0 || f.NTLM.Flags&0x10 == 0 {
		t.Fatalf("real logon: %+v flags %#x", f.Attack, f.NTLM.Flags)
	}
	if got := alertsOf(DefaultConfig(), []*findings.Finding{f}); len(got) != 0 {
		t.Fatalf("untouched logon:%s", summary(got))
	}
	g := *f
	g.Attack.MICSent = false
	g.NTLM.Flags &^= 0x10 | 0x40000000
	got := alertsOf(DefaultConfig(), []*findings.Finding{&g})
	if ids := ruleIDs(got); !slices.Equal(ids, []string{"ntlm_mic_removed", "ntlm_flags_stripped"}) {
		t.Fatalf("alerts %v:%s", ids, summary(got))
	}
	if want := "AUTHENTICATE from 127.0.0.5 to 127.0.0.10 dropped NEGOTIATE_SIGN and NEGOTIATE_KEY_EXCH that its NEGOTIATE asked for and the CHALLENGE granted"; got[1].Message != want {
		t.Errorf("message %q", got[1].Message)
	}
}

// TestRogueServer: one challenge on three connections to one server.
func TestRogueServer(t *testing.T) {
	f := first(t, real("smb2_ntlmv2_by_ip.pcap"), isNTLM)
	var fs []*findings.Finding
	for i := range 3 {
		g := *f
		g.Attack.ProofDigest = uint64(i + 1) // each client answers for itself
		g.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 40000)
		g.CommunityID = findings.CommunityID(g.Client, g.Server, false)
		g.Time = f.Time.Add(time.Duration(i) * time.Second)
		fs = append(fs, &g)
	}
	got := alertsOf(DefaultConfig(), fs)
	if len(got) != 1 || got[0].Rule != RogueServer || len(got[0].CommunityIDs) != 3 ||
		got[0].Message != "one NTLM server challenge on 3 connections, served by 127.0.0.10" {
		t.Fatalf("alerts:%s", summary(got))
	}
}

// TestDowngrade: bob's real RC4-only AS exchange after his AES offer.
func TestDowngrade(t *testing.T) {
	aes := first(t, real("krb_clock_skew_as_impacket.pcap"), func(f *findings.Finding) bool { return f.Kerberos.Request == "AS" })
	rc4 := first(t, real("krb_rc4_only_client.pcap"), func(f *findings.Finding) bool { return f.Kerberos.Request == "AS" })
	late := *rc4
	late.Time = aes.Time.Add(time.Minute)
	got := alertsOf(DefaultConfig(), []*findings.Finding{aes, &late})
	if len(got) != 1 || got[0].Rule != KrbDowngradeRequest ||
		got[0].Message != "AS-REQ for bob@LAB.TEST from 127.0.0.5 offered only [23] after offering AES" {
		t.Fatalf("alerts:%s", summary(got))
	}
	// in the order they were captured, RC4 came first: no downgrade
	if got := alertsOf(DefaultConfig(), []*findings.Finding{rc4, aes}); len(got) != 0 {
		t.Fatalf("alerts:%s", summary(got))
	}
}

// checkDocument: the alert is one valid JSON object in the contract's shape.
func checkDocument(t *testing.T, a *Alert) {
	t.Helper()
	b := a.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	ev := m["event"].(map[string]any)
	if ev["kind"] != "alert" || ev["dataset"] != "ntlmsensor.alert" || ev["module"] != "ntlmsensor" {
		t.Errorf("event %v", ev)
	}
	r := Rules[a.Rule]
	th := m["threat"].(map[string]any)
	tech := th["technique"].(map[string]any)
	if th["framework"] != "MITRE ATT&CK" || tech["id"] != r.TechniqueID || m["rule"].(map[string]any)["id"] != r.ID {
		t.Errorf("rule/threat %s", b)
	}
	if _, ok := m["ntlmsensor"].(map[string]any)["community_ids"].([]any); !ok {
		t.Errorf("community_ids %s", b)
	}
	if !bytes.HasPrefix(b, []byte(`{"@timestamp":"`)) {
		t.Errorf("must begin with @timestamp: %s", b)
	}
}

// TestTablesBounded: a full table pushes its oldest entry out and counts it.
func TestTablesBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEntries = 4
	d := New(cfg)
	base := time.Unix(1e9, 0)
	for i := range 10 {
		f := &findings.Finding{Time: base.Add(time.Duration(i) * time.Millisecond), Mechanism: "kerberos", Outcome: findings.Failure,
			UserName: "u", Kerberos: findings.KerberosFacts{Request: "AS", Error: "KDC_ERR_PREAUTH_FAILED"},
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1)}
		d.Observe(f, func(findings.Document) { t.Fatal("no alert expected") })
	}
	if s := d.Stats(); s.LimitHits != 6 || len(d.guesses.m) != 4 {
		t.Errorf("limit hits %d, entries %d", s.LimitHits, len(d.guesses.m))
	}
	// a window's end frees entries without counting a limit hit
	d.Observe(&findings.Finding{Time: base.Add(time.Hour), Mechanism: "kerberos", Outcome: findings.Failure, UserName: "u",
		Kerberos: findings.KerberosFacts{Request: "AS", Error: "KDC_ERR_PREAUTH_FAILED"}}, func(findings.Document) {})
	if s := d.Stats(); s.LimitHits != 6 || len(d.guesses.m) != 1 {
		t.Errorf("after expiry: limit hits %d, entries %d", s.LimitHits, len(d.guesses.m))
	}
}

// TestCoercion: 127.0.0.66 calls MS-RPRN opnum 65 on the DC 127.0.0.10,
// which then logs on as DC1$ with NTLM to 127.0.0.66 (the real NTLM logon
// of the lab, re-addressed as the callback). The same logon to a KDC, or
// long after the call, raises nothing.
func TestCoercion(t *testing.T) {
	krb := first(t, real("krb_as_tgs_aes_success.pcap"), func(f *findings.Finding) bool { return f.Kerberos.Request == "AS" })
	logon := first(t, real("smb2_ntlmv2_hostname_signed.pcap"), isNTLM)
	dc, atk := netip.MustParseAddr("127.0.0.10"), netip.MustParseAddr("127.0.0.66")
	call := &findings.Finding{Time: logon.Time.Add(-time.Second), Client: netip.AddrPortFrom(atk, 50001), Server: netip.AddrPortFrom(dc, 445), CommunityID: "call"}
	call.Attack.CoercionCall = "MS-RPRN opnum 65"
	back := *logon
	back.UserName, back.UserDomain = "DC1$", "LAB"
	back.Client, back.Server = netip.AddrPortFrom(dc, 50002), netip.AddrPortFrom(atk, 445)
	back.CommunityID = "callback"
	got := alertsOf(DefaultConfig(), []*findings.Finding{krb, call, &back})
	if len(got) != 1 || got[0].Rule != Coercion ||
		got[0].Message != `127.0.0.66 called MS-RPRN opnum 65 on 127.0.0.10; domain controller then logged on as LAB\DC1$ with NTLM to 127.0.0.66` ||
		!slices.Equal(got[0].CommunityIDs, []string{"call", "callback"}) {
		t.Fatalf("alerts:%s", summary(got))
	}
	checkDocument(t, got[0])
	toKDC := back
	toKDC.Server = netip.AddrPortFrom(dc, 445)
	late := back
	late.Time = call.Time.Add(time.Minute)
	for _, f := range []*findings.Finding{&toKDC, &late} {
		if got := alertsOf(DefaultConfig(), []*findings.Finding{krb, call, f}); len(got) != 0 {
			t.Errorf("alerts:%s", summary(got))
		}
	}
}
