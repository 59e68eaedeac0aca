// Package findings is the output model: a Finding is one authentication
// attempt in the shape fixed by the output contract (docs/CONTRACT.md), its
// flags raised by Evaluate the same way for every carrier, and its JSON
// written by hand in contract order. Carriers build findings through
// decoders/carrier; the audit stage and the sinks read them.
package findings

import (
	"net/netip"
	"time"
)

// Document is one output document of any of the three kinds the contract
// names: a finding (event.kind "event"), an inventory row ("state") or an
// alert ("alert"). Sinks take documents; each writes its own JSON object,
// beginning with @timestamp (the Elasticsearch sink names indices from it).
type Document interface {
	AppendJSON(b []byte) []byte
}

// Outcome of an attempt: event.outcome.
type Outcome string

const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Unknown Outcome = "unknown"
)

// Opt is a boolean that may be absent: absent facts are omitted from the
// output, never written as false.
type Opt uint8

const (
	Unset Opt = iota
	False
	True
)

// OptOf turns a known boolean into an Opt.
func OptOf(b bool) Opt {
	if b {
		return True
	}
	return False
}

// Finding is one authentication attempt. Field comments name the output
// field; empty strings and Unset values are omitted.
type Finding struct {
	Time        time.Time // @timestamp
	Outcome     Outcome   // event.outcome
	Reason      string    // event.reason
	Client      netip.AddrPort
	Server      netip.AddrPort
	Transport   string   // network.transport
	Protocol    Protocol // network.protocol
	CommunityID string   // network.community_id

	HasUser    bool   // user.name is written even when empty (anonymous logon)
	UserName   string // user.name
	UserDomain string // user.domain

	Mechanism Mechanism // auth.mechanism
	SPNEGO    Opt       // auth.spnego
	Offered   []string  // auth.offered

	NTLM     NTLMFacts
	Kerberos KerberosFacts
	SMB      SMBFacts
	HTTP     HTTPFacts
	LDAP     LDAPFacts

	Flags    []Flag // flags
	Observer string // observer.name
	File     string // log.file.path: the capture file it was read from (offline runs)

	// Why an NTLM logon is not Kerberos, set by the audit stage (package
	// audit) from what it saw of the client before: written inside ntlm.
	Cause         string   // ntlm.cause
	Causes        []string // ntlm.causes, most decisive first
	CauseEvidence string   // ntlm.cause_evidence

	// Facts that decide flags but are not written out.
	ServerOfferedKerberos bool // SPNEGO hint / WWW-Authenticate: Negotiate listed Kerberos
	ClientOfferedKerberos bool // the client's own SPNEGO mechTypes listed Kerberos
	TLS                   bool // the carrier ran inside TLS (LDAPS, StartTLS)
	SASLWrapped           bool // LDAP PDUs after the bind were SASL-wrapped
	PasswordSent          bool // a simple bind carried a password (never the password itself)

	// AwaitsRetry makes the Finding an observation: a KDC exchange answered
	// with an error that asks the client to ask again, in a new request,
	// often on a new connection: KDC_ERR_PREAUTH_REQUIRED [RFC 4120
	// 5.2.7, 7.5.9] or KRB_ERR_RESPONSE_TOO_BIG (then over TCP) [RFC 4120
	// 7.2.1]. The carrier fills in the finding the exchange makes if the
	// client never does (outcome unknown, the error as reason); the audit
	// stage, which sees every worker's findings in time order, drops it
	// when the client asks again and releases it as that finding when not
	// (audit/retry.go).
	AwaitsRetry bool

	// Facts for the attack detectors of the audit stage (audit/detect),
	// not written out either. Secrets are kept only as Digest values, keyed
	// per process, so a finding never holds anything crackable.
	Attack AttackFacts
}

