package carriertest

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
)

// Lookup is the value at a dotted path ("ntlm.flags") of a document as
// Doc returns it, nil where there is none.
func Lookup(doc map[string]any, path string) any {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// First is the first element of a JSON list, nil if v is none or empty.
func First(v any) any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return l[0]
	}
	return nil
}

// FlagIDs are a finding's flags as strings, in order; never nil.
func FlagIDs(f *findings.Finding) []string {
	out := []string{}
	for _, fl := range f.Flags {
		out = append(out, string(fl))
	}
	return out
}

// Key is what the findings of two runs over the same bytes must agree on:
// the finding as written out, less its time and endpoints.
func Key(f *findings.Finding) string {
	var m map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil {
		return err.Error()
	}
	delete(m, "@timestamp")
	delete(m, "source")
	delete(m, "destination")
	delete(m, "network")
	if rel, ok := m["related"].(map[string]any); ok {
		delete(rel, "ip") // the addresses again
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Expectation is one finding a capture of pcaps/real-implementations must
// give, as expect.json states it: field values by dotted path (strings
// compared without case), flags required and flags ruled out.
type Expectation struct {
	F   map[string]any `json:"f"`
	Req []string       `json:"req"`
	No  []string       `json:"no"`
}

// Expected reads a capture's entry of pcaps/real-implementations/expect.json.
func Expected(tb testing.TB, name string) []Expectation {
	tb.Helper()
	raw, err := os.ReadFile(pcaptest.Path("real-implementations/expect.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		tb.Fatal(err)
	}
	var exps []Expectation
	if err := json.Unmarshal(spec[name], &exps); err != nil {
		tb.Fatal(err)
	}
	return exps
}

// MatchExpected: each expectation is met by a finding of its own, and there
// is no other finding.
func MatchExpected(tb testing.TB, finds []*findings.Finding, exps []Expectation) {
	tb.Helper()
	if len(finds) != len(exps) {
		tb.Fatalf("%d findings, want %d\n%s", len(finds), len(exps), Dump(finds))
	}
	used := make([]bool, len(finds))
	for _, e := range exps {
		found := false
		for i, f := range finds {
			if !used[i] && e.metBy(Doc(tb, f), FlagIDs(f)) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			tb.Errorf("no finding meets %+v\n%s", e, Dump(finds))
		}
	}
}

func (e Expectation) metBy(doc map[string]any, flags []string) bool {
	for k, v := range e.F {
		got := Lookup(doc, k)
		if gs, isStr := got.(string); isStr {
			if ws, _ := v.(string); !strings.EqualFold(gs, ws) {
				return false
			}
		} else if got != v {
			return false
		}
	}
	for _, r := range e.Req {
		if !slices.Contains(flags, r) {
			return false
		}
	}
	for _, n := range e.No {
		if slices.Contains(flags, n) {
			return false
		}
	}
	return true
}

// OracleRows reads the rows of a capture's tshark oracle (pcaps/<rel>.tshark.tsv)
// that hold all of the given column values.
func OracleRows(tb testing.TB, rel string, match map[string]string) []map[string]string {
	tb.Helper()
	fh, err := os.Open(pcaptest.Path(rel + ".tshark.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var header []string
	var out []map[string]string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
rows:
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(header) {
				row[header[i]] = c
			}
		}
		for k, v := range match {
			if row[k] != v {
				continue rows
			}
		}
		out = append(out, row)
	}
	return out
}

// ArkimeSession is the session of Arkime's expected output for a capture
// (pcaps/<rel less .pcap>.test) whose protocols include proto.
func ArkimeSession(tb testing.TB, rel, proto string) map[string]any {
	tb.Helper()
	raw, err := os.ReadFile(pcaptest.Path(strings.TrimSuffix(rel, ".pcap") + ".test"))
	if err != nil {
		tb.Fatal(err)
	}
	var spec struct {
		Sessions []struct {
			Body map[string]any `json:"body"`
		} `json:"sessions3"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		tb.Fatal(err)
	}
	for _, s := range spec.Sessions {
		ps, _ := s.Body["protocol"].([]any)
		if slices.Contains(ps, any(proto)) {
			return s.Body
		}
	}
	tb.Fatalf("no %s session in Arkime's output", proto)
	return nil
}

// AgreesWithOracle: f has the user, domain, workstation and NTLM version
// of the AUTHENTICATE of a row of a tshark oracle (OracleRows).
func AgreesWithOracle(tb testing.TB, f *findings.Finding, r map[string]string) {
	tb.Helper()
	if f.UserName != r["ntlmssp.auth.username"] || f.UserDomain != r["ntlmssp.auth.domain"] ||
		f.NTLM.Workstation != r["ntlmssp.auth.hostname"] || string(f.NTLM.Version) != r["ntlm_version"] {
		tb.Errorf("finding %s\\%s from %s %s; tshark %v", f.UserDomain, f.UserName, f.NTLM.Workstation, f.NTLM.Version, r)
	}
}

// AgreesWithArkime: f has the user, domain, workstation, client version and
// Community ID of a session of Arkime's output (ArkimeSession).
func AgreesWithArkime(tb testing.TB, f *findings.Finding, a map[string]any) {
	tb.Helper()
	if First(a["user"]) != f.UserName || First(Lookup(a, "ntlm.domain")) != f.UserDomain ||
		First(Lookup(a, "ntlm.host")) != f.NTLM.Workstation || First(Lookup(a, "ntlm.version")) != f.NTLM.ClientVersion ||
		Lookup(a, "network.community_id") != f.CommunityID {
		tb.Errorf("finding %+v; Arkime %v %v", f, a["user"], a["ntlm"])
	}
}
