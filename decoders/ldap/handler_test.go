package ldap_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	ldap "ntlmsensor/decoders/ldap"
	"ntlmsensor/findings"
)

// analyse runs the real pipeline, with only the ldap carrier, over a
// capture below pcaps/.
func analyse(t *testing.T, rel string) []*findings.Finding {
	return carriertest.Analyse(t, rel, ldap.Carrier)
}

// doc is a finding as written (JSON), for dotted-path comparisons.
type doc map[string]any

func docOf(t *testing.T, f *findings.Finding) doc {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", f.AppendJSON(nil), err)
	}
	return m
}

func (d doc) get(path string) any {
	var v any = map[string]any(d)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func equalValue(got, want any) bool {
	if gs, ok := got.(string); ok {
		if ws, ok := want.(string); ok {
			return strings.EqualFold(gs, ws)
		}
	}
	return got == want
}

func hasFlag(f *findings.Finding, fl string) bool {
	return slices.Contains(f.Flags, findings.Flag(fl))
}

func dump(fs []*findings.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.Write(f.AppendJSON(nil))
		b.WriteByte('\n')
	}
	return b.String()
}

type expectation struct {
	F   map[string]any `json:"f"`
	Req []string       `json:"req"`
	No  []string       `json:"no"`
}

// TestRealImplementations: every LDAP finding expect.json asks for is there
// with its fields and flags, and no other LDAP finding.
func TestRealImplementations(t *testing.T) {
	raw, err := os.ReadFile(pcaptest.Path("real-implementations/expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range spec {
		if strings.HasPrefix(k, "ldap") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) != 8 {
		t.Fatalf("%d LDAP captures in expect.json, want 8", len(names))
	}
	matched, total := 0, 0
	for _, name := range names {
		var exps []expectation
		if err := json.Unmarshal(spec[name], &exps); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			finds := analyse(t, "real-implementations/"+name)
			want := 0
			used := make([]bool, len(finds))
			for _, e := range exps {
				if e.F["network.protocol"] != "ldap" {
					continue
				}
				want++
				total++
				hit := -1
				for i, f := range finds {
					d := docOf(t, f)
					ok := !used[i]
					for k, v := range e.F {
						ok = ok && equalValue(d.get(k), v)
					}
					for _, r := range e.Req {
						ok = ok && hasFlag(f, r)
					}
					for _, n := range e.No {
						ok = ok && !hasFlag(f, n)
					}
					if ok {
						hit = i
						break
					}
				}
				if hit < 0 {
					t.Errorf("no finding with %v, flags %v, not %v; have:\n%s", e.F, e.Req, e.No, dump(finds))
					continue
				}
				used[hit] = true
				matched++
			}
			if len(finds) != want {
				t.Errorf("%d LDAP findings, want %d:\n%s", len(finds), want, dump(finds))
			}
		})
	}
	t.Logf("expect.json: %d/%d LDAP findings matched", matched, total)
	if matched != total || total != 7 {
		t.Errorf("expect.json: %d/%d matched, want 7/7", matched, total)
	}
}

