package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"ntlmsensor/deploy/kibana"
	"ntlmsensor/sinks/elasticsearch"
)

// Credentials for Kibana, as for Elasticsearch: environment or files, never
// the command line.
const (
	envKibanaAPIKey   = "NTLMSENSOR_KIBANA_API_KEY"
	envKibanaUser     = "NTLMSENSOR_KIBANA_USER"
	envKibanaPassword = "NTLMSENSOR_KIBANA_PASSWORD"
)

type kibanaOptions struct {
	url, space, dataView, objects      string
	apiKeyFile, user, passwordFile, ca string
	insecure                           bool
	timeout                            time.Duration
	warn                               io.Writer // where a too readable secret file is said
}

// kibanaSetupFlags defines the options of kibana-setup (also read by gen-man).
func kibanaSetupFlags(stderr io.Writer) (*flag.FlagSet, *kibanaOptions) {
	o := &kibanaOptions{}
	fs := flag.NewFlagSet("ntlmsensor kibana-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "kibana", "", "Kibana URL, e.g. https://kibana:5601 (with its base path, if any)")
	fs.StringVar(&o.space, "kibana-space", "", "Kibana space id to load the objects into (default: the default space)")
	fs.StringVar(&o.dataView, "kibana-data-view", "", "index pattern of the data view (default ntlmsensor-*,logs-ntlmsensor-*: the default -es-index and data stream)")
	fs.StringVar(&o.objects, "kibana-objects", "", "NDJSON file of saved objects to load instead of the built-in ones (deploy/kibana/ntlmsensor.ndjson)")
	fs.StringVar(&o.apiKeyFile, "kibana-api-key-file", "", "file holding a Kibana/Elasticsearch API key, base64 id:key (or set "+envKibanaAPIKey+")")
	fs.StringVar(&o.user, "kibana-user", "", "basic-auth user (or set "+envKibanaUser+"); the password from -kibana-password-file or "+envKibanaPassword)
	fs.StringVar(&o.passwordFile, "kibana-password-file", "", "file holding the basic-auth password")
	fs.StringVar(&o.ca, "kibana-ca", "", "PEM file of the CA certificate(s) that signed Kibana's certificate")
	fs.BoolVar(&o.insecure, "kibana-insecure", false, "do not verify Kibana's TLS certificate (testing only)")
	fs.DurationVar(&o.timeout, "kibana-timeout", 30*time.Second, "time allowed for the import request")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor kibana-setup -kibana URL [-kibana-space ID] [-kibana-data-view PATTERN] [credential and TLS options]\n\n")
		fs.PrintDefaults()
	}
	return fs, o
}

// kibanaSetup loads the saved objects through Kibana's import API.
func kibanaSetup(args []string, stdout, stderr io.Writer) int {
	fs, o := kibanaSetupFlags(stderr)
	o.warn = stderr
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.url == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	n, err := importSavedObjects(context.Background(), o)
	if err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: kibana: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d Kibana saved objects loaded (data view, searches, dashboard \"ntlmsensor: NTLM inventory\")\n", n)
	return 0
}

