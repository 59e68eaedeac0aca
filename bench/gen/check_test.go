package gen

import "testing"

// TestCheckRepeated: copies of a planted finding (a capture replayed in a
// loop) are neither extra nor needed; a finding nothing planted is extra,
// once however often it came; one never reported is missing.
func TestCheckRepeated(t *testing.T) {
	a := Finding{"user": "alice", "@timestamp": "t0"}
	b := Finding{"user": "bob", "@timestamp": "t0"}
	c := Finding{"user": "carol", "@timestamp": "t0"}
	planted := []Planted{{Finding: a}, {Finding: b}, {Finding: b}}
	found := []Finding{
		{"user": "alice", "@timestamp": "t1"}, {"user": "alice", "@timestamp": "t2"},
		{"user": "bob", "@timestamp": "t1"}, {"user": "bob", "@timestamp": "t2"}, {"user": "bob", "@timestamp": "t3"},
		{"user": "eve"}, {"user": "eve"},
	}
	r := CheckRepeated(planted, found)
	if r.Found != 3 || r.Planted != 3 || len(r.Extra) != 1 {
		t.Errorf("found %d of %d, %d extra; want 3 of 3, 1 extra", r.Found, r.Planted, len(r.Extra))
	}
	r = CheckRepeated(append(planted, Planted{Finding: c}), found[:2])
	if r.Found != 1 || len(r.Missing) != 3 {
		t.Errorf("found %d, %d missing; want 1 found, 3 missing", r.Found, len(r.Missing))
	}
}
