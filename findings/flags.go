package findings

import (
	"strings"
)

// Flag is one thing wrong about an authentication; its id is part of the
// output contract.
type Flag string

const (
	FlagNTLMv1           Flag = "ntlm_v1"
	FlagNTLMLM           Flag = "ntlm_lm"
	FlagNTLMAnonymous    Flag = "ntlm_anonymous"
	FlagIPTarget         Flag = "ip_target"
	FlagNTLMFallback     Flag = "ntlm_fallback"
	FlagNTLMDirect       Flag = "ntlm_direct"
	FlagLocalAccount     Flag = "local_account"
	FlagNTLMNoMIC        Flag = "ntlm_no_mic"
	FlagSMBUnsigned      Flag = "smb_unsigned"
	FlagSMB1             Flag = "smb1"
	FlagLDAPUnsigned     Flag = "ldap_unsigned"
	FlagLDAPCleartext    Flag = "ldap_cleartext"
	FlagKrbRC4           Flag = "krb_rc4"
	FlagKrbSPNUnknown    Flag = "krb_spn_unknown"
	FlagKrbClockSkew     Flag = "krb_clock_skew"
	FlagKrbPreauthFailed Flag = "krb_preauth_failed"
)

// FlagInfo documents a flag: when it is raised, what to do about it, and
// how bad it is (severity.go).
type FlagInfo struct {
	ID          Flag
	RaisedWhen  string
	Remediation string
	Severity    Severity
}

// Flags lists every flag in contract order; the README table and
// `ntlmsensor -list-flags` are made from it.
var Flags = []FlagInfo{
	{FlagNTLMv1, "NTLMv1 or NTLMv1-ESS NT response", "crackable to the NT hash; disable NTLMv1 (LmCompatibilityLevel 5)", SeverityHigh},
	{FlagNTLMLM, "a real LM response", "LM hash exposure; disable LM", SeverityCritical},
	{FlagNTLMAnonymous, "anonymous NTLM (empty user, empty responses)", "null sessions; restrict anonymous access", SeverityMedium},
	{FlagIPTarget, "the service was addressed by IP: target name, SMB tree, HTTP Host or Kerberos sname is an IP literal", "no SPN for an IP, so Kerberos cannot work; use names or register IP SPNs", SeverityLow},
	{FlagNTLMFallback, "the server offered Kerberos (SPNEGO mechTypes / Negotiate) but NTLM was used", "Kerberos failed for this client: SPN, DNS, clock or KDC reachability", SeverityLow},
	{FlagNTLMDirect, "NTLM not wrapped in SPNEGO (Authorization: NTLM, raw NTLMSSP)", "the app calls NTLM directly; have it call Negotiate", SeverityLow},
	{FlagLocalAccount, "user.domain is the server's own NetBIOS name, or the client's own workstation name (ntlm.workstation), or empty / . for a non-anonymous user", "local account: Kerberos impossible today (LocalKDC)", SeverityLow},
	{FlagNTLMNoMIC, "NTLMv2 AUTHENTICATE without a MIC", "old client, or MIC removed in transit (CVE-2019-1040)", SeverityHigh},
	{FlagSMBUnsigned, "SMB session where the server does not require signing and messages are not signed", "NTLM relay target; require SMB signing", SeverityMedium},
	{FlagSMB1, "SMB1 used", "SMB1 is deprecated; disable it", SeverityMedium},
	{FlagLDAPUnsigned, "LDAP bind without integrity (NTLM without SIGN/SEAL, SASL without wrapping) and no TLS", "relay to LDAP; require LDAP signing and channel binding", SeverityMedium},
	{FlagLDAPCleartext, "simple bind with a password on a cleartext connection", "password in clear on the wire", SeverityCritical},
	{FlagKrbRC4, "RC4-HMAC (etype 23/24) used for a ticket or session key, or the only etypes offered are RC4/DES", "RC4 is being removed from Kerberos; enable AES on the account", SeverityMedium},
	{FlagKrbSPNUnknown, "KDC_ERR_S_PRINCIPAL_UNKNOWN", "missing SPN: the client falls back to NTLM", SeverityLow},
	{FlagKrbClockSkew, "KRB_AP_ERR_SKEW", "clocks more than 5 min apart: Kerberos fails", SeverityLow},
	{FlagKrbPreauthFailed, "KDC_ERR_PREAUTH_FAILED", "wrong password (spraying when many)", SeverityLow},
}

