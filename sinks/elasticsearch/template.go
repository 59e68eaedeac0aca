package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"ntlmsensor/findings"
)

// Field is one field of the output contract and its mapping type. An ECS
// field has its ECS type (a test checks them against the ECS field list).
type Field struct{ Path, Type string }

// Fields types every field a finding can carry (README "Fields"), by its
// dotted path. Keywords keep values up to 1024 characters searchable (longer
// ones, from hostile packets, are stored but not indexed instead of making
// Elasticsearch refuse the finding).
var Fields = []Field{
	{"@timestamp", "date"},
	{"event.kind", "keyword"},
	{"event.module", "keyword"},
	{"event.dataset", "keyword"},
	{"event.category", "keyword"},
	{"event.type", "keyword"},
	{"event.action", "keyword"},
	{"event.outcome", "keyword"},
	{"event.reason", "keyword"},
	{"event.severity", "long"},
	{"event.risk_score", "float"},
	{"source.ip", "ip"},
	{"source.port", "long"},
	{"source.domain", "keyword"},
	{"destination.ip", "ip"},
	{"destination.port", "long"},
	{"destination.domain", "keyword"},
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
	{"kerberos.etype_names", "keyword"},
	{"kerberos.ticket_etype_name", "keyword"},
	{"kerberos.session_etype_name", "keyword"},
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
	{"related.user", "keyword"},
	{"related.ip", "ip"},
	{"related.hosts", "keyword"},
	{"observer.name", "keyword"},
	{"observer.type", "keyword"},
	{"ecs.version", "keyword"},
}

// OtherFields are the fields of the contract that a finding's full
// example does not show: the capture file of offline runs (log.file.path),
// and the inventory rows and alerts (docs/CONTRACT.md). They are typed
// here so that the template is ready for every document the sensor sends.
var OtherFields = []Field{
	{"log.file.path", "keyword"},
	{"inventory.count", "long"},
	{"inventory.success", "long"},
	{"inventory.failure", "long"},
	{"inventory.signed", "long"},
	{"inventory.first_seen", "date"},
	{"inventory.last_seen", "date"},
	{"inventory.removed_by", "keyword"},
	{"message", "match_only_text"},
	{"rule.id", "keyword"},
	{"rule.name", "keyword"},
	{"rule.description", "keyword"},
	{"threat.framework", "keyword"},
	{"threat.technique.id", "keyword"},
	{"threat.technique.name", "keyword"},
	{"ntlmsensor.community_ids", "keyword"},
}

// Mappings is the "mappings" object: nested properties, each leaf typed.
func Mappings() map[string]any {
	root := map[string]any{}
	for _, f := range append(slices.Clip(Fields), OtherFields...) {
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
		leaf := map[string]any{"type": f.Type} // match_only_text: ECS's type of message, in the basic licence since 7.14
		if f.Type == "keyword" {
			leaf["ignore_above"] = 1024
		}
		props[parts[len(parts)-1]] = leaf
	}
	return map[string]any{"dynamic": true, "properties": root}
}

// IndexPattern is what the template matches: for a data stream named as
// Elastic names them, TYPE-DATASET-NAMESPACE, every namespace of its dataset
// (logs-ntlmsensor-default gives logs-ntlmsensor-*), and never more than
// that, so the built-in logs-*-* template keeps every other data stream;
// else the index pattern with each date verb as *.
// https://www.elastic.co/guide/en/fleet/current/data-streams.html#data-streams-naming-scheme
func (c *Config) IndexPattern() (string, error) {
	if c.DataStream != "" {
		if parts := strings.Split(c.DataStream, "-"); len(parts) >= 3 && parts[0] != "" && parts[1] != "" {
			return strings.Join(parts[:len(parts)-1], "-") + "-*", nil
		}
		return c.DataStream, nil
	}
	n, err := newIndexNamer(c.Index)
	if err != nil {
		return "", err
	}
	return n.pattern(), nil
}

// PolicyName is the ILM policy es-setup installs and the template names:
// the template's name.
func (c *Config) PolicyName() string { return c.Template }

// ILMPolicy is the lifecycle policy: for a data stream, rollover as
// Elastic's own logs policy does it (a primary shard of 50 GB or 30 days),
// then delete -es-retention after the rollover; for dated indices, which
// are never rolled over, delete -es-retention after an index was created.
// https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-put-lifecycle.html
// https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-rollover.html
func (c *Config) ILMPolicy() map[string]any {
	phases := map[string]any{
		"delete": map[string]any{
			"min_age": c.Retention,
			"actions": map[string]any{"delete": map[string]any{}},
		},
	}
	if c.DataStream != "" {
		phases["hot"] = map[string]any{
			"min_age": "0ms",
			"actions": map[string]any{"rollover": map[string]any{
				"max_primary_shard_size": "50gb",
				"max_age":                "30d",
			}},
		}
	}
	return map[string]any{"policy": map[string]any{
		"phases": phases,
		"_meta": map[string]any{
			"description": "ntlmsensor: delete documents " + c.Retention + " after rollover or index creation",
			"managed_by":  "ntlmsensor es-setup",
		},
	}}
}

