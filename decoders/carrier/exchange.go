package carrier

import (
	"ntlmsensor/decoders/kerberos"
	"ntlmsensor/decoders/ntlmssp"
	"ntlmsensor/decoders/spnego"
	"ntlmsensor/findings"
)

// Exchange follows one authentication exchange on a carrier (an SMB session
// setup, the requests of one HTTP connection, an LDAP bind): the tokens each
// side sends, until the client's final one (NTLM AUTHENTICATE or Kerberos
// AP-REQ). The carrier then says how it ended, with Finish.
type Exchange struct {
	f        findings.Finding
	pending  bool // a final client token awaits its outcome
	spnego   bool // some token of this exchange came wrapped in SPNEGO
	negState spnego.NegState
	answered bool // negState was sent (its zero value is accept-completed)
	// challenge is the server challenge of the last CHALLENGE, kept only
	// for the hash export (SetHashes); crack is that export's pending line.
	challenge    [8]byte
	hasChallenge bool
	crack        Crack
	// Err is the last token that could not be decoded, for the carrier to count.
	Err error
}

// Pending reports whether a final client token awaits its outcome.
func (x *Exchange) Pending() bool { return x.pending }

// Started reports whether any token was seen.
func (x *Exchange) Started() bool { return x.f.Mechanism != "" || x.spnego }

// Rejected reports whether the server's last SPNEGO answer was reject.
func (x *Exchange) Rejected() bool { return x.answered && x.negState == spnego.Reject }

// Accepted reports whether the server's last SPNEGO answer was accept-completed.
func (x *Exchange) Accepted() bool { return x.answered && x.negState == spnego.AcceptCompleted }

// Reset forgets the exchange but keeps what the server offered for the
// connection (a new attempt on the same connection keeps that context).
func (x *Exchange) Reset() {
	offered := x.f.ServerOfferedKerberos
	*x = Exchange{}
	x.f.ServerOfferedKerberos = offered
}

// ServerOffer takes the server's SPNEGO hint (SMB2/SMB1 NEGOTIATE response
// security blob, MS-SPNG 2.2.1 NegTokenInit2): does it offer Kerberos?
func (x *Exchange) ServerOffer(blob []byte) {
	t, err := spnego.Parse(blob)
	if err != nil || t.Kind != spnego.KindInit {
		return
	}
	for _, m := range t.Mechs() {
		if isKerberos(m) {
			x.f.ServerOfferedKerberos = true
		}
	}
}

// OfferKerberos records that the server offered Kerberos by other means
// (HTTP "WWW-Authenticate: Negotiate", SASL GSSAPI advertised).
func (x *Exchange) OfferKerberos() { x.f.ServerOfferedKerberos = true }

// OffersKerberos reports whether the server offered Kerberos.
func (x *Exchange) OffersKerberos() bool { return x.f.ServerOfferedKerberos }

func isKerberos(m spnego.Mech) bool {
	return m == spnego.MechKerberos || m == spnego.MechMSKerberos
}

// ClientToken takes a token the client sent: SPNEGO (RFC 4178), a raw
// NTLMSSP message, or a Kerberos GSS token. It reports whether the token
// was the client's final one, which makes an attempt.
func (x *Exchange) ClientToken(tok []byte) bool {
	if ntlmssp.Find(tok) == 0 {
		return x.clientNTLM(tok)
	}
	t, err := spnego.Parse(tok)
	if err != nil {
		x.Err = err
		return false
	}
	switch t.Kind {
	case spnego.KindInit:
		x.spnego = true
		x.f.SPNEGO = findings.True
		x.f.Offered = x.f.Offered[:0]
		for _, m := range t.Mechs() {
			if isKerberos(m) {
				x.f.ClientOfferedKerberos = true
			}
			x.f.Offered = appendMech(x.f.Offered, m)
		}
		return x.clientInner(t.MechToken)
	case spnego.KindResp:
		x.spnego = true
		x.f.SPNEGO = findings.True
		return x.clientInner(t.ResponseToken)
	case spnego.KindRawNTLM:
		return x.clientNTLM(tok)
	case spnego.KindMech, spnego.KindRawKerberos:
		if !x.spnego {
			x.f.SPNEGO = findings.False
		}
		return x.clientKerberos(t.MechToken)
	}
	return false
}

func appendMech(list []string, m spnego.Mech) []string { return appendName(list, m.String()) }

