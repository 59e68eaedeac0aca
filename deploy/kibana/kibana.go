// Package kibana holds the Kibana saved objects shipped with ntlmsensor (a
// data view, saved searches and a dashboard), in the NDJSON format of
// Kibana's saved objects export, for `ntlmsensor kibana-setup`.
// https://www.elastic.co/guide/en/kibana/8.17/saved-objects-api-import.html
package kibana

import _ "embed"

// Objects is deploy/kibana/ntlmsensor.ndjson.
//
//go:embed ntlmsensor.ndjson
var Objects []byte

// DataViewID is the id of the data view the searches name.
const DataViewID = "ntlmsensor"