// savedObjects is the NDJSON to import: the built-in objects or
// -kibana-objects, with the data view's pattern replaced by
// -kibana-data-view.
func savedObjects(o *kibanaOptions) ([]byte, error) {
	data := kibana.Objects
	if o.objects != "" {
		var err error
		if data, err = os.ReadFile(o.objects); err != nil {
			return nil, err
		}
	}
	if o.dataView == "" {
		return data, nil
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("saved objects: %w", err)
		}
		if obj["type"] == "index-pattern" {
			attrs, _ := obj["attributes"].(map[string]any)
			if attrs != nil {
				attrs["title"] = o.dataView
			}
			b, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			line = b
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes(), sc.Err()
}

// importResult is the answer of the import API.
type importResult struct {
	Success      bool `json:"success"`
	SuccessCount int  `json:"successCount"`
	Errors       []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"errors"`
}

// importSavedObjects sends POST [/s/SPACE]/api/saved_objects/_import
// ?overwrite=true, a multipart/form-data body whose part "file" is the
// NDJSON, with the kbn-xsrf header the API requires.
// https://www.elastic.co/guide/en/kibana/8.17/saved-objects-api-import.html
func importSavedObjects(ctx context.Context, o *kibanaOptions) (int, error) {
	base, err := url.Parse(o.url)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return 0, fmt.Errorf("bad URL %q (want http(s)://host:5601[/base-path])", o.url)
	}
	if base.User != nil {
		return 0, fmt.Errorf("URL %q carries credentials: use %s/%s or a file", base.Redacted(), envKibanaUser, envKibanaPassword)
	}
	data, err := savedObjects(o)
	if err != nil {
		return 0, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="ntlmsensor.ndjson"`)
	h.Set("Content-Type", "application/ndjson")
	part, _ := mw.CreatePart(h)
	part.Write(data)
	mw.Close()

	path := strings.TrimSuffix(base.Path, "/")
	if o.space != "" && o.space != "default" {
		path += "/s/" + url.PathEscape(o.space)
	}
	u := *base
	u.Path = path + "/api/saved_objects/_import"
	u.RawQuery = "overwrite=true"
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("kbn-xsrf", "true")
	if err := o.authorize(req); err != nil {
		return 0, err
	}
	client, err := o.httpClient()
	if err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST %s: HTTP %d: %s", u.Path, res.StatusCode, bytes.TrimSpace(answer))
	}
	var r importResult
	if err := json.Unmarshal(answer, &r); err != nil {
		return 0, fmt.Errorf("unreadable answer: %v", err)
	}
	if !r.Success || len(r.Errors) > 0 {
		var msgs []string
		for _, e := range r.Errors {
			msgs = append(msgs, fmt.Sprintf("%s %s: %s %s", e.Type, e.ID, e.Error.Type, e.Error.Message))
		}
		return r.SuccessCount, fmt.Errorf("%d imported, %d refused: %s", r.SuccessCount, len(r.Errors), strings.Join(msgs, "; "))
	}
	return r.SuccessCount, nil
}

func (o *kibanaOptions) authorize(req *http.Request) error {
	key := os.Getenv(envKibanaAPIKey)
	if o.apiKeyFile != "" {
		var err error
		if key, err = o.readSecret(o.apiKeyFile); err != nil {
			return err
		}
	}
	user := o.user
	if user == "" {
		user = os.Getenv(envKibanaUser)
	}
	password := os.Getenv(envKibanaPassword)
	if o.passwordFile != "" {
		var err error
		if password, err = o.readSecret(o.passwordFile); err != nil {
			return err
		}
	}
	// kept out of every message, as the Elasticsearch credentials are
	elasticsearch.Secrets.Add(key, password)
	switch {
	case key != "" && user != "":
		return errors.New("both an API key and a user are set; give one")
	case key != "":
		req.Header.Set("Authorization", "ApiKey "+key)
	case user != "" && password != "":
		req.SetBasicAuth(user, password)
	case user != "" || password != "":
		return fmt.Errorf("basic auth needs a user (-kibana-user or %s) and a password (-kibana-password-file or %s)", envKibanaUser, envKibanaPassword)
	}
	return nil
}

func (o *kibanaOptions) httpClient() (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure} //nolint:gosec // explicit opt-in flag
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", o.ca)
		}
		tc.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc}}, nil
}

// readSecret reads a credential file; one its group or others can read is
// used, with a warning, as for the Elasticsearch credentials.
func (o *kibanaOptions) readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 && o.warn != nil {
		fmt.Fprintf(o.warn, "ntlmsensor: warning: %s holds a credential and is readable by its group or others (mode %04o): chmod 600 it\n", path, st.Mode().Perm())
	}
	return strings.TrimSpace(string(b)), nil
}
