package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Fields types every field of the output contract (README "Fields"), by its
// dotted path. Keywords keep values up to 1024 characters searchable (longer
// ones, from hostile packets, are stored but not indexed instead of making
// Elasticsearch refuse the finding).
var Fields = []struct{ Path, Type string }{
	{"@timestamp", "date"},
	{"event.kind", "keyword"},
	{"event.category", "keyword"},
	{"event.outcome", "keyword"},
	{"event.reason", "keyword"},
	{"source.ip", "ip"},
	{"source.port", "long"},
	{"destination.ip", "ip"},
	{"destination.port", "long"},
	{"network.transport", "keyword"},
	{"network.protocol", "keyword"},
	{"network.community_id", "keyword"},
	{"user.name", "keyword"},
	{"user.domain", "keyword"},
	{"auth.mechanism", "keyword"},
	{"auth.spnego", "boolean"},
	{"auth.offered", "keyword"},
	{"ntlm.version", "keyword"},
	{"ntlm.lm_response", "boolean"},
	{"ntlm.workstation", "keyword"},
	{"ntlm.target_name", "keyword"},
	{"ntlm.mic", "boolean"},
	{"ntlm.sign", "boolean"},
	{"ntlm.seal", "boolean"},
	{"ntlm.flags", "keyword"},
	{"ntlm.client_version", "keyword"},
	{"ntlm.server_version", "keyword"},
	{"ntlm.server.nb_name", "keyword"},
	{"ntlm.server.nb_domain", "keyword"},
	{"ntlm.server.dns_name", "keyword"},
	{"ntlm.server.dns_domain", "keyword"},
	{"ntlm.server.dns_tree", "keyword"},
	{"ntlm.cause", "keyword"},
	{"ntlm.causes", "keyword"},
	{"ntlm.cause_evidence", "keyword"},
	{"kerberos.request", "keyword"},
	{"kerberos.realm", "keyword"},
	{"kerberos.sname", "keyword"},
	{"kerberos.etypes", "long"},
	{"kerberos.ticket_etype", "long"},
	{"kerberos.session_etype", "long"},
	{"kerberos.error", "keyword"},
	{"smb.version", "keyword"},
	{"smb.signing_required", "boolean"},
	{"smb.signed", "boolean"},
	{"smb.encrypted", "boolean"},
	{"smb.tree", "keyword"},
	{"http.request.method", "keyword"},
	{"http.response.status_code", "long"},
	{"url.domain", "keyword"},
	{"ldap.bind", "keyword"},
	{"ldap.sasl_mechanism", "keyword"},
	{"ldap.result_code", "long"},
	{"flags", "keyword"},
	{"observer.name", "keyword"},
	{"observer.type", "keyword"},
}

// Mappings is the "mappings" object: nested properties, each leaf typed.
func Mappings() map[string]any {
	root := map[string]any{}
	for _, f := range Fields {
		props := root
		parts := strings.Split(f.Path, ".")
		for _, p := range parts[:len(parts)-1] {
			obj, ok := props[p].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				props[p] = obj
			}
			props = obj["properties"].(map[string]any)
		}
		leaf := map[string]any{"type": f.Type}
		if f.Type == "keyword" {
			leaf["ignore_above"] = 1024
		}
		props[parts[len(parts)-1]] = leaf
	}
	return map[string]any{"dynamic": true, "properties": root}
}

// IndexPattern is what the template matches: the data stream's name, or
// the index pattern with each date verb as *.
func (c *Config) IndexPattern() (string, error) {
	if c.DataStream != "" {
		return c.DataStream, nil
	}
	n, err := newIndexNamer(c.Index)
	if err != nil {
		return "", err
	}
	return n.pattern(), nil
}

// IndexTemplate is the composable index template installed by es-setup.
func (c *Config) IndexTemplate() (map[string]any, error) {
	pat, err := c.IndexPattern()
	if err != nil {
		return nil, err
	}
	t := map[string]any{
		"index_patterns": []string{pat},
		// above the built-in logs-*-* (100): a data stream named
		// logs-ntlmsensor-* takes these mappings
		"priority": 200,
		"template": map[string]any{"mappings": Mappings()},
		"_meta": map[string]any{
			"description": "ntlmsensor findings: one document per NTLM/Kerberos authentication (README \"Output\")",
			"managed_by":  "ntlmsensor es-setup",
		},
	}
	if c.DataStream != "" {
		t["data_stream"] = map[string]any{}
	}
	return t, nil
}

// Setup installs the index template (PUT _index_template/NAME), replacing an
// earlier version of it. The request goes to the first node that answers.
func Setup(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Template == "" {
		return fmt.Errorf("elasticsearch: no -es-template name")
	}
	t, err := cfg.IndexTemplate()
	if err != nil {
		return err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	client, _, err := cfg.newClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, max(cfg.Timeout, 10*time.Second))
	defer cancel()
	res, err := esapi.IndicesPutIndexTemplateRequest{
		Name: cfg.Template,
		Body: strings.NewReader(string(body)),
	}.Do(ctx, client)
	if err != nil {
		return fmt.Errorf("elasticsearch: installing template %s: %w", cfg.Template, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("elasticsearch: installing template %s: %s", cfg.Template, httpReason(res.StatusCode, data))
	}
	return nil
}
