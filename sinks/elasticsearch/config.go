// Package elasticsearch ships findings to Elasticsearch 8.x with the official
// client's bulk indexer (github.com/elastic/go-elasticsearch/v8/esutil).
//
// Every finding is sent as the exact document findings.Finding.AppendJSON writes.
// Delivery is at least once: a request is retried with backoff on 429 (its
// Retry-After honoured), 5xx, connection errors and unreadable answers; an
// item the server rejects for its content goes to a dead-letter file with the
// reason; while no node answers, findings go to a bounded on-disk spool that
// is delivered, oldest first, when a node answers again (also by the next run).
package elasticsearch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// Environment variables holding credentials (never on the command line).
const (
	EnvAPIKey   = "NTLMSENSOR_ES_API_KEY"
	EnvUser     = "NTLMSENSOR_ES_USER"
	EnvPassword = "NTLMSENSOR_ES_PASSWORD"
)

// Config of the Elasticsearch sink. AddFlags binds it to command-line flags.
type Config struct {
	URLs []string // node URLs, e.g. https://es1:9200 (several: requests rotate)

	APIKeyFile   string // file holding the API key (base64 "id:key", as ES returns it)
	User         string // basic auth user (or NTLMSENSOR_ES_USER)
	PasswordFile string // file holding the basic auth password (or NTLMSENSOR_ES_PASSWORD)

	CAFile             string // PEM CA certificate(s) to trust
	CertFile, KeyFile  string // client certificate (mutual TLS)
	InsecureSkipVerify bool   // do not verify the server certificate (tests only)

	Index      string   // index name; %Y %m %d %H are taken from the finding's @timestamp (UTC)
	DataStream string   // data stream name (instead of Index); documents are created in it
	Headers    []string // extra request headers, "Name: value"
	Template   string   // index template name (es-setup); also the ILM policy's
	IndexTime  string   // "capture": %Y %m %d %H from the document's @timestamp; "ingest": from the clock
	ILM        bool     // es-setup installs the ILM policy and the template names it
	Retention  string   // ILM: delete this long after rollover (data stream) or creation (index), e.g. 90d

	Gzip          bool          // gzip request bodies
	FlushBytes    int           // a bulk request is sent when it reaches this size
	FlushInterval time.Duration // ... or when its oldest finding is this old
	Workers       int           // bulk requests in flight at once
	BufferBytes   int           // findings waiting in memory for the bulk workers, at most
	Retries       int           // retries of a failed request (or of the items it failed) before spooling
	Timeout       time.Duration // per request attempt
	DrainTimeout  time.Duration // Close: time to deliver what is buffered before spooling it

	Spool         string // spool directory ("" for none)
	SpoolMaxBytes int64  // spool size limit
	DeadLetter    string // dead-letter file ("" : SPOOL/dead-letter.jsonl, or stderr without a spool)

	// Set by programs and tests, not by flags.
	Getenv     func(string) string              // nil: os.Getenv
	Logf       func(format string, args ...any) // error messages; nil: to stderr
	DLQWriter  io.Writer                        // dead letters when there is no file (nil: stderr)
	BackoffMin time.Duration                    // first retry delay (default 500ms)
	BackoffMax time.Duration                    // longest delay between attempts (default 30s)
	RetryAfter time.Duration                    // longest Retry-After honoured (default 5m)
	Transport  http.RoundTripper                // nil: built from the TLS options
}

// Defaults returns the configuration the flags start from.
func Defaults() Config {
	return Config{
		Index:         "ntlmsensor-%Y.%m.%d",
		Template:      "ntlmsensor",
		IndexTime:     "capture",
		ILM:           true,
		Retention:     "90d",
		Gzip:          true,
		FlushBytes:    1 << 20,
		FlushInterval: 5 * time.Second,
		Workers:       2,
		BufferBytes:   16 << 20,
		Retries:       5,
		Timeout:       30 * time.Second,
		DrainTimeout:  30 * time.Second,
		SpoolMaxBytes: 1 << 30,
	}
}

type listFlag struct{ l *[]string }

func (f listFlag) String() string {
	if f.l == nil {
		return ""
	}
	return strings.Join(*f.l, ",")
}
func (f listFlag) Set(v string) error { *f.l = append(*f.l, v); return nil }

type sizeFlag struct{ v *int64 }

func (f sizeFlag) String() string {
	if f.v == nil {
		return "0"
	}
	return fmt.Sprint(*f.v)
}
func (f sizeFlag) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*f.v = n
	return nil
}

type intSizeFlag struct{ v *int }

