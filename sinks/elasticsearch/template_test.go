package elasticsearch

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/audit/audittest"
	"ntlmsensor/findings"
)

// fullFinding sets every field AppendJSON can write.
func fullFinding() *findings.Finding {
	f := mkFinding(1)
	f.NTLM = findings.NTLMFacts{
		Version: "NTLMv1", LMResponse: findings.True, Workstation: "W", TargetName: "cifs/x", MIC: findings.False,
		Sign: findings.True, Seal: findings.False, Flags: 1, HasFlags: true, ClientVersion: "10.0.19041", ServerVersion: "6.1.7601",
		ServerNbName: "DC1", ServerNbDom: "LAB", ServerDNSName: "dc1.lab", ServerDNSDom: "lab", ServerDNSTree: "lab",
	}
	f.Kerberos = findings.KerberosFacts{Request: "TGS", Realm: "LAB", SName: "cifs/x", Etypes: []int32{18, 23}, TicketEtype: 23, SessionEtype: 18, Error: "KDC_ERR_S_PRINCIPAL_UNKNOWN"}
	f.SMB = findings.SMBFacts{Version: "3.1.1", SigningRequired: findings.True, Signed: findings.False, Encrypted: findings.False, Tree: `\\x\IPC$`}
	f.HTTP = findings.HTTPFacts{Method: "GET", StatusCode: 401, Host: "intranet"}
	f.LDAP = findings.LDAPFacts{Bind: "sasl", SASLMechanism: "GSS-SPNEGO", ResultCode: 49, HasResult: true}
	f.Server = netip.MustParseAddrPort("[2001:db8::1]:445")
	f.Cause, f.Causes, f.CauseEvidence = "ip_target", []string{"ip_target", "spn_missing"}, "the client named the server by IP: target name cifs/x"
	f.File = "captures/day1.pcapng"
	return f
}

// leaves flattens a document to dotted paths and values.
func leaves(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			leaves(p, e, out)
		}
		return
	}
	out[prefix] = v
}

// fits reports whether a JSON value can be indexed as typ.
func fits(typ string, v any) bool {
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if !fits(typ, e) {
				return false
			}
		}
		return true
	}
	switch typ {
	case "date":
		s, ok := v.(string)
		_, err := time.Parse(time.RFC3339Nano, s)
		return ok && err == nil
	case "ip":
		s, ok := v.(string)
		_, err := netip.ParseAddr(s)
		return ok && err == nil
	case "long":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "keyword", "match_only_text":
		_, ok := v.(string)
		return ok
	}
	return false
}

func fieldTypes() map[string]string {
	m := map[string]string{}
	for _, f := range append(slices.Clip(Fields), OtherFields...) {
		m[f.Path] = f.Type
	}
	return m
}

// checkTyped: every field of doc is in the template with a type its value
// fits.
func checkTyped(t testing.TB, doc []byte) map[string]bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	types := fieldTypes()
	out := map[string]any{}
	leaves("", m, out)
	seen := map[string]bool{}
	for p, v := range out {
		typ, ok := types[p]
		if !ok {
			t.Fatalf("field %s (in %s) is not in the index template", p, doc)
		}
		if !fits(typ, v) {
			t.Fatalf("field %s = %v does not fit its mapping %s", p, v, typ)
		}
		seen[p] = true
	}
	return seen
}

