package findings_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/audit/audittest"
)

// ecsTypes reads the ECS 8.17.0 field list: field → type, and the
// namespaces (first name parts) ECS defines.
func ecsTypes(t testing.TB) (map[string]string, map[string]bool) {
	b, err := os.ReadFile("testdata/ecs-fields-8.17.0.csv")
	if err != nil {
		t.Fatal(err)
	}
	types, ns := map[string]string{}, map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, ",")
		types[f[0]] = f[1]
		ns[strings.Split(f[0], ".")[0]] = true
	}
	return types, ns
}

// ecsFits: a JSON value is of the ECS type (arrays: every element).
func ecsFits(typ string, v any) bool {
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if !ecsFits(typ, e) {
				return false
			}
		}
		return true
	}
	switch typ {
	case "keyword", "constant_keyword", "wildcard", "match_only_text", "ip", "date":
		_, ok := v.(string)
		return ok
	case "long":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "float", "scaled_float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

// checkECS checks every leaf of one document: an ECS name has its ECS type;
// any other name sits under a namespace ECS does not define. It returns the
// leaves' paths.
func checkECS(t testing.TB, doc []byte, types map[string]string, ns map[string]bool) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if o, ok := v.(map[string]any); ok {
			for k, e := range o {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, e)
			}
			return
		}
		paths = append(paths, prefix)
		if typ, ok := types[prefix]; ok {
			if !ecsFits(typ, v) {
				t.Errorf("%s = %v is not an ECS %s (%s)", prefix, v, typ, doc)
			}
		} else if ns[strings.Split(prefix, ".")[0]] {
			t.Errorf("%s is not an ECS field but sits in the ECS namespace %s (%s)", prefix, strings.Split(prefix, ".")[0], doc)
		}
	}
	walk("", m)
	return paths
}

// Every field of every document the sensor writes over all bundled
// captures follows ECS 8.17.0: findings, inventory rows and alerts, as the
// binary writes them with its defaults (audit stage, detection on).
func TestDocumentsFollowECS(t *testing.T) {
	types, ns := ecsTypes(t)
	seen := map[string]map[string]bool{} // event.kind → fields
	n := map[string]int{}
	for _, p := range audittest.Captures(t) {
		for _, d := range audittest.Documents(t, p) {
			k := audittest.Kind(d)
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			for _, f := range checkECS(t, d.AppendJSON(nil), types, ns) {
				seen[k][f] = true
			}
			n[k]++
		}
	}
	// findings, inventory rows, and the alerts audit/detect/detect_test.go
	// lists (wantAlerts: 23 over 18 captures)
	if n["event"] < 400 || n["state"] < 100 || n["alert"] != 23 {
		t.Fatalf("documents checked: %v", n)
	}
	// the ECS fields this sensor promises appear on real traffic, in each kind
	common := []string{"@timestamp", "ecs.version", "event.kind", "event.module", "event.dataset", "event.severity", "event.risk_score",
		"observer.name", "observer.type", "related.user", "related.ip", "related.hosts", "source.ip", "destination.ip"}
	want := map[string][]string{
		"event": append(slices.Clip(common), "event.type", "event.action", "source.domain", "destination.domain",
			"kerberos.etype_names", "kerberos.ticket_etype_name"),
		"state": append(slices.Clip(common), "destination.domain", "destination.port", "network.protocol", "user.name",
			"inventory.count", "inventory.signed", "inventory.removed_by", "inventory.first_seen", "kerberos.ticket_etype_name"),
		"alert": append(slices.Clip(common), "message", "rule.id", "rule.name", "rule.description",
			"threat.framework", "threat.technique.id", "threat.technique.name", "ntlmsensor.community_ids"),
	}
	for k, fields := range want {
		for _, f := range fields {
			if !seen[k][f] {
				t.Errorf("no %s document over the captures has %s", k, f)
			}
		}
	}
	t.Logf("documents %v; distinct fields: %d findings, %d rows, %d alerts", n, len(seen["event"]), len(seen["state"]), len(seen["alert"]))
}

// The checker refuses what it must.
func TestECSCheckerRefuses(t *testing.T) {
	types, ns := ecsTypes(t)
	for _, doc := range []string{
		`{"event":{"severity":"high"}}`,        // ECS long
		`{"event":{"flags":["x"]}}`,            // not ECS, in the event namespace
		`{"related":{"ip":[1]}}`,               // ECS ip
		`{"source":{"hostname":"x"}}`,          // source.domain is ECS, source.hostname is not
		`{"observer":{"type":{"x":"sensor"}}}`, // observer.type.x
	} {
		var errs int
		rec := &recorder{TB: t, errs: &errs}
		checkECS(rec, []byte(doc), types, ns)
		if errs == 0 {
			t.Errorf("%s accepted", doc)
		}
	}
}

type recorder struct {
	testing.TB
	errs *int
}

func (r *recorder) Errorf(string, ...any) { *r.errs++ }
func (r *recorder) Helper()               {}