// TestRealImplementationsFacts pins what expect.json leaves open, from
// TRUTH.md and tshark: bind kind, result and reason, the SASL wrapping
// observed after the bind, and @timestamp = the bind response's frame.
func TestRealImplementationsFacts(t *testing.T) {
	tests := []struct {
		pcap                 string
		mech, bind, saslMech string
		user, domain         string
		result               int
		reason               string
		wrapped              bool
		spnego               findings.Opt
		epoch                string // frame.time_epoch of the final bind response
		flags                []findings.Flag
	}{
		{"ldap_simple_bind_success.pcap", "simple", "simple", "", "alice@lab.test", "", 0, "success", false, findings.Unset,
			"1795614885.697109", []findings.Flag{"ldap_cleartext"}},
		{"ldap_simple_bind_wrong_pw.pcap", "simple", "simple", "", "alice@lab.test", "", 49, "invalidCredentials", false, findings.Unset,
			"1795614888.751525", []findings.Flag{"ldap_cleartext"}},
		{"ldap_spnego_ntlm_sealed.pcap", "ntlm", "sasl", "GSS-SPNEGO", "alice", "LAB", 0, "success", true, findings.True,
			"1795614891.855021", []findings.Flag{}},
		{"ldap_spnego_ntlm_no_signseal.pcap", "ntlm", "sasl", "GSS-SPNEGO", "alice", "LAB", 0, "success", false, findings.True,
			"1795614894.945663", []findings.Flag{"ntlm_no_mic", "ldap_unsigned"}},
		{"ldap_spnego_ntlm_by_ip.pcap", "ntlm", "sasl", "GSS-SPNEGO", "alice", "LAB", 0, "success", true, findings.True,
			"1795614898.029341", []findings.Flag{"ip_target"}},
		{"ldap_sasl_gssapi_kerberos.pcap", "kerberos", "sasl", "GSSAPI", "", "", 0, "success", true, findings.False,
			"1795614904.300842", []findings.Flag{}},
		{"ldap_spnego_kerberos.pcap", "kerberos", "sasl", "GSS-SPNEGO", "", "", 0, "success", true, findings.True,
			"1795614907.465417", []findings.Flag{}},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			fs := analyse(t, "real-implementations/"+tc.pcap)
			if len(fs) != 1 {
				t.Fatalf("%d findings:\n%s", len(fs), dump(fs))
			}
			f := fs[0]
			if string(f.Mechanism) != tc.mech || f.LDAP.Bind != tc.bind || f.LDAP.SASLMechanism != tc.saslMech ||
				f.UserName != tc.user || f.UserDomain != tc.domain || f.SPNEGO != tc.spnego {
				t.Errorf("facts:\n%s", dump(fs))
			}
			if !f.LDAP.HasResult || f.LDAP.ResultCode != tc.result || f.Reason != tc.reason || f.SASLWrapped != tc.wrapped {
				t.Errorf("result %v %d %q wrapped %v:\n%s", f.LDAP.HasResult, f.LDAP.ResultCode, f.Reason, f.SASLWrapped, dump(fs))
			}
			if want := findings.Success; tc.result != 0 && f.Outcome != findings.Failure || tc.result == 0 && f.Outcome != want {
				t.Errorf("outcome %s", f.Outcome)
			}
			if got := epoch(f.Time); got != tc.epoch {
				t.Errorf("@timestamp %s, want %s", got, tc.epoch)
			}
			if !slices.Equal(f.Flags, tc.flags) {
				t.Errorf("flags %v, want %v", f.Flags, tc.flags)
			}
			if f.Client.Addr().String() != "127.0.0.5" || f.Server.String() != "127.0.0.10:389" || f.Protocol != "ldap" {
				t.Errorf("endpoints %v -> %v", f.Client, f.Server)
			}
			if tc.mech == "kerberos" && (f.Kerberos.Request != "AP" || f.Kerberos.Realm != "LAB.TEST" ||
				f.Kerberos.SName != "ldap/dc1.lab.test" || f.Kerberos.TicketEtype != 18) {
				t.Errorf("kerberos %+v", f.Kerberos)
			}
		})
	}
	// python3-ldap3 Sicily against Samba: only sicilyPackageDiscovery is
	// sent, the server drops the connection: no AUTHENTICATE, no finding.
	if fs := analyse(t, "real-implementations/ldap3_sicily_ntlm_rejected.pcap"); len(fs) != 0 {
		t.Errorf("sicily rejected:\n%s", dump(fs))
	}
}

