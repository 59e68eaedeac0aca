package decodeerr

import (
	"errors"
	"testing"
)

func TestErrorWrapsItsSentinel(t *testing.T) {
	truncated := errors.New("ntlmssp: truncated")
	err := New(truncated, "AUTHENTICATE NtChallengeResponse")
	if !errors.Is(err, truncated) {
		t.Errorf("errors.Is(%v, sentinel) = false", err)
	}
	if got, want := err.Error(), "ntlmssp: truncated: AUTHENTICATE NtChallengeResponse"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