func (f intSizeFlag) String() string {
	if f.v == nil {
		return "0"
	}
	return fmt.Sprint(*f.v)
}
func (f intSizeFlag) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	if n > 1<<40 {
		return errors.New("too large")
	}
	*f.v = int(n)
	return nil
}

// ParseSize reads a byte count: 1048576, 512KiB, 16MiB, 1GiB (also K, M, G,
// KB, MB, GB as powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	up := strings.ToUpper(t)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(up, u.suf) {
			mult, t = u.m, strings.TrimSpace(t[:len(t)-len(u.suf)])
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("bad size %q", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mult, nil
}

// AddFlags registers the sink's flags on fs, filling c (start from Defaults).
// Credentials have no flag holding the secret: only files and environment.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.Var(listFlag{&c.URLs}, "es", "send findings to this Elasticsearch node URL (repeatable: several nodes of one cluster)")
	fs.StringVar(&c.Index, "es-index", c.Index, "Elasticsearch index; %Y %m %d %H come from the finding's @timestamp (UTC)")
	fs.StringVar(&c.DataStream, "es-data-stream", c.DataStream, "write to this data stream instead of -es-index (e.g. logs-ntlmsensor-default)")
	fs.StringVar(&c.APIKeyFile, "es-api-key-file", c.APIKeyFile, "file holding the Elasticsearch API key (or set "+EnvAPIKey+")")
	fs.StringVar(&c.User, "es-user", c.User, "basic-auth user (or set "+EnvUser+"); the password comes from -es-password-file or "+EnvPassword)
	fs.StringVar(&c.PasswordFile, "es-password-file", c.PasswordFile, "file holding the basic-auth password")
	fs.StringVar(&c.CAFile, "es-ca", c.CAFile, "PEM file of the CA certificate(s) that signed the nodes' certificates")
	fs.StringVar(&c.CertFile, "es-cert", c.CertFile, "PEM client certificate (mutual TLS)")
	fs.StringVar(&c.KeyFile, "es-key", c.KeyFile, "PEM key of -es-cert")
	fs.BoolVar(&c.InsecureSkipVerify, "es-insecure", c.InsecureSkipVerify, "do not verify the nodes' TLS certificates (testing only)")
	fs.Var(listFlag{&c.Headers}, "es-header", "extra HTTP header on every request, \"Name: value\" (repeatable)")
	fs.StringVar(&c.Template, "es-template", c.Template, "index template (and ILM policy) name installed by 'ntlmsensor es-setup'")
	fs.StringVar(&c.IndexTime, "es-index-time", c.IndexTime, "which time names a dated -es-index: capture (the document's @timestamp: an old capture fills old indices, one per day) or ingest (now)")
	fs.BoolVar(&c.ILM, "es-ilm", c.ILM, "es-setup: install an ILM policy (rollover for data streams, delete after -es-retention) and name it in the template")
	fs.StringVar(&c.Retention, "es-retention", c.Retention, "es-setup: ILM deletes documents this long after rollover (data stream) or index creation, e.g. 30d, 365d")
	fs.BoolVar(&c.Gzip, "es-gzip", c.Gzip, "gzip-compress bulk requests")
	fs.Var(intSizeFlag{&c.FlushBytes}, "es-flush-bytes", "send a bulk request when it reaches this size (e.g. 1MiB)")
	fs.DurationVar(&c.FlushInterval, "es-flush-interval", c.FlushInterval, "send a bulk request at least this often")
	fs.IntVar(&c.Workers, "es-workers", c.Workers, "bulk requests in flight at once")
	fs.Var(intSizeFlag{&c.BufferBytes}, "es-buffer-bytes", "findings waiting in memory for the bulk workers, at most (beyond: the spool)")
	fs.IntVar(&c.Retries, "es-retries", c.Retries, "retries with backoff of a failed bulk request (429, 5xx, connection error) before spooling")
	fs.DurationVar(&c.Timeout, "es-timeout", c.Timeout, "timeout of one bulk request attempt")
	fs.DurationVar(&c.DrainTimeout, "es-drain-timeout", c.DrainTimeout, "at exit, time to deliver what is buffered; what is left is spooled")
	fs.StringVar(&c.DeadLetter, "es-dead-letter", c.DeadLetter, "file for findings Elasticsearch rejects for their content, with the reason (default SPOOL/dead-letter.jsonl, or stderr)")
	fs.StringVar(&c.Spool, "spool", c.Spool, "directory of the on-disk spool: findings wait there while no Elasticsearch node answers")
	fs.Var(sizeFlag{&c.SpoolMaxBytes}, "spool-max-bytes", "spool size limit; beyond it new findings are dropped and counted failed (e.g. 1GiB)")
}

