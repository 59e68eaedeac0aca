package elasticsearch

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
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
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "keyword":
		_, ok := v.(string)
		return ok
	}
	return false
}

func fieldTypes() map[string]string {
	m := map[string]string{}
	for _, f := range Fields {
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
		`"source":{"properties":{"ip":{"type":"ip"}`,
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

// Every finding of every bundled capture fits the template.
func TestTemplateFitsAllCaptures(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "pcaps")
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			return err
		}
		src, err := capture.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		cfg.Observer = "t"
		cfg.Emit = func(f *findings.Finding) { checkTyped(t, f.AppendJSON(nil)); n++ }
		pl := sensor.NewPipeline(cfg, 1, nil)
		pl.ReadSource(src)
		pl.Close()
		return nil
	})
	if n < 300 {
		t.Fatalf("only %d findings checked", n)
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

// es-setup installs a composable template: PUT _index_template/NAME with the
// index pattern, a priority above the built-in logs-*-*, and the mappings.
func TestSetup(t *testing.T) {
	es := newFakeES(t)
	cfg := testConfig(t, es.URL)
	if err := Setup(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.DataStream = "logs-ntlmsensor-default"
	cfg.Template = "ntlmsensor-ds"
	if err := Setup(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	var idx, ds struct {
		IndexPatterns []string        `json:"index_patterns"`
		Priority      int             `json:"priority"`
		DataStream    *map[string]any `json:"data_stream"`
		Template      struct {
			Mappings map[string]any `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(es.templates["ntlmsensor"], &idx); err != nil {
		t.Fatalf("%v: %s", err, es.templates["ntlmsensor"])
	}
	if err := json.Unmarshal(es.templates["ntlmsensor-ds"], &ds); err != nil {
		t.Fatal(err)
	}
	if len(idx.IndexPatterns) != 1 || idx.IndexPatterns[0] != "ntlmsensor-*" || idx.DataStream != nil || idx.Priority <= 100 || idx.Template.Mappings["properties"] == nil {
		t.Fatalf("index template %+v", idx)
	}
	if ds.IndexPatterns[0] != "logs-ntlmsensor-default" || ds.DataStream == nil {
		t.Fatalf("data stream template %+v", ds)
	}
	// refused: the error names the reason
	es.Close()
	cfg.URLs = []string{es.URL}
	cfg.Timeout = time.Second
	if err := Setup(context.Background(), cfg); err == nil {
		t.Fatal("no error with the server gone")
	}
}
