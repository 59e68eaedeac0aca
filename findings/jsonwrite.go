package findings

import "time"

// AppendJSONString appends s as a JSON string, escaped as every document
// of the sensor escapes it (invalid UTF-8 becomes U+FFFD): for the other
// document kinds (inventory rows, alerts) written outside this package.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }

// AppendJSONTime appends t as the contract writes times: a JSON string,
// RFC 3339 with microseconds, UTC.
func AppendJSONTime(b []byte, t time.Time) []byte { return appendTime(b, t) }