// Enabled reports whether any node was given.
func (c *Config) Enabled() bool { return len(c.URLs) > 0 }

func (c *Config) getenv(k string) string {
	if c.Getenv != nil {
		return c.Getenv(k)
	}
	return os.Getenv(k)
}

func (c *Config) logf(format string, args ...any) {
	msg := Secrets.Redact(fmt.Sprintf(format, args...))
	if c.Logf != nil {
		c.Logf("%s", msg)
		return
	}
	fmt.Fprintf(os.Stderr, "ntlmsensor: %s\n", msg)
}

// Validate checks the options that do not need the network.
func (c *Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("elasticsearch: no -es URL")
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("elasticsearch: bad URL %q (want http(s)://host:port[/path])", u)
		}
		if p.User != nil {
			return fmt.Errorf("elasticsearch: URL %q carries credentials: put them in %s/%s or a file, never on the command line", p.Redacted(), EnvUser, EnvPassword)
		}
	}
	if c.DataStream != "" {
		if err := checkIndexName(c.DataStream); err != nil {
			return err
		}
	} else if _, err := newIndexNamer(c.Index); err != nil {
		return err
	}
	if c.IndexTime != "capture" && c.IndexTime != "ingest" {
		return fmt.Errorf("elasticsearch: -es-index-time %q: want capture or ingest", c.IndexTime)
	}
	if c.FlushBytes <= 0 || c.BufferBytes <= 0 || c.Workers <= 0 || c.Retries < 0 || c.Timeout <= 0 || c.FlushInterval <= 0 {
		return errors.New("elasticsearch: -es-flush-bytes, -es-buffer-bytes, -es-workers, -es-timeout and -es-flush-interval must be positive")
	}
	if c.Spool != "" && c.SpoolMaxBytes <= 0 {
		return errors.New("elasticsearch: -spool-max-bytes must be positive")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("elasticsearch: -es-cert and -es-key go together")
	}
	for _, h := range c.Headers {
		if k, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("elasticsearch: bad -es-header %q (want \"Name: value\")", h)
		}
	}
	return nil
}

// readSecret reads a credential file; one that others than its owner can
// read is used, with a warning (a service's files are the operator's call).
func (c *Config) readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("elasticsearch: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		c.logf("warning: %s holds a credential and is readable by its group or others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("elasticsearch: %s is empty", path)
	}
	return s, nil
}

// credentials reads the API key or basic-auth pair from files or environment.
func (c *Config) credentials() (apiKey, user, password string, err error) {
	apiKey = c.getenv(EnvAPIKey)
	if c.APIKeyFile != "" {
		if apiKey, err = c.readSecret(c.APIKeyFile); err != nil {
			return "", "", "", err
		}
	}
	user = c.User
	if user == "" {
		user = c.getenv(EnvUser)
	}
	password = c.getenv(EnvPassword)
	if c.PasswordFile != "" {
		if password, err = c.readSecret(c.PasswordFile); err != nil {
			return "", "", "", err
		}
	}
	if apiKey != "" && (user != "" || password != "") {
		return "", "", "", errors.New("elasticsearch: both an API key and a user/password are set; give one")
	}
	if (user == "") != (password == "") {
		return "", "", "", fmt.Errorf("elasticsearch: basic auth needs a user (-es-user or %s) and a password (-es-password-file or %s)", EnvUser, EnvPassword)
	}
	return apiKey, user, password, nil
}

// httpTransport builds the HTTP transport from the TLS options.
func (c *Config) httpTransport() (http.RoundTripper, error) {
	if c.Transport != nil {
		return c.Transport, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // explicit opt-in flag
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch: %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: c.Timeout,
		MaxIdleConnsPerHost:   c.Workers + 1,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}, nil
}

// newClient makes the official client. Its own retries are off: the sink's
// transport retries, honouring Retry-After, and knows when to spool.
func (c *Config) newClient() (*elasticsearch.Client, http.RoundTripper, error) {
	apiKey, user, password, err := c.credentials()
	if err != nil {
		return nil, nil, err
	}
	addSecrets(apiKey, user, password, c.Headers)
	tr, err := c.httpTransport()
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	for _, kv := range c.Headers {
		k, v, _ := strings.Cut(kv, ":")
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	client, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:           c.URLs,
		APIKey:              apiKey,
		Username:            user,
		Password:            password,
		Header:              h,
		Transport:           tr,
		DisableRetry:        true,
		CompressRequestBody: c.Gzip,
		PoolCompressor:      true,
	})
	return client, tr, err
}