// The template types every field a finding can carry, with a type its
// values fit, and nothing else.
func TestTemplateTypesEveryField(t *testing.T) {
	seen := checkTyped(t, fullFinding().AppendJSON(nil))
	for _, f := range Fields {
		if !seen[f.Path] {
			t.Errorf("template field %s never written by AppendJSON", f.Path)
		}
	}
	// the nesting is Elasticsearch's: properties within properties
	m := Mappings()
	b, _ := json.Marshal(m)
	for _, want := range []string{
		`"source":{"properties":{"domain":{"ignore_above":1024,"type":"keyword"},"ip":{"type":"ip"}`,
		`"risk_score":{"type":"float"}`,
		`"@timestamp":{"type":"date"}`,
		`"server":{"properties":{"dns_domain":{"ignore_above":1024,"type":"keyword"}`,
		`"etypes":{"type":"long"}`,
		`"mic":{"type":"boolean"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("mappings lack %s: %s", want, b)
		}
	}
}

// Every document the sensor writes over every bundled capture (findings,
// inventory rows, alerts: the binary's defaults, detection on) fits the
// template, and every field the template types is written by one of them
// or by the full finding.
func TestTemplateFitsAllCaptures(t *testing.T) {
	seen := checkTyped(t, fullFinding().AppendJSON(nil))
	n := map[string]int{}
	for _, p := range audittest.Captures(t) {
		for _, d := range audittest.Documents(t, p) {
			for f := range checkTyped(t, d.AppendJSON(nil)) {
				seen[f] = true
			}
			n[audittest.Kind(d)]++
		}
	}
	if n["event"] < 400 || n["state"] < 100 || n["alert"] != 23 { // audit/detect's wantAlerts
		t.Fatalf("documents checked: %v", n)
	}
	for _, f := range append(slices.Clip(Fields), OtherFields...) {
		if !seen[f.Path] {
			t.Errorf("template field %s is written by no document", f.Path)
		}
	}
}

// Every field the README documents (the output contract) is typed, and the
// template types no field the README does not document.
func TestTemplateCoversREADME(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "### Fields")
	end := strings.Index(text[start:], "### Flags")
	if start < 0 || end < 0 {
		t.Fatal("README has no Fields section")
	}
	tick := regexp.MustCompile("`([^`]+)`")
	fieldRE := regexp.MustCompile(`^@?[a-z_]+(\.[a-z_]+)*$`)
	documented := map[string]bool{}
	for _, row := range strings.Split(text[start:start+end], "\n") {
		cells := strings.Split(row, "|")
		if len(cells) < 3 || strings.Contains(row, "---") || strings.Contains(row, "| field |") {
			continue
		}
		prev := ""
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			name := m[1]
			if strings.HasPrefix(name, ".") && prev != "" {
				name = prev[:strings.LastIndex(prev, ".")] + name
			}
			if fieldRE.MatchString(name) {
				documented[name] = true
				prev = name
			}
		}
		for _, m := range tick.FindAllStringSubmatch(cells[2], -1) {
			if fieldRE.MatchString(m[1]) && strings.Contains(m[1], ".") {
				documented[m[1]] = true
			}
		}
	}
	types := fieldTypes()
	for f := range documented {
		if _, ok := types[f]; !ok {
			t.Errorf("README field %s is not in the index template", f)
		}
	}
	for f := range types {
		if !documented[f] {
			t.Errorf("template field %s is not documented in the README", f)
		}
	}
	if len(documented) < 50 {
		t.Fatalf("only %d fields parsed from the README", len(documented))
	}
}

// es-setup installs the ILM policy, then a composable template naming it:
// PUT _ilm/policy/NAME and PUT _index_template/NAME, each checked by the
// fake server as Elasticsearch documents the API (esapi_check_test.go).
func TestSetup(t *testing.T) {
	es := newFakeES(t)
	cfg := testConfig(t, es.URL)
	if err := Setup(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.DataStream = "logs-ntlmsensor-default"
	cfg.Template = "ntlmsensor-ds"
	cfg.Retention = "30d"
	if err := Setup(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	noILM := cfg
	noILM.Template, noILM.ILM = "ntlmsensor-noilm", false
	if err := Setup(context.Background(), noILM); err != nil {
		t.Fatal(err)
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	want := []string{"/_ilm/policy/ntlmsensor", "/_index_template/ntlmsensor", "/_ilm/policy/ntlmsensor-ds", "/_index_template/ntlmsensor-ds", "/_index_template/ntlmsensor-noilm"}
	if !slices.Equal(es.setupOrder, want) {
		t.Fatalf("requests %v, want %v", es.setupOrder, want)
	}
	type tmpl struct {
		IndexPatterns []string        `json:"index_patterns"`
		Priority      int             `json:"priority"`
		DataStream    *map[string]any `json:"data_stream"`
		ComposedOf    []string        `json:"composed_of"`
		Template      struct {
			Settings struct {
				Index struct {
					Lifecycle *struct{ Name string } `json:"lifecycle"`
					Codec     string                 `json:"codec"`
				} `json:"index"`
			} `json:"settings"`
			Mappings map[string]any `json:"mappings"`
		} `json:"template"`
	}
	var idx, ds, plain tmpl
	for name, v := range map[string]*tmpl{"ntlmsensor": &idx, "ntlmsensor-ds": &ds, "ntlmsensor-noilm": &plain} {
		if err := json.Unmarshal(es.templates[name], v); err != nil {
			t.Fatalf("%s: %v: %s", name, err, es.templates[name])
		}
	}
	if !slices.Equal(idx.IndexPatterns, []string{"ntlmsensor-*"}) || idx.DataStream != nil || idx.Priority <= 100 || idx.Template.Mappings["properties"] == nil ||
		idx.Template.Settings.Index.Lifecycle == nil || idx.Template.Settings.Index.Lifecycle.Name != "ntlmsensor" || idx.Template.Settings.Index.Codec != "best_compression" ||
		!slices.Equal(idx.ComposedOf, []string{"ntlmsensor@custom"}) {
		t.Fatalf("index template %+v", idx)
	}
	// every namespace of the dataset, and nothing else of logs-*-*
	if !slices.Equal(ds.IndexPatterns, []string{"logs-ntlmsensor-*"}) || ds.DataStream == nil || ds.Template.Settings.Index.Lifecycle.Name != "ntlmsensor-ds" ||
		!slices.Equal(ds.ComposedOf, []string{"logs@mappings", "ntlmsensor-ds@custom"}) {
		t.Fatalf("data stream template %+v", ds)
	}
	if plain.Template.Settings.Index.Lifecycle != nil {
		t.Fatalf("-es-ilm=false: the template names a policy: %s", es.templates["ntlmsensor-noilm"])
	}
	var idxPolicy, dsPolicy struct {
		Policy struct {
			Phases map[string]struct {
				MinAge  string                    `json:"min_age"`
				Actions map[string]map[string]any `json:"actions"`
			} `json:"phases"`
		} `json:"policy"`
	}
	json.Unmarshal(es.policies["ntlmsensor"], &idxPolicy)
	json.Unmarshal(es.policies["ntlmsensor-ds"], &dsPolicy)
	// dated indices are never rolled over: only deleted after -es-retention
	if p := idxPolicy.Policy.Phases; len(p) != 1 || p["delete"].MinAge != "90d" || p["delete"].Actions["delete"] == nil {
		t.Fatalf("index policy %s", es.policies["ntlmsensor"])
	}
	if p := dsPolicy.Policy.Phases; p["hot"].Actions["rollover"]["max_primary_shard_size"] != "50gb" || p["hot"].Actions["rollover"]["max_age"] != "30d" || p["delete"].MinAge != "30d" {
		t.Fatalf("data stream policy %s", es.policies["ntlmsensor-ds"])
	}
}

// The checker refuses what Elasticsearch refuses: these must fail, so that
// TestSetup's passing means something.
func TestSetupCheckerRefuses(t *testing.T) {
	cfg := Defaults()
	cfg.DataStream = "logs-ntlmsensor-default"
	tm, _ := cfg.IndexTemplate()
	pol := cfg.ILMPolicy()
	installed := map[string][]byte{"ntlmsensor": nil}
	for name, bad := range map[string]func(t, p map[string]any){
		"takes over logs-*-*": func(t, _ map[string]any) { t["index_patterns"] = []string{"logs-*-*"} },
		"unknown key":         func(t, _ map[string]any) { t["order"] = 1 },
		"missing component":   func(t, _ map[string]any) { t["ignore_missing_component_templates"] = []string{} },
		"unknown type": func(t, _ map[string]any) {
			Mappings()["properties"].(map[string]any)["x"] = map[string]any{"type": "string"}
		},
		"delete in hot": func(_, p map[string]any) {
			p["policy"].(map[string]any)["phases"].(map[string]any)["hot"] = map[string]any{"actions": map[string]any{"delete": map[string]any{}}}
		},
		"bad min_age": func(_, p map[string]any) {
			p["policy"].(map[string]any)["phases"].(map[string]any)["delete"].(map[string]any)["min_age"] = "90 days"
		},
		"rollover, no maximum": func(_, p map[string]any) {
			p["policy"].(map[string]any)["phases"].(map[string]any)["hot"] = map[string]any{"actions": map[string]any{"rollover": map[string]any{}}}
		},
	} {
		if name == "unknown type" {
			continue // Mappings() is fresh each call; covered below
		}
		tc, _ := cfg.IndexTemplate()
		pc := cfg.ILMPolicy()
		bad(tc, pc)
		tb, _ := json.Marshal(tc)
		pb, _ := json.Marshal(pc)
		var tm, pm map[string]any
		json.Unmarshal(tb, &tm)
		json.Unmarshal(pb, &pm)
		if checkTemplate(tm, installed) == nil && checkPolicy(pm) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	tb, _ := json.Marshal(tm)
	pb, _ := json.Marshal(pol)
	var tmm, pm map[string]any
	json.Unmarshal(tb, &tmm)
	json.Unmarshal(pb, &pm)
	if err := checkTemplate(tmm, installed); err != nil {
		t.Fatal(err)
	}
	if err := checkPolicy(pm); err != nil {
		t.Fatal(err)
	}
	if checkTemplate(tmm, map[string][]byte{}) == nil {
		t.Error("a template naming a policy never installed: accepted")
	}
	m := Mappings()
	m["properties"].(map[string]any)["x"] = map[string]any{"type": "string"}
	if checkProperties("", m) == nil {
		t.Error("type string (gone since 5.0): accepted")
	}
}

// es-setup -print writes the same requests, needing no server.
func TestWriteSetup(t *testing.T) {
	cfg := Defaults()
	var b strings.Builder
	if err := WriteSetup(&b, cfg); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(b.String(), "\n\n")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "PUT _ilm/policy/ntlmsensor\n{") || !strings.HasPrefix(parts[1], "PUT _index_template/ntlmsensor\n{") {
		t.Fatalf("%s", b.String())
	}
	for _, p := range parts {
		_, body, _ := strings.Cut(p, "\n")
		if !json.Valid([]byte(body)) {
			t.Fatalf("not JSON: %s", body)
		}
	}
	cfg.Retention = "3 months"
	if WriteSetup(&b, cfg) == nil {
		t.Fatal("bad -es-retention accepted")
	}
}

// Every template field named as an ECS field has its ECS type, and every
// other one sits under a namespace ECS does not define.
func TestTemplateFollowsECS(t *testing.T) {
	ecs := ecsFields(t)
	for _, f := range append(slices.Clip(Fields), OtherFields...) {
		if want, ok := ecs.types[f.Path]; ok {
			if f.Type != want {
				t.Errorf("%s: template type %s, ECS type %s", f.Path, f.Type, want)
			}
		} else if ecs.namespaces[strings.Split(f.Path, ".")[0]] {
			t.Errorf("%s is not an ECS field but sits in an ECS namespace", f.Path)
		}
	}
}

type ecsList struct {
	types      map[string]string
	namespaces map[string]bool
}

// ecsFields reads the ECS 8.17.0 field list (findings/testdata).
func ecsFields(t testing.TB) ecsList {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "findings", "testdata", "ecs-fields-8.17.0.csv"))
	if err != nil {
		t.Fatal(err)
	}
	l := ecsList{map[string]string{}, map[string]bool{}}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, ",")
		l.types[f[0]] = f[1]
		l.namespaces[strings.Split(f[0], ".")[0]] = true
	}
	return l
}

// -es-index-time ingest names the index from the clock, not the document.
func TestIndexTimeIngest(t *testing.T) {
	n, _ := newIndexNamer("ntlm-%Y.%m.%d")
	n.ingest = true
	if got, want := n.name(docOf(1)), "ntlm-"+time.Now().UTC().Format("2006.01.02"); got != want {
		t.Errorf("ingest: %s, want %s", got, want)
	}
	cfg := Defaults()
	cfg.URLs = []string{"http://127.0.0.1:9200"}
	cfg.IndexTime = "wallclock"
	if cfg.Validate() == nil {
		t.Error("-es-index-time wallclock accepted")
	}
}
