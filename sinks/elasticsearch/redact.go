package elasticsearch

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Secrets are the credentials this process was given (API key, password,
// credential headers): every message the sink logs, every dead-letter
// reason, and (through the program's stderr writer) every line the sensor
// prints have them replaced by [redacted]. A server or a proxy that echoes
// the request headers in an error body must not put them in the logs.
var Secrets Redactor

// Redactor replaces known secrets and Authorization-like values in text.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secrets (short ones are ignored: they would redact
// ordinary words, and are not worth the name).
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
}

const redacted = "[redacted]"

// authValue: the value of an Authorization-like header or field, with its
// scheme, in a header dump, JSON or a query string.
var authValue = regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-api-key|api[-_]?key|password|passwd|cookie)(["']?\s*[:=]\s*["']?)((?:basic|bearer|apikey|negotiate|ntlm|digest)\s+)?[^\s"',;&}\]]+`)

// schemeValue: a credential after its scheme anywhere ("ApiKey <base64>").
var schemeValue = regexp.MustCompile(`(?i)\b(basic|bearer|apikey)\s+[A-Za-z0-9+/=._~-]{8,}`)

// Redact returns s without the secrets.
func (r *Redactor) Redact(s string) string {
	r.mu.RLock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	r.mu.RUnlock()
	s = authValue.ReplaceAllString(s, "${1}${2}${3}"+redacted)
	return schemeValue.ReplaceAllString(s, "${1} "+redacted)
}

// credentialHeader reports whether a request header carries a credential.
func credentialHeader(name string) bool {
	switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
	case "Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "Es-Secondary-Authorization", "X-Auth-Token":
		return true
	}
	return false
}

// CredentialHeader reports whether "Name: value" carries a credential: it
// must not be given on the command line (ps shows it), only in the
// environment or the configuration file.
func CredentialHeader(h string) bool {
	k, _, _ := strings.Cut(h, ":")
	return credentialHeader(k)
}

// addSecrets registers what newClient authenticates with.
func addSecrets(apiKey, user, password string, headers []string) {
	Secrets.Add(apiKey, password)
	if password != "" {
		Secrets.Add(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
	}
	for _, h := range headers {
		if k, v, _ := strings.Cut(h, ":"); credentialHeader(k) {
			v = strings.TrimSpace(v)
			Secrets.Add(v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				Secrets.Add(strings.TrimSpace(cred))
			}
		}
	}
}