func appendName(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

func (x *Exchange) clientInner(tok []byte) bool {
	switch spnego.InnerMech(tok) {
	case spnego.MechNTLM:
		return x.clientNTLM(tok)
	case spnego.MechKerberos, spnego.MechIAKerb:
		return x.clientKerberos(tok)
	case spnego.MechNegoEx:
		x.clientNegoEx(tok)
	}
	return false
}

// clientNegoEx names in auth.offered the authentication schemes of the
// client's NegoEx INITIATOR_NEGO [MS-NEGOEX 2.2.6.3] ("pku2u", or
// "negoex:" and the GUID of a scheme not known here). The schemes' own
// tokens are not decoded.
func (x *Exchange) clientNegoEx(tok []byte) {
	for n := 0; len(tok) > 0 && n < 8; n++ {
		m, rest, err := spnego.NextNegoEx(tok)
		if err != nil {
			x.Err = err
			return
		}
		if m.Type == spnego.NegoExInitiatorNego {
			for _, g := range m.Schemes[:m.NumSchemes] {
				x.f.Offered = appendName(x.f.Offered, spnego.SchemeName(g))
			}
		}
		tok = rest
	}
}

// clientNTLM reads NEGOTIATE and AUTHENTICATE [MS-NLMP 2.2.1.1, 2.2.1.3].
func (x *Exchange) clientNTLM(tok []byte) bool {
	if !x.spnego {
		x.f.SPNEGO = findings.False
	}
	x.f.Mechanism = findings.MechNTLM
	typ, ok := ntlmssp.Peek(tok)
	if !ok {
		return false
	}
	n := &x.f.NTLM
	switch typ {
	case ntlmssp.NegotiateType:
		m, err := ntlmssp.ParseNegotiate(tok)
		if err != nil {
			x.Err = err
			return false
		}
		if m.HasVersion {
			n.ClientVersion = m.Version.String()
		}
		x.f.Attack.NegotiateFlags, x.f.Attack.HasNegotiate = uint32(m.Flags), true
	case ntlmssp.AuthenticateType:
		a, err := ntlmssp.ParseAuthenticate(tok)
		if err != nil {
			x.Err = err
			return false
		}
		x.f.HasUser = true
		x.f.UserName, x.f.UserDomain = a.User, a.Domain
		n.Workstation = a.Workstation
		n.Version = findings.NTLMVersion(a.Kind())
		n.LMResponse = findings.OptOf(a.RealLMResponse())
		if a.HasClientInfo {
			n.TargetName = a.ClientInfo.TargetName
		}
		n.MIC = findings.OptOf(a.HasMIC)
		n.Flags, n.HasFlags = uint32(a.Flags), true
		n.Sign = findings.OptOf(a.Flags&ntlmssp.FlagSign != 0)
		n.Seal = findings.OptOf(a.Flags&ntlmssp.FlagSeal != 0)
		if a.HasVersion {
			n.ClientVersion = a.Version.String()
		}
		attackFacts(&x.f.Attack, &a)
		if x.hasChallenge && HashExport() != nil {
			x.crack, _ = ntlmLine(&a, x.challenge)
		}
		x.pending = true
		return true
	}
	return false
}

// attackFacts keeps what the relay detections need of an AUTHENTICATE,
// the response itself only as a keyed digest: the NTProofStr, the first 16
// bytes of an NTLMv2 response [MS-NLMP 2.2.2.8], or a whole NTLMv1
// response. A relayed AUTHENTICATE carries the victim's response unchanged.
func attackFacts(af *findings.AttackFacts, a *ntlmssp.Authenticate) {
	switch nt := a.NTResponse; {
	case len(nt) > 24:
		af.ProofDigest = findings.Digest(nt[:16])
	case len(nt) == 24:
		af.ProofDigest = findings.Digest(nt)
	}
	af.AvFlagsMIC = a.HasClientInfo && a.ClientInfo.Flags&ntlmssp.AvFlagMIC != 0
	af.MICSent = a.HasMIC && a.MIC != [16]byte{}
}

// clientKerberos reads an AP-REQ [RFC 4120 5.5.1] in its GSS wrapper, and
// the AS/TGS requests an IAKerb client hands the server to relay before it
// [draft-ietf-kitten-iakerb 3.1].
func (x *Exchange) clientKerberos(tok []byte) bool {
	x.f.Mechanism = findings.MechKerberos
	m, err := kerberos.ParseGSS(tok)
	if err != nil {
		x.Err = err
		return false
	}
	k := &x.f.Kerberos
	if m.IAKerb {
		switch m.Type {
		case kerberos.ASReq:
			k.Request = findings.KerberosAS
			if m.CName.NumParts > 0 {
				x.f.HasUser = true
				x.f.UserName, x.f.UserDomain = m.CName.String(), m.Realm
			}
		case kerberos.TGSReq:
			k.Request = findings.KerberosTGS
		default:
			return false
		}
		k.Realm, k.SName = m.Realm, m.SName.String()
		k.Etypes = append(k.Etypes[:0], m.Etypes[:m.NumEtypes]...)
		return false
	}
	if m.Type != kerberos.APReq {
		return false
	}
	k.Request = findings.KerberosAP
	k.Realm = m.Realm
	k.SName = m.SName.String()
	if m.HasTicket {
		k.TicketEtype = m.TicketEtype
	}
	x.pending = true
	return true
}

// ServerToken takes a token the server sent: SPNEGO NegTokenResp, NTLM
// CHALLENGE, Kerberos AP-REP or KRB-ERROR.
func (x *Exchange) ServerToken(tok []byte) {
	if ntlmssp.Find(tok) == 0 {
		x.serverNTLM(tok)
		return
	}
	t, err := spnego.Parse(tok)
	if err != nil {
		x.Err = err
		return
	}
	switch t.Kind {
	case spnego.KindResp:
		if t.NegState != spnego.NegStateAbsent {
			x.negState, x.answered = t.NegState, true
		}
		x.serverInner(t.ResponseToken)
	case spnego.KindInit: // a server re-offering mechanisms
		for _, m := range t.Mechs() {
			if isKerberos(m) {
				x.f.ServerOfferedKerberos = true
			}
		}
	case spnego.KindRawNTLM:
		x.serverNTLM(tok)
	case spnego.KindMech, spnego.KindRawKerberos:
		x.serverKerberos(t.MechToken)
	}
}

func (x *Exchange) serverInner(tok []byte) {
	switch spnego.InnerMech(tok) {
	case spnego.MechNTLM:
		x.serverNTLM(tok)
	case spnego.MechKerberos, spnego.MechIAKerb:
		x.serverKerberos(tok)
	}
}

// challengeFixed is where a CHALLENGE's ServerChallenge ends and its
// optional fields begin [MS-NLMP 2.2.1.2].
const challengeFixed = 32

// serverNTLM reads the CHALLENGE [MS-NLMP 2.2.1.2]: the server's names and version.
func (x *Exchange) serverNTLM(tok []byte) {
	if typ, ok := ntlmssp.Peek(tok); !ok || typ != ntlmssp.ChallengeType {
		return
	}
	c, err := ntlmssp.ParseChallenge(tok)
	if err != nil {
		x.Err = err
		if len(tok) < challengeFixed {
			return
		}
		// The fixed fields are there and ParseChallenge kept them: the
		// server challenge and flags still count (Impacket's servers,
		// ntlmrelayx among them, declare TargetName and TargetInfo offsets
		// 8 bytes short of where they put them, past VERSION, so the pair
		// list never parses), as do the names read before the bad pair.
	}
	n := &x.f.NTLM
	if c.HasVersion {
		n.ServerVersion = c.Version.String()
	}
	x.f.Attack.ChallengeDigest = findings.Digest(c.ServerChallenge[:])
	x.challenge, x.hasChallenge = c.ServerChallenge, true
	x.f.Attack.ChallengeFlags, x.f.Attack.HasChallenge = uint32(c.Flags), true
	if c.HasTargetInfo {
		ti := &c.TargetInfo
		n.ServerNbName, n.ServerNbDom = ti.NbComputer, ti.NbDomain
		n.ServerDNSName, n.ServerDNSDom, n.ServerDNSTree = ti.DNSComputer, ti.DNSDomain, ti.DNSTree
	}
}

// serverKerberos reads AP-REP or KRB-ERROR [RFC 4120 5.5.2, 5.9.1], and the
// KDC replies an IAKerb server relays back: a KRB-ERROR is kept (until a
// reply shows the client got past it, as after PREAUTH_REQUIRED), a TGS-REP
// gives the service ticket's and the session key's etypes.
func (x *Exchange) serverKerberos(tok []byte) {
	m, err := kerberos.ParseGSS(tok)
	if err != nil {
		x.Err = err
		return
	}
	switch k := &x.f.Kerberos; {
	case m.Type == kerberos.KRBError:
		k.Error = kerberos.ErrorName(m.ErrorCode)
	case m.IAKerb && m.Type == kerberos.TGSRep:
		k.TicketEtype, k.SessionEtype = m.TicketEtype, m.EncPartEtype
		k.Error = ""
	case m.IAKerb:
		k.Error = ""
	}
}

// KerberosError is the KRB-ERROR the server answered with, if any.
func (x *Exchange) KerberosError() string { return x.f.Kerberos.Error }

// findings.Finding returns the attempt's finding for the carrier to complete with
// its own facts (SMB, HTTP, LDAP fields) before it is emitted. The exchange
// is reset: later tokens start a new attempt.
func (x *Exchange) Finish(outcome findings.Outcome, reason string) *findings.Finding {
	f := new(findings.Finding)
	*f = x.f
	f.Offered = append([]string(nil), x.f.Offered...)
	f.Outcome, f.Reason = outcome, reason
	x.crack.Send(outcome)
	x.Reset()
	return f
}