// Evaluate sets f.Flags from the facts gathered in f. Every carrier's
// findings go through here, so a flag means the same thing everywhere.
func (f *Finding) Evaluate() {
	fl := f.Flags[:0]
	add := func(x Flag) { fl = append(fl, x) }
	n := &f.NTLM
	isNTLM := f.Mechanism.IsNTLM()

	if isNTLM {
		switch n.Version {
		case NTLMv1, NTLMv1ESS:
			add(FlagNTLMv1)
		}
		if n.LMResponse == True {
			add(FlagNTLMLM)
		}
		if n.Version == NTLMAnonymous {
			add(FlagNTLMAnonymous)
		}
	}
	if f.ipTarget() {
		add(FlagIPTarget)
	}
	if f.Mechanism == MechNTLM {
		if f.ServerOfferedKerberos || f.ClientOfferedKerberos {
			add(FlagNTLMFallback)
		}
		if f.SPNEGO == False {
			add(FlagNTLMDirect)
		}
	}
	if isNTLM && n.Version != NTLMAnonymous && f.localAccount() {
		add(FlagLocalAccount)
	}
	if f.Mechanism == MechNTLM && n.Version == NTLMv2 && n.MIC == False {
		add(FlagNTLMNoMIC)
	}
	if f.Protocol == ProtoSMB && f.SMB.Encrypted != True && f.SMB.SigningRequired == False && f.SMB.Signed == False {
		add(FlagSMBUnsigned)
	}
	if f.Protocol == ProtoSMB && f.SMB.Version == "1" {
		add(FlagSMB1)
	}
	if f.Protocol == ProtoLDAP && !f.TLS && f.ldapUnsigned() {
		add(FlagLDAPUnsigned)
	}
	if f.Protocol == ProtoLDAP && f.Mechanism == MechSimple && f.PasswordSent && !f.TLS {
		add(FlagLDAPCleartext)
	}
	k := &f.Kerberos
	if IsRC4(k.TicketEtype) || IsRC4(k.SessionEtype) || weakOnly(k.Etypes) {
		add(FlagKrbRC4)
	}
	switch k.Error {
	case KrbErrSPrincipalUnknown:
		add(FlagKrbSPNUnknown)
	case KrbErrSkew:
		add(FlagKrbClockSkew)
	case KrbErrPreauthFailed:
		add(FlagKrbPreauthFailed)
	}
	if fl == nil {
		fl = []Flag{}
	}
	f.Flags = fl
}

// ipTarget: the name the client used for the service is an IP literal.
func (f *Finding) ipTarget() bool {
	if f.NTLM.TargetName != "" && IsIPLiteral(SPNHost(f.NTLM.TargetName)) {
		return true
	}
	if f.SMB.Tree != "" && IsIPLiteral(UNCHost(f.SMB.Tree)) {
		return true
	}
	if f.HTTP.Host != "" && IsIPLiteral(f.HTTP.Host) {
		return true
	}
	return f.Kerberos.SName != "" && IsIPLiteral(SPNHost(f.Kerberos.SName))
}

// localAccount: the account belongs to a machine, not a domain: the
// server's own (its NetBIOS name), or the client's, whose AUTHENTICATE
// names its workstation as the account's domain (ENDPOINT01\Administrator
// from ENDPOINT01 [MS-NLMP 2.2.1.3 DomainName, Workstation]).
func (f *Finding) localAccount() bool {
	d := f.UserDomain
	if d == "" || d == "." {
		// a UPN (user@domain.tld) in the user field names its domain itself
		return !strings.Contains(f.UserName, "@")
	}
	return f.NTLM.ServerNbName != "" && strings.EqualFold(d, f.NTLM.ServerNbName) ||
		f.NTLM.Workstation != "" && strings.EqualFold(d, f.NTLM.Workstation)
}

func (f *Finding) ldapUnsigned() bool {
	switch f.Mechanism {
	case MechNTLM:
		return f.NTLM.Sign != True && f.NTLM.Seal != True
	case MechKerberos:
		return f.LDAP.Bind == "sasl" && !f.SASLWrapped
	}
	return false
}

// weakOnly: every etype the client offered is RC4 or DES.
func weakOnly(es []int32) bool {
	if len(es) == 0 {
		return false
	}
	for _, e := range es {
		switch e {
		case EtypeDESCBCCRC, EtypeDESCBCMD4, EtypeDESCBCMD5, EtypeRC4HMAC, EtypeRC4HMACExp:
		default:
			return false
		}
	}
	return true
}
