package kibana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/sinks/elasticsearch"
)

// Every field the saved objects name (the data view's time field, the
// searches' columns, sort fields and KQL queries) is a field of the index
// template, and every reference resolves inside the file.
func TestObjectsReferenceTemplateFields(t *testing.T) {
	fields := map[string]bool{}
	for _, f := range append(slices.Clip(elasticsearch.Fields), elasticsearch.OtherFields...) {
		fields[f.Path] = true
	}
	check := func(where, f string) {
		if !fields[f] {
			t.Errorf("%s: field %s is not in the index template", where, f)
		}
	}
	kqlField := regexp.MustCompile(`([@a-z_][a-z_.]*)\s*:`)
	ids := map[string]bool{}
	type object struct {
		Type, ID   string
		Attributes map[string]any
		References []struct{ Type, ID, Name string }
	}
	var objs []object
	sc := bufio.NewScanner(bytes.NewReader(Objects))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o object
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		ids[o.Type+"/"+o.ID] = true
		objs = append(objs, o)
	}
	n := 0
	for _, o := range objs {
		where := o.Type + " " + o.ID
		for _, r := range o.References {
			if !ids[r.Type+"/"+r.ID] {
				t.Errorf("%s: reference %s/%s not in the file", where, r.Type, r.ID)
			}
		}
		a := o.Attributes
		switch o.Type {
		case "index-pattern":
			check(where, a["timeFieldName"].(string))
			if a["title"] != "ntlmsensor-*,logs-ntlmsensor-*" {
				t.Errorf("data view %v: not the default index and data stream", a["title"])
			}
		case "search":
			for _, c := range a["columns"].([]any) {
				check(where, c.(string))
				n++
			}
			for _, s := range a["sort"].([]any) {
				check(where, s.([]any)[0].(string))
			}
			var src struct {
				Query struct{ Query, Language string }
			}
			meta := a["kibanaSavedObjectMeta"].(map[string]any)
			if err := json.Unmarshal([]byte(meta["searchSourceJSON"].(string)), &src); err != nil {
				t.Fatal(err)
			}
			if src.Query.Language != "kuery" {
				t.Errorf("%s: query language %s", where, src.Query.Language)
			}
			for _, m := range kqlField.FindAllStringSubmatch(src.Query.Query, -1) {
				check(where, m[1])
				n++
			}
		case "dashboard":
			var panels []struct{ PanelRefName string }
			json.Unmarshal([]byte(a["panelsJSON"].(string)), &panels)
			for _, p := range panels {
				found := false
				for _, r := range o.References {
					found = found || strings.HasSuffix(r.Name, ":"+p.PanelRefName)
				}
				if !found {
					t.Errorf("%s: panel %s has no reference", where, p.PanelRefName)
				}
			}
			if len(panels) != 5 {
				t.Errorf("%d panels", len(panels))
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d field names checked", n)
	}
}