// IndexTemplate is the composable index template installed by es-setup.
// https://www.elastic.co/guide/en/elasticsearch/reference/8.17/index-templates.html
// https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-put-template.html
func (c *Config) IndexTemplate() (map[string]any, error) {
	pat, err := c.IndexPattern()
	if err != nil {
		return nil, err
	}
	// what Elastic's logs@settings sets too: compressed stored fields, and
	// a field of the wrong type dropped rather than the whole document
	settings := map[string]any{
		"codec":   "best_compression",
		"mapping": map[string]any{"ignore_malformed": true},
	}
	if c.ILM {
		settings["lifecycle"] = map[string]any{"name": c.PolicyName()}
	}
	// NAME@custom: the admin's own settings and mappings, kept across
	// upgrades of this template (the @custom convention of Elastic's
	// integrations); absent unless the admin creates it.
	custom := c.Template + "@custom"
	composed := []string{custom}
	if c.DataStream != "" && strings.HasPrefix(pat, "logs-") {
		// the built-in mappings of every logs data stream (data_stream.*,
		// no date detection); ours come after and win
		composed = []string{"logs@mappings", custom}
	}
	t := map[string]any{
		"index_patterns": []string{pat},
		// above the built-in logs-*-* (100), which would otherwise match
		// logs-ntlmsensor-*
		"priority":                           200,
		"composed_of":                        composed,
		"ignore_missing_component_templates": composed,
		"template": map[string]any{
			"settings": map[string]any{"index": settings},
			"mappings": Mappings(),
		},
		"_meta": map[string]any{
			"description": "ntlmsensor: findings, inventory rows and alerts (docs/CONTRACT.md)",
			"managed_by":  "ntlmsensor es-setup",
			"ecs_version": findings.ECSVersion,
		},
	}
	if c.DataStream != "" {
		t["data_stream"] = map[string]any{}
	}
	return t, nil
}

// WriteSetup writes what Setup would install, as requests in the syntax of
// Kibana's Dev Tools console (METHOD PATH, then the JSON body), for those who
// apply it with their own tooling.
func WriteSetup(w io.Writer, cfg Config) error {
	if err := cfg.validateSetup(); err != nil {
		return err
	}
	reqs, err := cfg.setupRequests()
	if err != nil {
		return err
	}
	for i, r := range reqs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		body, _ := json.MarshalIndent(r.body, "", "  ")
		if _, err := fmt.Fprintf(w, "PUT %s\n%s\n", r.path, body); err != nil {
			return err
		}
	}
	return nil
}

type setupRequest struct {
	path string
	body map[string]any
}

// setupRequests: the policy first, since the template names it.
func (c *Config) setupRequests() ([]setupRequest, error) {
	t, err := c.IndexTemplate()
	if err != nil {
		return nil, err
	}
	var reqs []setupRequest
	if c.ILM {
		reqs = append(reqs, setupRequest{"_ilm/policy/" + c.PolicyName(), c.ILMPolicy()})
	}
	return append(reqs, setupRequest{"_index_template/" + c.Template, t}), nil
}

var retentionRE = regexp.MustCompile(`^[1-9][0-9]*(d|h|m|s)$`)

func (c *Config) validateSetup() error {
	if c.Template == "" {
		return fmt.Errorf("elasticsearch: no -es-template name")
	}
	if err := checkIndexName(c.Template); err != nil {
		return fmt.Errorf("elasticsearch: -es-template: %w", err)
	}
	if c.ILM && !retentionRE.MatchString(c.Retention) {
		return fmt.Errorf("elasticsearch: -es-retention %q: want a whole number of d, h, m or s, e.g. 90d", c.Retention)
	}
	if c.DataStream != "" {
		return checkIndexName(c.DataStream)
	}
	_, err := newIndexNamer(c.Index)
	return err
}

// Setup installs the ILM policy (PUT _ilm/policy/NAME, unless -es-ilm=false)
// and the index template (PUT _index_template/NAME), replacing earlier
// versions of them. The requests go to the first node that answers.
func Setup(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := cfg.validateSetup(); err != nil {
		return err
	}
	reqs, err := cfg.setupRequests()
	if err != nil {
		return err
	}
	client, _, err := cfg.newClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, max(cfg.Timeout, 10*time.Second))
	defer cancel()
	for _, r := range reqs {
		body, err := json.Marshal(r.body)
		if err != nil {
			return err
		}
		var req esapi.Request
		if name, ok := strings.CutPrefix(r.path, "_ilm/policy/"); ok {
			req = esapi.ILMPutLifecycleRequest{Policy: name, Body: bytes.NewReader(body)}
		} else {
			req = esapi.IndicesPutIndexTemplateRequest{Name: cfg.Template, Body: bytes.NewReader(body)}
		}
		res, err := req.Do(ctx, client)
		if err != nil {
			return fmt.Errorf("elasticsearch: PUT %s: %w", r.path, err)
		}
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("elasticsearch: PUT %s: %s", r.path, httpReason(res.StatusCode, data))
		}
	}
	return nil
}
