package elasticsearch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// The requests es-setup sends, checked as Elasticsearch documents them, so
// that the fake server refuses what a real one would refuse:
//   - PUT _ilm/policy/NAME:
//     https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-put-lifecycle.html,
//     phases and their actions:
//     https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-index-lifecycle.html,
//     rollover conditions:
//     https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-rollover.html
//   - PUT _index_template/NAME:
//     https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-put-template.html,
//     mapping types:
//     https://www.elastic.co/guide/en/elasticsearch/reference/8.17/mapping-types.html

var (
	esTimeUnit = regexp.MustCompile(`^[0-9]+(d|h|m|s|ms|micros|nanos)$`)
	esByteSize = regexp.MustCompile(`^[0-9]+(b|kb|mb|gb|tb|pb)$`)
	// actions each phase allows (ilm-index-lifecycle.html, "Phase actions")
	ilmActions = map[string][]string{
		"hot":    {"set_priority", "unfollow", "rollover", "read_only", "downsample", "shrink", "forcemerge", "searchable_snapshot"},
		"warm":   {"set_priority", "unfollow", "read_only", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
		"cold":   {"set_priority", "unfollow", "read_only", "downsample", "searchable_snapshot", "allocate", "migrate"},
		"frozen": {"unfollow", "searchable_snapshot"},
		"delete": {"wait_for_snapshot", "delete"},
	}
	phaseOrder       = []string{"hot", "warm", "cold", "frozen", "delete"}
	rolloverCriteria = []string{"max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs", "min_age", "min_docs", "min_size", "min_primary_shard_size", "min_primary_shard_docs"}
	templateKeys     = []string{"index_patterns", "composed_of", "priority", "template", "version", "_meta", "data_stream", "allow_auto_create", "ignore_missing_component_templates", "deprecated"}
	mappingTypes     = []string{"binary", "boolean", "keyword", "constant_keyword", "wildcard", "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long", "date", "date_nanos", "object", "flattened", "nested", "ip", "text", "match_only_text", "geo_point"}
	builtinTemplates = []string{"logs@mappings", "logs@settings", "ecs@mappings"} // present in Elasticsearch 8.13+
)

func checkSetupRequest(r *http.Request, body []byte, policies map[string][]byte) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/vnd.elasticsearch+json") {
		return fmt.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/_ilm/policy/"); ok {
		if name == "" {
			return fmt.Errorf("no policy name")
		}
		return checkPolicy(m)
	}
	return checkTemplate(m, policies)
}

func checkPolicy(m map[string]any) error {
	for k := range m {
		if k != "policy" {
			return fmt.Errorf("unknown key [%s]", k)
		}
	}
	p, ok := m["policy"].(map[string]any)
	if !ok {
		return fmt.Errorf("no policy object")
	}
	for k := range p {
		if k != "phases" && k != "_meta" {
			return fmt.Errorf("policy: unknown key [%s]", k)
		}
	}
	phases, ok := p["phases"].(map[string]any)
	if !ok || len(phases) == 0 {
		return fmt.Errorf("policy has no phases")
	}
	last := -1
	for _, name := range phaseOrder {
		v, ok := phases[name]
		if !ok {
			continue
		}
		ph, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("phase %s not an object", name)
		}
		for k := range ph {
			if k != "min_age" && k != "actions" {
				return fmt.Errorf("phase %s: unknown key [%s]", name, k)
			}
		}
		if a, ok := ph["min_age"]; ok {
			s, _ := a.(string)
			if !esTimeUnit.MatchString(s) {
				return fmt.Errorf("phase %s: min_age %v is not a time value", name, a)
			}
			if d := days(s); d < last {
				return fmt.Errorf("phase %s: min_age %s before the previous phase's", name, s)
			} else {
				last = d
			}
		}
		acts, ok := ph["actions"].(map[string]any)
		if !ok {
			return fmt.Errorf("phase %s: no actions", name)
		}
		for a, cfg := range acts {
			if !slices.Contains(ilmActions[name], a) {
				return fmt.Errorf("phase %s: action [%s] not allowed", name, a)
			}
			if a == "rollover" {
				c, _ := cfg.(map[string]any)
				n := 0
				for k, v := range c {
					if !slices.Contains(rolloverCriteria, k) {
						return fmt.Errorf("rollover: unknown condition [%s]", k)
					}
					s, _ := v.(string)
					if (strings.HasSuffix(k, "_age") && !esTimeUnit.MatchString(s)) || (strings.HasSuffix(k, "size") && !esByteSize.MatchString(s)) {
						return fmt.Errorf("rollover: %s = %v", k, v)
					}
					n++
				}
				if n == 0 {
					return fmt.Errorf("rollover needs a max_* condition")
				}
			}
		}
	}
	for name := range phases {
		if !slices.Contains(phaseOrder, name) {
			return fmt.Errorf("unknown phase [%s]", name)
		}
	}
	return nil
}

