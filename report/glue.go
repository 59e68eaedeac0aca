package report

import "ntlmsensor/findings"

// GLUE(audit): until the audit package lands (the cause of each NTLM logon,
// the cause registry with remediation and Windows events), the cause is
// read off the flags the finding carries, and the registry below is a
// short copy of the contract's cause table. After the merge, CauseOf reads
// the finding's ntlm.cause and causeInfo comes from audit's registry.

// CauseOf is the one reason an NTLM logon was NTLM and not Kerberos, as
// far as the finding tells; "" for a logon that is not NTLM.
func CauseOf(f *findings.Finding) string {
	if f.Mechanism != "ntlm" && f.Mechanism != "smb1-challenge" {
		return ""
	}
	has := func(x findings.Flag) bool {
		for _, fl := range f.Flags {
			if fl == x {
				return true
			}
		}
		return false
	}
	switch {
	case has(findings.FlagLocalAccount):
		return "local_account"
	case has(findings.FlagIPTarget):
		return "ip_target"
	case has(findings.FlagNTLMDirect):
		return "ntlm_direct"
	case f.NTLM.Version == "anonymous":
		return "unexplained"
	case !has(findings.FlagNTLMFallback) && f.NTLM.ServerDNSDom == "" && f.NTLM.ServerNbName != "":
		return "workgroup_server"
	case !has(findings.FlagNTLMFallback):
		return "kerberos_not_offered"
	}
	return "unexplained"
}