// epoch formats a time as tshark's frame.time_epoch to the microsecond.
func epoch(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// oracleRow is one LDAP frame of a .tshark.tsv oracle.
type oracleRow struct {
	frame, stream                    int
	epoch                            string
	src, dst                         string
	ntlmTypes                        []string
	user, domain, host, version      string
	op, result, name, mech, krbTypes string
	realm, sname                     string
}

func readOracle(t *testing.T, rel string) []oracleRow {
	t.Helper()
	f, err := os.Open(pcaptest.Path(rel + ".tshark.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr []string
	var rows []oracleRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if hdr == nil {
			hdr = parts
			continue
		}
		r := map[string]string{}
		for i, h := range hdr {
			if i < len(parts) {
				r[h] = parts[i]
			}
		}
		if r["_ws.col.Protocol"] != "LDAP" {
			continue
		}
		first := func(k string) string {
			v := strings.Split(r[k], ",")[0]
			if v == "NULL" {
				return ""
			}
			return v
		}
		last := func(a, b string) string {
			v := r[a]
			if v == "" {
				v = r[b]
			}
			s := strings.Split(v, ",")
			return s[len(s)-1]
		}
		frame, _ := strconv.Atoi(r["frame.number"])
		stream, _ := strconv.Atoi(r["tcp.stream"])
		ep := r["frame.time_epoch"]
		if i := strings.IndexByte(ep, '.'); i >= 0 && len(ep) > i+7 {
			ep = ep[:i+7]
		}
		rows = append(rows, oracleRow{
			frame: frame, stream: stream, epoch: ep,
			src: last("ip.src", "ipv6.src"), dst: last("ip.dst", "ipv6.dst"),
			ntlmTypes: strings.Split(r["ntlmssp.messagetype"], ","),
			user:      first("ntlmssp.auth.username"), domain: first("ntlmssp.auth.domain"), host: first("ntlmssp.auth.hostname"),
			version: r["ntlm_version"], op: r["ldap.protocolOp"], result: r["ldap.resultCode"], name: r["ldap.name"],
			mech: r["ldap.mechanism"], krbTypes: r["kerberos.msg_type"], realm: first("kerberos.realm"), sname: r["kerberos.SNameString"],
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// answer returns the bind response that follows row i on its connection.
func answer(rows []oracleRow, i int) (oracleRow, bool) {
	for _, r := range rows[i+1:] {
		if r.stream == rows[i].stream && r.op == "1" {
			return r, true
		}
	}
	return oracleRow{}, false
}

var publicLDAP = []string{
	"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap",
	"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/aduser1.pcap",
	"public/suricata-verify/tests/krb5-request-frag-log/krb5-frag.pcap",
	"public/suricata-verify/tests/like-ip-only-01/krb5-frag.pcap",
	"public/arkime/tests/pcap/ntlm_synthetic.pcap",
	"public/arkime/tests/pcap/arkime_synthetic.pcap",
	// Kerberos binds, and NTLM binds that never reach AUTHENTICATE
	"public/zeek/testing/btest/Traces/ldap/ctu-60387-63723-ldap.pcap",
	"public/zeek/testing/btest/Traces/ldap/ctu-sme-11-win7ad-1-ldap-tcp-50041.pcap",
	"public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng",
	"public/zeek/testing/btest/Traces/ldap/krb5-sign-seal-01.pcap",
	"public/zeek/testing/btest/Traces/ldap/missing_krbtgt_ldap_request.pcapng",
	"public/zeek/testing/btest/Traces/ldap/missing_ldap_logs.pcapng",
	"public/zeek/testing/btest/Traces/ldap/modify-request.pcapng",
}

// TestPublicCapturesAgainstOracle: every bind tshark saw that makes an
// attempt (an NTLM AUTHENTICATE, a Kerberos AP-REQ, a simple bind with a
// name) is reported with tshark's endpoints, user, domain, workstation,
// NTLM version, realm and SPN, with the result code and time of the bind
// response that answered it; and nothing else is reported.
func TestPublicCapturesAgainstOracle(t *testing.T) {
	type count struct{ ok, total int }
	var ntlm, krb, simple count
	for _, rel := range publicLDAP {
		t.Run(rel, func(t *testing.T) {
			rows := readOracle(t, rel)
			finds := analyse(t, rel)
			used := make([]bool, len(finds))
			for i, r := range rows {
				if r.op != "0" {
					continue
				}
				var c *count
				var match func(f *findings.Finding) bool
				switch {
				case slices.Contains(r.ntlmTypes, "0x00000003"):
					c = &ntlm
					match = func(f *findings.Finding) bool {
						return f.Mechanism == "ntlm" && strings.EqualFold(f.UserName, r.user) &&
							strings.EqualFold(f.UserDomain, r.domain) && strings.EqualFold(f.NTLM.Workstation, r.host) &&
							strings.EqualFold(string(f.NTLM.Version), r.version)
					}
				case r.krbTypes == "14":
					c = &krb
					match = func(f *findings.Finding) bool {
						return f.Mechanism == "kerberos" && f.Kerberos.Request == "AP" &&
							strings.EqualFold(f.Kerberos.Realm, r.realm) && f.Kerberos.SName == strings.ReplaceAll(r.sname, ",", "/")
					}
				case r.mech == "" && r.ntlmTypes[0] == "" && r.name != "":
					c = &simple
					match = func(f *findings.Finding) bool {
						return f.Mechanism == "simple" && f.UserName == r.name && f.LDAP.Bind == "simple"
					}
				default:
					continue
				}
				c.total++
				resp, answered := answer(rows, i)
				hit := -1
				for j, f := range finds {
					if !used[j] && f.Client.Addr().String() == r.src && f.Server.Addr().String() == r.dst && match(f) {
						hit = j
						break
					}
				}
				if hit < 0 {
					t.Errorf("frame %d: %s -> %s %s\\%s ws=%q %s krb=%s/%s name=%q not reported", r.frame, r.src, r.dst,
						r.domain, r.user, r.host, r.version, r.realm, r.sname, r.name)
					continue
				}
				used[hit] = true
				f := finds[hit]
				if !answered {
					if f.Outcome != findings.Unknown || f.LDAP.HasResult {
						t.Errorf("frame %d: unanswered, reported %s", r.frame, f.Outcome)
					}
					c.ok++
					continue
				}
				code, _ := strconv.Atoi(resp.result)
				outcome := findings.Failure
				if code == 0 {
					outcome = findings.Success
				}
				if !f.LDAP.HasResult || strconv.Itoa(f.LDAP.ResultCode) != resp.result || f.Outcome != outcome ||
					f.Reason != ldap.ResultName(code) || epoch(f.Time) != resp.epoch {
					t.Errorf("frame %d: result %d %s %q at %s; tshark frame %d result %s at %s", r.frame,
						f.LDAP.ResultCode, f.Outcome, f.Reason, epoch(f.Time), resp.frame, resp.result, resp.epoch)
					continue
				}
				c.ok++
			}
			for j, f := range finds {
				if !used[j] {
					t.Errorf("extra finding tshark does not have: %s", dump([]*findings.Finding{f}))
				}
			}
		})
	}
	t.Logf("oracle: %d/%d LDAP NTLM AUTHENTICATE binds, %d/%d Kerberos AP-REQ binds, %d/%d named simple binds reported with equal fields and result",
		ntlm.ok, ntlm.total, krb.ok, krb.total, simple.ok, simple.total)
	if ntlm.ok != ntlm.total || ntlm.total != 18 || krb.ok != krb.total || krb.total != 8 || simple.ok != simple.total || simple.total != 3 {
		t.Errorf("oracle coverage: ntlm %v krb %v simple %v", ntlm, krb, simple)
	}
}

// TestPublicFacts pins per-capture facts the oracle has no column for.
func TestPublicFacts(t *testing.T) {
	type want struct {
		bind, saslMech string
		spnego         findings.Opt
		wrapped        bool
		flags          []findings.Flag
	}
	tests := []struct {
		pcap string
		want []want
	}{
		// OpenLDAP SASL NTLM: raw NTLMSSP, NTLMv1, no sign/seal.
		{"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap", []want{
			{"sasl", "NTLM", findings.False, false, []findings.Flag{"ntlm_v1", "ntlm_direct", "ldap_unsigned"}}}},
		// Windows DC, Sicily NTLM (MS-ADTS 5.1.1.1.3): raw NTLMSSP, unsigned.
		{"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap", []want{
			{"sicily", "", findings.False, false, []findings.Flag{"ntlm_direct", "ntlm_no_mic", "ldap_unsigned"}}}},
		{"public/suricata-verify/tests/krb5-request-frag-log/krb5-frag.pcap", []want{
			{"sicily", "", findings.False, false, []findings.Flag{"ntlm_direct", "ntlm_no_mic", "ldap_unsigned"}}}},
		// Kerberos in GSS-SPNEGO followed by plain LDAP: unsigned.
		{"public/zeek/testing/btest/Traces/ldap/aduser1.pcap", []want{
			{"sasl", "GSS-SPNEGO", findings.True, false, []findings.Flag{"ldap_unsigned"}}}},
		// Kerberos in GSS-SPNEGO followed by SASL-wrapped PDUs.
		{"public/zeek/testing/btest/Traces/ldap/krb5-sign-seal-01.pcap", []want{
			{"sasl", "GSS-SPNEGO", findings.True, true, []findings.Flag{"krb_rc4"}}}},
		{"public/zeek/testing/btest/Traces/ldap/missing_ldap_logs.pcapng", []want{
			{"sasl", "GSS-SPNEGO", findings.True, true, []findings.Flag{}},
			{"sasl", "GSS-SPNEGO", findings.True, true, []findings.Flag{}},
			{"sasl", "GSS-SPNEGO", findings.True, true, []findings.Flag{}}}},
		// Arkime's synthetic: an unauthenticated simple bind (name, no
		// password: no ldap_cleartext, nothing crossed in clear), Sicily
		// NTLMv1, SASL NTLM, a failed simple bind (name, no password).
		{"public/arkime/tests/pcap/ntlm_synthetic.pcap", []want{
			{"simple", "", findings.Unset, false, []findings.Flag{}},
			{"sicily", "", findings.False, false, []findings.Flag{"ntlm_v1", "ntlm_lm", "ntlm_direct", "ldap_unsigned"}},
			{"sasl", "NTLM", findings.False, false, []findings.Flag{"ntlm_v1", "ntlm_lm", "ntlm_direct", "ldap_unsigned"}},
			{"simple", "", findings.Unset, false, []findings.Flag{}}}},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			fs := analyse(t, tc.pcap)
			if len(fs) != len(tc.want) {
				t.Fatalf("%d findings:\n%s", len(fs), dump(fs))
			}
			for i, w := range tc.want {
				f := fs[i]
				if f.LDAP.Bind != w.bind || f.LDAP.SASLMechanism != w.saslMech || f.SPNEGO != w.spnego ||
					f.SASLWrapped != w.wrapped || !slices.Equal(f.Flags, w.flags) || f.Protocol != "ldap" {
					t.Errorf("finding %d: wrapped=%v, want %+v:\n%s", i, f.SASLWrapped, w, dump(fs[i:i+1]))
				}
			}
		})
	}
}
