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

	"ntlmsensor/sensor/auth"
	"ntlmsensor/sensor/capture"
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
	cfg.Emit = func(f *auth.Finding) {
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

// implemented are the carriers this build follows; expectations on the
// others are reported as not yet covered, not as passes.
var implemented = map[string]bool{"smb": true, "http": true}

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
			want := 0
			for _, e := range exps {
				proto, _ := e.F["network.protocol"].(string)
				if !implemented[proto] {
					continue
				}
				want++
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
	case "SMB", "SMB2", "HTTP":
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
	fmt.Printf("oracle: %d/%d NTLM AUTHENTICATE messages on SMB/HTTP reported with equal fields\n", okAll, totalAll)
}
