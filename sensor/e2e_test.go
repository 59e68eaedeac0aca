package sensor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/capture"
	"ntlmsensor/decoders/kerberos"
	"ntlmsensor/findings"
)

// pcapsDir is the repository's bundled captures.
func pcapsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "pcaps")
}

// finding is one output line, parsed back from the JSON the sinks write.
type finding map[string]any

func (f finding) get(path string) any {
	var v any = map[string]any(f)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (f finding) str(path string) string {
	s, _ := f.get(path).(string)
	return s
}

func (f finding) flags() []string {
	var out []string
	l, _ := f.get("flags").([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// analyse runs the whole pipeline over one capture, as the binary does,
// and returns the findings as written.
func analyse(tb testing.TB, path string, workers int) []finding {
	tb.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	var out []finding
	cfg := DefaultConfig()
	cfg.Carriers = Carriers()
	cfg.Observer = "test"
	cfg.Emit = func(f *findings.Finding) {
		var m map[string]any
		b := f.AppendJSON(nil)
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatalf("%s: invalid JSON %s: %v", path, b, err)
		}
		out = append(out, m)
	}
	p := NewPipeline(cfg, workers, nil)
	if err := p.ReadSource(src); err != nil {
		tb.Logf("%s: %v", path, err)
	}
	if err := p.Close(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// analyseAudited is analyse through the audit stage, wired as the binary
// wires it: findings in capture-time order, with their causes, and the
// KDC steps the stage decides (audit/retry.go).
func analyseAudited(tb testing.TB, path string, workers int) []finding {
	tb.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer src.Close()
	var out []finding
	cfg := DefaultConfig()
	cfg.Carriers = Carriers()
	cfg.Observer = "test"
	st := audit.New(audit.Config{Workers: workers, Delay: cfg.TCPIdle + 30*time.Second, Emit: func(d findings.Document) {
		if _, ok := d.(*findings.Finding); !ok {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(d.AppendJSON(nil), &m); err != nil {
			tb.Fatalf("%s: invalid JSON: %v", path, err)
		}
		out = append(out, m)
	}})
	cfg.Emit, cfg.Clock, cfg.OnTraceBreak, cfg.Observations = st.Finding, st.Clock, st.TraceBreak, true
	p := NewPipeline(cfg, workers, nil)
	if err := p.ReadSource(src); err != nil {
		tb.Logf("%s: %v", path, err)
	}
	if err := p.Close(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	st.Close()
	return out
}

// implemented are the carriers this build follows; expectations on the
// others are reported as not yet covered, not as passes.
var implemented = map[string]bool{"smb": true, "http": true, "kerberos": true, "ldap": true, "dcerpc": true, "mssql": true,
	"smtp": true, "imap": true, "pop3": true, "nns": true, "unknown": true}

// kdcExchanges counts the AS/TGS exchanges of each real-implementations
// capture (requests less those answered KDC_ERR_PREAUTH_REQUIRED, from
// tshark 4.0): expect.json names only some of them, and the sensor must
// report all of them and no more.
var kdcExchanges = map[string]int{
	"http_negotiate_kerberos.pcap": 2, "krb_as_tgs_aes_success.pcap": 2, "krb_clock_skew_as_impacket.pcap": 1,
	"krb_clock_skew_tgs.pcap": 3, "krb_preauth_failed.pcap": 1, "krb_rc4_only_client.pcap": 2,
	"krb_tgs_spn_is_ip.pcap": 3, "krb_tgs_unknown_spn.pcap": 3, "krb_unknown_client.pcap": 1,
	"ldap_sasl_gssapi_kerberos.pcap": 2, "ldap_spnego_kerberos.pcap": 3,
	"smb2_kerberos_desired_by_ip_uses_ntlm.pcap": 1, "smb2_kerberos_hostname.pcap": 3,
}

type expectation struct {
	F   map[string]any `json:"f"`
	Req []string       `json:"req"`
	No  []string       `json:"no"`
}

func equalValue(got, want any) bool {
	if gs, ok := got.(string); ok {
		if ws, ok := want.(string); ok {
			return strings.EqualFold(gs, ws)
		}
	}
	return got == want
}

// TestRealImplementations runs every capture of Samba, smbclient, impacket
// and curl against expect.json: each expected finding must be there with
// its fields and flags, and no other finding of the same carrier.
func TestRealImplementations(t *testing.T) {
	dir := filepath.Join(pcapsDir(), "real-implementations")
	raw, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(spec))
	for k := range spec {
		if !strings.HasPrefix(k, "_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	matched, total := 0, 0
	for _, name := range names {
		var exps []expectation
		if err := json.Unmarshal(spec[name], &exps); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			finds := analyse(t, filepath.Join(dir, name), 1)
			want := kdcExchanges[name]
			for _, e := range exps {
				proto, _ := e.F["network.protocol"].(string)
				if !implemented[proto] {
					continue
				}
				if proto != "kerberos" {
					want++
				}
				total++
				if matchExpectation(t, finds, e) {
					matched++
				}
			}
			got := 0
			for _, f := range finds {
				if implemented[f.str("network.protocol")] {
					got++
				}
			}
			if got != want {
				t.Errorf("%d findings of the implemented carriers, want %d:\n%s", got, want, dump(finds))
			}
		})
	}
	t.Logf("%d/%d expected findings matched", matched, total)
}

func matchExpectation(t *testing.T, finds []finding, e expectation) bool {
	t.Helper()
	var cands []finding
	for _, f := range finds {
		ok := true
		for k, v := range e.F {
			if !equalValue(f.get(k), v) {
				ok = false
				break
			}
		}
		if ok {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		t.Errorf("no finding with %v; have:\n%s", e.F, dump(finds))
		return false
	}
	for _, f := range cands {
		fl := f.flags()
		good := true
		for _, r := range e.Req {
			good = good && slices.Contains(fl, r)
		}
		for _, n := range e.No {
			good = good && !slices.Contains(fl, n)
		}
		if good {
			return true
		}
	}
	t.Errorf("finding %v has flags %v; required %v, forbidden %v", e.F, cands[0].flags(), e.Req, e.No)
	return false
}

func dump(finds []finding) string {
	var b strings.Builder
	for _, f := range finds {
		j, _ := json.Marshal(map[string]any(f))
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// oracleRow is one NTLM AUTHENTICATE that tshark decoded.
type oracleRow struct {
	frame, src, dst, user, domain, host, version, proto string
}

func readOracle(t *testing.T, path string) []oracleRow {
	f, err := os.Open(path)
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
		if !slices.Contains(strings.Split(r["ntlmssp.messagetype"], ","), "0x00000003") {
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
		rows = append(rows, oracleRow{
			frame: r["frame.number"], src: last("ip.src", "ipv6.src"), dst: last("ip.dst", "ipv6.dst"),
			user: first("ntlmssp.auth.username"), domain: first("ntlmssp.auth.domain"), host: first("ntlmssp.auth.hostname"),
			version: r["ntlm_version"], proto: r["_ws.col.Protocol"],
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// carriedBy says whether tshark's protocol column names a carrier this
// build follows (SMB/SMB2/HTTP), as opposed to DCE/RPC, LDAP, mail, ...
func carriedBy(proto string) bool {
	switch proto {
	case "SMB", "SMB2", "HTTP", "LDAP", "DCERPC", "TDS", "SMTP", "IMAP", "POP", "POP/IMF", "IMF", "TELNET", "TCP":
		return true
	}
	return false
}

// oracleDivergences are the captures where the tshark dump is known to be
// wrong or incomplete, with the reason; the test holds them to exactly
// that many missing and extra findings, so any other change still fails.
var oracleDivergences = map[string]struct {
	missing, extra int
	why            string
}{
	"public/CredSLayer/tests/samples/smb-crash.pcap": {1, 0,
		"a fuzzed AUTHENTICATE whose LM and NT buffers point outside the message (a crash reproducer): " +
			"tshark decodes it as far as the first bad field and prints empty names; the sensor does not " +
			"report names from a message that does not decode"},
	"public/arkime/tests/pcap/smbtorture-ntlmssp-moloch-crash.pcap": {1, 0, "byte-identical to smb-crash.pcap"},
	"public/CredSLayer/tests/samples/telnet-raw2.pcap": {0, 1,
		"NTLM inside Telnet's AUTHENTICATION option: tshark does not decode it; the catch-all finds " +
			"BILLS\\bill by the NTLMSSP signature"},
	"public/windows-formats/microsoft__prot-od-netcaps/[MS-ADOD]-captureALL/MS-ADOD_Example2_9_Win2016_X64_Win2016_X64_Domain_ObtainaListOfUserAccountsUsingTheWebServicesProtocols.cap": {0, 1,
		"AD Web Services on TCP 9389 authenticate with .NET NegotiateStream (MS-NNS) behind a net.tcp " +
			"preamble (MC-NMF): tshark 4.0 shows only TCP data; the nns carrier reports ENDPOINT01\\Administrator " +
			"(NTLMv2), outcome success from the server's HandshakeDone"},
	"public/suricata-verify/tests/smb-eicar-file-segmentation-random/input.pcap": {0, 1,
		"the SMB messages are cut into random small TCP segments; tshark does not reassemble the " +
			"SESSION_SETUP and so lists no AUTHENTICATE; the sensor reassembles it: the anonymous logon " +
			"that the unsegmented twins of this capture (smb-eicar-file) show"},
}

// TestPublicCapturesAgainstOracle: for every public capture with a tshark
// oracle, every NTLM AUTHENTICATE tshark decoded on an SMB or HTTP
// connection is reported with equal endpoints, user, domain, workstation
// and version, and no NTLM finding appears that tshark does not have.
func TestPublicCapturesAgainstOracle(t *testing.T) {
	var oracles []string
	filepath.WalkDir(filepath.Join(pcapsDir(), "public"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tshark.tsv") {
			oracles = append(oracles, p)
		}
		return nil
	})
	if len(oracles) < 50 {
		t.Fatalf("only %d oracle files found", len(oracles))
	}
	okAll, totalAll := 0, 0
	for _, o := range oracles {
		capPath := strings.TrimSuffix(o, ".tshark.tsv")
		rel, _ := filepath.Rel(pcapsDir(), capPath)
		t.Run(rel, func(t *testing.T) {
			var rows []oracleRow
			for _, r := range readOracle(t, o) {
				if carriedBy(r.proto) {
					rows = append(rows, r)
				}
			}
			var finds []finding
			for _, f := range analyse(t, capPath, 1) {
				if f.str("auth.mechanism") == "ntlm" && implemented[f.str("network.protocol")] {
					finds = append(finds, f)
				}
			}
			used := make([]bool, len(finds))
			div := oracleDivergences[rel]
			var missing, extra []string
			for _, r := range rows {
				totalAll++
				hit := false
				for i, f := range finds {
					if used[i] || f.str("source.ip") != r.src || f.str("destination.ip") != r.dst ||
						!strings.EqualFold(f.str("user.name"), r.user) || !strings.EqualFold(f.str("user.domain"), r.domain) ||
						!strings.EqualFold(f.str("ntlm.workstation"), r.host) ||
						(r.version != "" && !strings.EqualFold(f.str("ntlm.version"), r.version)) {
						continue
					}
					used[i], hit = true, true
					break
				}
				if hit {
					okAll++
				} else {
					missing = append(missing, fmt.Sprintf("frame %s: %s -> %s %s\\%s ws=%q %s not reported", r.frame, r.src, r.dst, r.domain, r.user, r.host, r.version))
				}
			}
			for i, f := range finds {
				if !used[i] {
					extra = append(extra, "extra finding tshark does not have: "+dump([]finding{f}))
				}
			}
			if len(missing) == div.missing && len(extra) == div.extra {
				if div.why != "" {
					t.Logf("known divergence from tshark: %s", div.why)
				}
				return
			}
			for _, m := range append(missing, extra...) {
				t.Error(m)
			}
		})
	}
	fmt.Printf("oracle: %d/%d NTLM AUTHENTICATE messages on followed carriers reported with equal fields\n", okAll, totalAll)
}

// krbExchange is one AS or TGS exchange with a KDC as tshark decoded it.
type krbExchange struct {
	frame, request, cname, realm, sname, errName string
	client                                       string  // source address of the request
	t                                            float64 // time of the request, or of the error of a step
}

// kerberosOracle pairs the KDC requests and replies of a tshark dump (on
// port 88 only: Kerberos inside SMB, HTTP or LDAP is not a KDC exchange).
// KDC_ERR_PREAUTH_REQUIRED and KRB_ERR_RESPONSE_TOO_BIG are steps of an
// exchange, not its end, when the client asks again (from the same
// address, for the same realm, service and, in an AS-REQ, name) within
// audit.RetryWindow; otherwise they end it (audit/retry.go).
func kerberosOracle(t *testing.T, path string) []krbExchange {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr []string
	pending := map[string][]krbExchange{}
	var order []string
	var out, requests, steps []krbExchange
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
		// a TGS-REQ carries an AP-REQ in its padata: "12,14"; the fields of
		// both are aggregated, the ticket's before the request body's
		types := strings.Split(r["kerberos.msg_type"], ",")
		if r["kerberos.msg_type"] == "" || (len(types) > 1 && !(types[0] == "12" && len(types) == 2 && types[1] == "14")) {
			continue
		}
		src := r["ip.src"] + r["ipv6.src"]
		dst := r["ip.dst"] + r["ipv6.dst"]
		sp, dp := r["tcp.srcport"]+r["udp.srcport"], r["tcp.dstport"]+r["udp.dstport"]
		name := func(k string) string { return strings.ReplaceAll(r[k], ",", "/") }
		switch types[0] {
		case "10", "12":
			if dp != "88" {
				continue
			}
			key := src + ":" + sp + ">" + dst + ":" + dp
			realms := strings.Split(r["kerberos.realm"], ",")
			x := krbExchange{frame: r["frame.number"], request: "AS", realm: realms[len(realms)-1], sname: name("kerberos.SNameString"), client: src}
			fmt.Sscan(r["frame.time_epoch"], &x.t)
			if types[0] == "12" {
				x.request = "TGS"
				if parts := strings.Split(r["kerberos.SNameString"], ","); len(parts) > 2 && parts[0] == "krbtgt" {
					x.sname = strings.Join(parts[2:], "/") // the TGT's own sname comes first
				}
			} else {
				x.cname = name("kerberos.CNameString")
			}
			requests = append(requests, x)
			if len(pending[key]) == 0 {
				order = append(order, key)
			}
			pending[key] = append(pending[key], x)
		case "11", "13", "30":
			if sp != "88" {
				continue
			}
			key := dst + ":" + dp + ">" + src + ":" + sp
			q := pending[key]
			if len(q) == 0 {
				continue
			}
			x := q[0]
			pending[key] = q[1:]
			if types[0] == "30" {
				code := r["kerberos.error_code"]
				var n int
				fmt.Sscan(code, &n)
				x.errName = kerberos.ErrorName(int32(n))
				if code == "25" || code == "52" {
					fmt.Sscan(r["frame.time_epoch"], &x.t)
					steps = append(steps, x)
					continue
				}
			}
			if x.cname == "" {
				x.cname = name("kerberos.CNameString")
			}
			out = append(out, x)
		}
	}
	for _, k := range order {
		out = append(out, pending[k]...) // never answered: outcome unknown
	}
	for _, x := range steps {
		retried := slices.ContainsFunc(requests, func(q krbExchange) bool {
			return q.client == x.client && q.request == x.request && q.realm == x.realm && q.sname == x.sname && q.cname == x.cname &&
				q.t > x.t && q.t <= x.t+audit.RetryWindow.Seconds()
		})
		if !retried {
			out = append(out, x) // a TGS step keeps no cname: the error's is not compared
		}
	}
	return out
}

// kerberosDivergences are the captures whose tshark dump is known to
// differ, with the reason (see oracleDivergences).
var kerberosDivergences = map[string]struct {
	missing, extra int
	why            string
}{
	"public/arkime/tests/pcap/arkime_synthetic.pcap": {2, 1,
		"synthetic: frame 298 is an AS-REQ cut short (it does not decode, so no exchange is made of it); " +
			"the KRB-ERROR of frame 559 has no stime, tshark gives up on it and prints error 0, the sensor " +
			"decodes KDC_ERR_C_PRINCIPAL_UNKNOWN"},
	"public/suricata-verify/tests/bug-8278-krb5-01/evasion.1.flow.1.segment.pcap": {0, 2,
		"an AS-REQ and a TGS-REQ in one TCP segment (an evasion test): tshark prints them as one row the " +
			"oracle cannot split; the sensor reports both, unanswered"},
}

// TestKerberosAgainstOracle: every AS and TGS exchange tshark decoded in
// the public captures is reported with equal request, cname, realm, sname
// and error, and no other KDC exchange is.
func TestKerberosAgainstOracle(t *testing.T) {
	var oracles []string
	filepath.WalkDir(filepath.Join(pcapsDir(), "public"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tshark.tsv") {
			oracles = append(oracles, p)
		}
		return nil
	})
	ok, total := 0, 0
	for _, o := range oracles {
		want := kerberosOracle(t, o)
		capPath := strings.TrimSuffix(o, ".tshark.tsv")
		var got []finding
		for _, f := range analyseAudited(t, capPath, 1) {
			if f.str("network.protocol") == "kerberos" {
				got = append(got, f)
			}
		}
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		rel, _ := filepath.Rel(pcapsDir(), capPath)
		t.Run(rel, func(t *testing.T) {
			div := kerberosDivergences[rel]
			var missing, extra []string
			used := make([]bool, len(got))
			for _, x := range want {
				total++
				hit := false
				for i, f := range got {
					if used[i] || f.str("kerberos.request") != x.request || f.str("kerberos.realm") != x.realm ||
						f.str("kerberos.sname") != x.sname || f.str("kerberos.error") != x.errName ||
						(x.cname != "" && !strings.EqualFold(f.str("user.name"), x.cname)) {
						continue
					}
					used[i], hit = true, true
					break
				}
				if hit {
					ok++
				} else {
					missing = append(missing, fmt.Sprintf("frame %s: %s %s@%s for %s %q not reported", x.frame, x.request, x.cname, x.realm, x.sname, x.errName))
				}
			}
			for i, f := range got {
				if !used[i] {
					extra = append(extra, "extra KDC finding: "+dump([]finding{f}))
				}
			}
			if len(missing) == div.missing && len(extra) == div.extra {
				if div.why != "" {
					t.Logf("known divergence from tshark: %s", div.why)
				}
				return
			}
			for _, m := range append(missing, extra...) {
				t.Error(m)
			}
		})
	}
	fmt.Printf("oracle: %d/%d Kerberos AS/TGS exchanges reported with equal fields\n", ok, total)
}
