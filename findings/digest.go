package findings

import (
	"crypto/rand"

	"github.com/cespare/xxhash/v2"
)

// digestKey is drawn once per process and never written anywhere: digests
// of secrets (server challenges, NTLM proofs) compare within one run and
// mean nothing outside it, so they cannot be used to test a guessed
// password.
var digestKey [32]byte

func init() {
	if _, err := rand.Read(digestKey[:]); err != nil {
		panic("findings: no randomness for the digest key: " + err.Error())
	}
}

// Digest is a keyed xxhash of b, never 0 (0 means "none" in AttackFacts).
// It does not allocate.
func Digest(b []byte) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.Write(digestKey[:])
	_, _ = d.Write(b)
	if h := d.Sum64(); h != 0 {
		return h
	}
	return 1
}
