package sinks

import (
	"errors"
	"slices"
	"testing"

	"ntlmsensor/findings"
)

// recorder keeps the JSON of what it was given; it fails when told to.
type recorder struct {
	docs   []string
	fail   error
	closed bool
}

func (r *recorder) Write(d findings.Document) error {
	if r.fail != nil {
		return r.fail
	}
	r.docs = append(r.docs, string(d.AppendJSON(nil)))
	return nil
}

func (r *recorder) Close() error { r.closed = true; return r.fail }

// TestMultiWritesEverySink: a failing sink does not starve the others, and
// its error comes back joined with the others'.
func TestMultiWritesEverySink(t *testing.T) {
	full, broken := errors.New("disk full"), errors.New("connection refused")
	a, b, c := &recorder{}, &recorder{fail: full}, &recorder{fail: broken}
	m := Multi{a, b, c}
	f := &findings.Finding{Mechanism: findings.MechNTLM, HasUser: true, UserName: "alice", Outcome: findings.Success}
	f.Evaluate()
	err := m.Write(f)
	if !errors.Is(err, full) || !errors.Is(err, broken) {
		t.Errorf("Write error %v, want both sinks' errors", err)
	}
	if want := []string{string(f.AppendJSON(nil))}; !slices.Equal(a.docs, want) {
		t.Errorf("the working sink got %q, want %q", a.docs, want)
	}
	if err := m.Close(); !errors.Is(err, full) || !a.closed || !b.closed || !c.closed {
		t.Errorf("Close: %v; closed %v %v %v", err, a.closed, b.closed, c.closed)
	}
	if err := (Multi{a}).Write(f); err != nil || len(a.docs) != 2 {
		t.Errorf("healthy Multi: %v, %d documents", err, len(a.docs))
	}
}
