package carrier

import (
	"encoding/hex"
	"strings"
	"sync/atomic"

	"ntlmsensor/decoders/ntlmssp"
	"ntlmsensor/findings"
)

// Hashes receives the crackable material of authentications, one line per
// exchange in the format a password-audit tool reads, for the opt-in
// -emit-hashes export (authorised audits only). Hash is called from
// several workers at once: implementations serialise their writes. The
// lines are crackable: they go to the hash file and nowhere else (never a
// finding, an alert, a log line or an error message).
type Hashes interface {
	Hash(mode int, line string)
}

// Hashcat modes of the lines handed to Hashes (hashcat --help, "Network
// Protocol"; the same lines are read by John the Ripper).
const (
	ModeNetNTLMv1   = 5500  // user::domain:LM:NT:challenge [MS-NLMP 3.3.1]
	ModeNetNTLMv2   = 5600  // user::domain:challenge:NTProofStr:blob [MS-NLMP 3.3.2]
	ModeKrbPARC4    = 7500  // $krb5pa$23$ AS-REQ PA-ENC-TIMESTAMP, RC4-HMAC
	ModeKrbPAAES128 = 19800 // $krb5pa$17$
	ModeKrbPAAES256 = 19900 // $krb5pa$18$
	ModeKrbTGSRC4   = 13100 // $krb5tgs$23$ TGS-REP ticket enc-part
	ModeKrbTGS128   = 19600 // $krb5tgs$17$
	ModeKrbTGS256   = 19700 // $krb5tgs$18$
	ModeKrbASRepRC4 = 18200 // $krb5asrep$23$ AS-REP enc-part, no pre-authentication
	ModeKrbASRep128 = 32100 // $krb5asrep$17$
	ModeKrbASRep256 = 32200 // $krb5asrep$18$
)

// hashes is the export hook: nil unless the command was given
// -emit-hashes. It is read once per final client token (an AUTHENTICATE,
// a KDC request), never per packet, and costs nothing while nil.
var hashes atomic.Pointer[hashesBox]

type hashesBox struct{ h Hashes }

// SetHashes installs (or, with nil, removes) the hash export hook. The
// command sets it once, before the pipeline starts; every carrier of the
// process then hands its crackable exchanges to h.
func SetHashes(h Hashes) {
	if h == nil {
		hashes.Store(nil)
		return
	}
	hashes.Store(&hashesBox{h})
}

// HashExport is the installed hook, nil when the export is off.
func HashExport() Hashes {
	if b := hashes.Load(); b != nil {
		return b.h
	}
	return nil
}

// Crack is one line waiting for the outcome of its exchange: a refused
// logon (wrong password) is not worth cracking and is dropped.
type Crack struct {
	Mode int
	Line string
}

// Send hands a pending line to the hook unless the exchange failed.
func (c *Crack) Send(outcome findings.Outcome) {
	if c.Line == "" || outcome == findings.Failure {
		return
	}
	if h := HashExport(); h != nil {
		h.Hash(c.Mode, c.Line)
	}
}

// ntlmLine formats an AUTHENTICATE answering serverChallenge for hashcat:
//
//	NTLMv1, NTLMv1-ESS (5500): user::domain:LMresponse:NTresponse:serverChallenge
//	NTLMv2 (5600):             user::domain:serverChallenge:NTProofStr:blob
//
// NTProofStr is the first 16 bytes of the NTLMv2 response, the blob (the
// NTLMv2_CLIENT_CHALLENGE) the rest [MS-NLMP 2.2.2.8, 3.3.2]. For ESS the
// LM field carries the client challenge followed by 16 zero bytes, from
// which the cracker derives MD5(serverChallenge||clientChallenge)[:8]
// [MS-NLMP 3.3.1]. Anonymous and LM-only logons give no line.
func ntlmLine(a *ntlmssp.Authenticate, challenge [8]byte) (Crack, bool) {
	if a.User == "" || strings.ContainsAny(a.User+a.Domain, ":\r\n") {
		return Crack{}, false // a name the format cannot carry
	}
	ch := hex.EncodeToString(challenge[:])
	nt := a.NTResponse
	switch a.Kind() {
	case ntlmssp.KindNTLMv2:
		return Crack{ModeNetNTLMv2, a.User + "::" + a.Domain + ":" + ch + ":" +
			hex.EncodeToString(nt[:16]) + ":" + hex.EncodeToString(nt[16:])}, true
	case ntlmssp.KindNTLMv1, ntlmssp.KindNTLMv1ESS:
		lm := a.LMResponse
		if len(lm) != 24 {
			lm = nt // hashcat wants 24 bytes there; only ESS reads them
		}
		return Crack{ModeNetNTLMv1, a.User + "::" + a.Domain + ":" +
			hex.EncodeToString(lm) + ":" + hex.EncodeToString(nt) + ":" + ch}, true
	}
	return Crack{}, false
}
