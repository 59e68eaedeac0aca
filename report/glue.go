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

// Cause documents one cause: what it means, what to do, and the Windows
// events that confirm it on the hosts.
type Cause struct {
	ID          string
	Meaning     string
	Remediation string
	Events      string
}

// causes is the cause registry (GLUE(audit): audit's registry replaces it).
var causes = []Cause{
	{"local_account", "the account is local to the server (or the client), not a domain account", "use a domain account, or accept NTLM for this local account until LocalKDC", "4624 on the server: Authentication Package NTLM, Account Domain = the server's name; 4776 on the server, not on a DC"},
	{"ip_target", "the client named the service by its IP address, and no SPN names an IP", "have clients use the DNS name, or register an IP SPN (setspn -S HOST/10.1.2.3 server) with TryIPSPN on the clients", "8001 in Microsoft-Windows-NTLM/Operational on the client (target server = an IP); 4624 with Package NTLM on the server"},
	{"ntlm_direct", "the application asked for NTLM itself, not Negotiate", "configure or patch the application to use Negotiate (Kerberos); for IIS, put Negotiate before NTLM in the providers", "8001 (client) and 8002/8003 (server) in Microsoft-Windows-NTLM/Operational, naming the process"},
	{"spn_missing", "the KDC knew no service principal for the name the client used", "register the SPN on the service account (setspn -S)", "4769 on the DC with Failure Code 0x7 (KDC_ERR_S_PRINCIPAL_UNKNOWN)"},
	{"spn_wrong_account", "the SPN belongs to another account than the one running the service", "move the SPN to the account that runs the service (setspn -Q to find duplicates)", "4769 success on the DC, then KRB_AP_ERR_MODIFIED; System log event 4 (Kerberos) on the client"},
	{"clock_skew", "the client's clock is more than 5 minutes off", "fix time synchronisation (w32tm /resync; the PDC emulator's time source)", "4771 with Failure Code 0x25 on the DC; System event 4 (KRB_AP_ERR_SKEW) on the client"},
	{"kdc_unreachable", "the client reached no domain controller for Kerberos", "open TCP/UDP 88 to the DCs; check DNS SRV records (_kerberos._tcp)", "System log: Kerberos 7 / Security-Kerberos 4 on the client; no 4768/4769 for it on the DCs"},
	{"cross_domain", "the account belongs to another domain or forest without a usable trust path for Kerberos", "create or fix the trust (forest trust with selective authentication), or use an account of the server's domain", "4624 with Package NTLM on the server, Account Domain foreign; 4776 on the trusted DC"},
	{"workgroup_server", "the server is not in a domain", "join the server to the domain, or accept NTLM for it", "4624 on the server with Package NTLM and a local Account Domain"},
	{"kerberos_not_offered", "the server offered only NTLM", "enable Negotiate/Kerberos on the service (IIS providers, SQL Server SPNs, appliance settings)", "8002/8003 in Microsoft-Windows-NTLM/Operational on the server"},
	{"unexplained", "Kerberos was offered and none of the known causes was seen", "audit NTLM on the client (Network security: Restrict NTLM: Audit outgoing NTLM traffic) and read why", "8001 in Microsoft-Windows-NTLM/Operational on the client; 4624 Package NTLM, Package Name (NTLM only) NTLM V2 on the server"},
}

// causeInfo is the registry entry of id.
func causeInfo(id string) Cause {
	for _, c := range causes {
		if c.ID == id {
			return c
		}
	}
	return Cause{ID: id}
}