// days: a time value in whole days, rounded down (enough to order phases).
func days(s string) int {
	var n int
	var u string
	fmt.Sscanf(s, "%d%s", &n, &u)
	switch u {
	case "d":
		return n
	case "h":
		return n / 24
	}
	return 0
}

func checkTemplate(m map[string]any, policies map[string][]byte) error {
	for k := range m {
		if !slices.Contains(templateKeys, k) {
			return fmt.Errorf("unknown key [%s] in the index template", k)
		}
	}
	pats, ok := m["index_patterns"].([]any)
	if !ok || len(pats) == 0 {
		return fmt.Errorf("index_patterns is required")
	}
	for _, p := range pats {
		s, _ := p.(string)
		if s == "" || s != strings.ToLower(s) || strings.ContainsAny(s, ` ,"\/<>|#:`) {
			return fmt.Errorf("invalid index pattern %v", p)
		}
		// this template wins over the built-in logs-*-* (priority 100):
		// it must match nothing but its own data
		if s == "*" || s == "logs-*" || s == "logs-*-*" {
			return fmt.Errorf("pattern %s would take over other data", s)
		}
	}
	if p, ok := m["priority"]; ok {
		n, ok := p.(float64)
		if !ok || n < 0 || n != float64(int64(n)) {
			return fmt.Errorf("priority %v", p)
		}
		if n == 100 {
			return fmt.Errorf("priority 100 collides with the built-in logs-*-* template")
		}
	}
	ignore := strSlice(m["ignore_missing_component_templates"])
	for _, c := range strSlice(m["composed_of"]) {
		if !slices.Contains(ignore, c) && !slices.Contains(builtinTemplates, c) {
			return fmt.Errorf("composable template [%s] not found", c)
		}
	}
	t, _ := m["template"].(map[string]any)
	for k := range t {
		if !slices.Contains([]string{"aliases", "mappings", "settings", "lifecycle"}, k) {
			return fmt.Errorf("template: unknown key [%s]", k)
		}
	}
	if st, ok := t["settings"].(map[string]any); ok {
		idx, _ := st["index"].(map[string]any)
		if c, ok := idx["codec"]; ok && c != "default" && c != "best_compression" {
			return fmt.Errorf("unknown codec %v", c)
		}
		if lc, ok := idx["lifecycle"].(map[string]any); ok {
			name, _ := lc["name"].(string)
			if _, known := policies[name]; !known {
				return fmt.Errorf("index.lifecycle.name [%s]: no such policy was installed before the template", name)
			}
		}
	}
	mp, _ := t["mappings"].(map[string]any)
	if err := checkProperties("", mp); err != nil {
		return err
	}
	if _, ok := m["data_stream"]; ok {
		// a data stream's template must map @timestamp as a date
		props, _ := mp["properties"].(map[string]any)
		ts, _ := props["@timestamp"].(map[string]any)
		if ts["type"] != "date" && ts["type"] != "date_nanos" {
			return fmt.Errorf("data stream template without a date @timestamp")
		}
	}
	return nil
}

func checkProperties(prefix string, m map[string]any) error {
	props, ok := m["properties"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no properties", prefix)
	}
	for name, v := range props {
		f, _ := v.(map[string]any)
		if sub, ok := f["properties"]; ok {
			if err := checkProperties(prefix+name+".", map[string]any{"properties": sub}); err != nil {
				return err
			}
			continue
		}
		typ, _ := f["type"].(string)
		if !slices.Contains(mappingTypes, typ) {
			return fmt.Errorf("field %s%s: unknown type [%v]", prefix, name, f["type"])
		}
		if ia, ok := f["ignore_above"]; ok && typ != "keyword" {
			return fmt.Errorf("field %s%s: ignore_above on %s", prefix, name, typ)
		} else if ok {
			if n, _ := ia.(float64); n <= 0 {
				return fmt.Errorf("field %s%s: ignore_above %v", prefix, name, ia)
			}
		}
	}
	return nil
}

func strSlice(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
