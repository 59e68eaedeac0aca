package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ntlmsensor/deploy/kibana"
)

// fakeKibana checks an import request as Kibana's saved objects import API
// documents it (https://www.elastic.co/guide/en/kibana/8.17/saved-objects-api-import.html,
// https://www.elastic.co/docs/api/doc/kibana/v8/operation/operation-importsavedobjectsdefault):
// POST [/s/SPACE]/api/saved_objects/_import, the kbn-xsrf header,
// overwrite and createNewCopies not together, a multipart/form-data body
// whose part "file" is an .ndjson file of saved objects (type, id,
// attributes, references); it answers as Kibana does, 400 with
// {"statusCode","error","message"} when the request is wrong.
type fakeKibana struct {
	*httptest.Server
	mu      sync.Mutex
	path    string
	auth    string
	objects []map[string]any
}

func newFakeKibana(t *testing.T) *fakeKibana {
	k := &fakeKibana{}
	k.Server = httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.Close)
	return k
}

func (k *fakeKibana) serve(w http.ResponseWriter, r *http.Request) {
	objs, err := checkImport(r)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"statusCode":400,"error":"Bad Request","message":%q}`, err.Error())
		return
	}
	k.mu.Lock()
	k.path, k.auth, k.objects = r.URL.Path, r.Header.Get("Authorization"), objs
	k.mu.Unlock()
	var results []string
	for _, o := range objs {
		results = append(results, fmt.Sprintf(`{"type":%q,"id":%q,"meta":{}}`, o["type"], o["id"]))
	}
	fmt.Fprintf(w, `{"success":true,"successCount":%d,"successResults":[%s],"warnings":[]}`, len(objs), strings.Join(results, ","))
}

func checkImport(r *http.Request) ([]map[string]any, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s", r.Method)
	}
	p := r.URL.Path
	if i := strings.Index(p, "/s/"); i >= 0 {
		rest := p[i+3:]
		space, tail, _ := strings.Cut(rest, "/")
		if space == "" {
			return nil, fmt.Errorf("empty space id")
		}
		p = p[:i] + "/" + tail
	}
	if !strings.HasSuffix(p, "/api/saved_objects/_import") {
		return nil, fmt.Errorf("path %s", r.URL.Path)
	}
	if r.Header.Get("kbn-xsrf") == "" {
		return nil, fmt.Errorf("Request must contain a kbn-xsrf header.")
	}
	q := r.URL.Query()
	if q.Get("overwrite") == "true" && q.Get("createNewCopies") == "true" {
		return nil, fmt.Errorf("[request query]: cannot use [overwrite] with [createNewCopies]")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, fmt.Errorf("Unsupported Media Type %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var file []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if part.FormName() != "file" {
			return nil, fmt.Errorf("unexpected form field %q", part.FormName())
		}
		if !strings.HasSuffix(part.FileName(), ".ndjson") {
			return nil, fmt.Errorf("Invalid file extension %s", filepath.Ext(part.FileName()))
		}
		file, _ = io.ReadAll(part)
	}
	if file == nil {
		return nil, fmt.Errorf("[request body.file]: expected value of type [Stream]")
	}
	var objs []map[string]any
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(file))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			return nil, fmt.Errorf("Unexpected token in JSON: %v", err)
		}
		typ, _ := o["type"].(string)
		id, _ := o["id"].(string)
		if _, ok := o["attributes"].(map[string]any); !ok || typ == "" || id == "" {
			return nil, fmt.Errorf("object without type, id or attributes: %s", sc.Bytes())
		}
		ids[typ+"/"+id] = true
		objs = append(objs, o)
	}
	// a reference to an object neither imported nor present is a
	// missing_references error in Kibana: every reference must resolve here
	for _, o := range objs {
		refs, _ := o["references"].([]any)
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			if !ids[fmt.Sprint(ref["type"], "/", ref["id"])] {
				return nil, fmt.Errorf("%s %s: missing reference %v", o["type"], o["id"], ref)
			}
		}
	}
	return objs, nil
}

// kibana-setup loads the shipped objects into Kibana's import API, as the
// fake checks it; the space, the data view pattern and the credentials go
// where the API documents them.
func TestKibanaSetup(t *testing.T) {
	k := newFakeKibana(t)
	var out, errb bytes.Buffer
	t.Setenv(envKibanaAPIKey, "a2V5OnNlY3JldA==")
	if st := run([]string{"kibana-setup", "-kibana", k.URL + "/kb/", "-kibana-space", "sec", "-kibana-data-view", "logs-ntlmsensor-*"}, &out, &errb); st != 0 {
		t.Fatalf("status %d: %s", st, errb.String())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.path != "/kb/s/sec/api/saved_objects/_import" || k.auth != "ApiKey a2V5OnNlY3JldA==" {
		t.Errorf("path %s, auth %q", k.path, k.auth)
	}
	types := map[string]int{}
	for _, o := range k.objects {
		types[o["type"].(string)]++
		if o["type"] == "index-pattern" && o["attributes"].(map[string]any)["title"] != "logs-ntlmsensor-*" {
			t.Errorf("data view title %v", o["attributes"])
		}
	}
	if types["index-pattern"] != 1 || types["search"] != 5 || types["dashboard"] != 1 {
		t.Errorf("objects %v", types)
	}
	if !strings.Contains(out.String(), "7 Kibana saved objects loaded") {
		t.Errorf("stdout %q", out.String())
	}
}

// Kibana's refusals reach the user, and the checker refuses what Kibana
// refuses (no kbn-xsrf; a dangling reference).
func TestKibanaSetupRefused(t *testing.T) {
	k := newFakeKibana(t)
	req, _ := http.NewRequest(http.MethodPost, k.URL+"/api/saved_objects/_import", strings.NewReader(""))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("no kbn-xsrf: %d", res.StatusCode)
	}
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(bad, []byte(`{"type":"search","id":"s","attributes":{"title":"x"},"references":[{"type":"index-pattern","id":"gone","name":"kibanaSavedObjectMeta.searchSourceJSON.index"}]}`+"\n"), 0o644)
	var out, errb bytes.Buffer
	if st := run([]string{"kibana-setup", "-kibana", k.URL, "-kibana-objects", bad}, &out, &errb); st != 1 || !strings.Contains(errb.String(), "missing reference") {
		t.Errorf("status %d, stderr %q", st, errb.String())
	}
	if st := run([]string{"kibana-setup"}, &out, &errb); st != 2 {
		t.Errorf("no -kibana: status %d", st)
	}
	if len(kibana.Objects) == 0 {
		t.Fatal("no embedded objects")
	}
}

// A password file others can read is used with a warning, and the password
// stays out of stderr even when the server's refusal echoes the request's
// Authorization header back.
func TestKibanaSecretFile(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"statusCode":401,"error":"Unauthorized","message":"bad credentials: %s"}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	pw := filepath.Join(t.TempDir(), "kibana.pw")
	if err := os.WriteFile(pw, []byte("Kib4na!Secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	st := run([]string{"kibana-setup", "-kibana", echo.URL, "-kibana-user", "elastic", "-kibana-password-file", pw}, &out, &errb)
	basic := base64.StdEncoding.EncodeToString([]byte("elastic:Kib4na!Secret"))
	if st != 1 || !strings.Contains(errb.String(), "readable by its group or others") || !strings.Contains(errb.String(), "HTTP 401") ||
		!strings.Contains(errb.String(), "[redacted]") ||
		strings.Contains(errb.String(), "Kib4na!Secret") || strings.Contains(errb.String(), basic) {
		t.Errorf("status %d, stderr %q", st, errb.String())
	}
}