// AttackFacts are what the cross-connection detections (NTLM relay, rogue
// server, Kerberos roasting and downgrade) need of one attempt. None is
// written out.
type AttackFacts struct {
	// ChallengeDigest is Digest of the NTLM CHALLENGE's ServerChallenge
	// [MS-NLMP 2.2.1.2]; 0 when no CHALLENGE was seen.
	ChallengeDigest uint64
	// ProofDigest is Digest of the NTLMv2 NTProofStr [MS-NLMP 2.2.2.8] (or
	// of the whole 24-byte NTLMv1 response); 0 when there was none.
	ProofDigest uint64
	// AvFlagsMIC: MsvAvFlags of the client blob has 0x2, "the client is
	// providing a MIC" [MS-NLMP 2.2.2.1]. MICSent: the AUTHENTICATE has room
	// for a MIC and it is not all zeros. AvFlagsMIC without MICSent is a MIC
	// removed in transit (CVE-2019-1040).
	AvFlagsMIC, MICSent bool
	// NegotiateFlags / ChallengeFlags: NegotiateFlags of the NEGOTIATE and
	// CHALLENGE of the same exchange [MS-NLMP 2.2.2.5], 0 when not seen.
	NegotiateFlags, ChallengeFlags uint32
	HasNegotiate, HasChallenge     bool
	// Preauth: an AS-REQ carried pre-authentication (PA-ENC-TIMESTAMP,
	// PA-PK-AS-REQ or FAST armour) [RFC 4120 5.2.7.2, RFC 6113].
	Preauth bool
	// CoercionCall, when set, makes the Finding an observation, not an
	// authentication: an RPC call known to coerce authentication was seen
	// on this connection ("MS-RPRN opnum 65"). The sensor passes
	// observations on only when sensor.Config.Observations asks for them,
	// for the audit stage's detectors; sinks never write them.
	CoercionCall string
}

// Observation reports whether f is an observation for the audit stage
// rather than a finding: a coercing RPC call for the detectors
// (AttackFacts.CoercionCall), or a KDC exchange awaiting the client's
// retry (AwaitsRetry). An observation is never written.
func (f *Finding) Observation() bool { return f.Attack.CoercionCall != "" || f.AwaitsRetry }

// NTLMFacts are the ntlm.* fields.
type NTLMFacts struct {
	Version       NTLMVersion // ntlm.version
	LMResponse    Opt         // ntlm.lm_response
	Workstation   string      // ntlm.workstation
	TargetName    string      // ntlm.target_name
	MIC           Opt         // ntlm.mic
	Sign, Seal    Opt         // ntlm.sign, ntlm.seal
	Flags         uint32      // ntlm.flags
	HasFlags      bool
	ClientVersion string // ntlm.client_version
	ServerVersion string // ntlm.server_version
	ServerNbName  string // ntlm.server.nb_name
	ServerNbDom   string // ntlm.server.nb_domain
	ServerDNSName string // ntlm.server.dns_name
	ServerDNSDom  string // ntlm.server.dns_domain
	ServerDNSTree string // ntlm.server.dns_tree
}

// KerberosFacts are the kerberos.* fields.
type KerberosFacts struct {
	Request      KerberosRequest // kerberos.request: AS, TGS, AP
	Realm        string          // kerberos.realm
	SName        string          // kerberos.sname
	Etypes       []int32         // kerberos.etypes
	TicketEtype  int32           // kerberos.ticket_etype (0: absent)
	SessionEtype int32           // kerberos.session_etype (0: absent)
	Error        string          // kerberos.error
}

// SMBFacts are the smb.* fields.
type SMBFacts struct {
	Version         string // smb.version
	SigningRequired Opt    // smb.signing_required
	Signed          Opt    // smb.signed
	Encrypted       Opt    // smb.encrypted
	Tree            string // smb.tree
}

// HTTPFacts are http.* and url.domain.
type HTTPFacts struct {
	Method     string // http.request.method
	StatusCode int    // http.response.status_code (0: absent)
	Host       string // url.domain
}

// LDAPFacts are the ldap.* fields.
type LDAPFacts struct {
	Bind          string // ldap.bind: simple, sasl, sicily
	SASLMechanism string // ldap.sasl_mechanism
	ResultCode    int    // ldap.result_code
	HasResult     bool
}
