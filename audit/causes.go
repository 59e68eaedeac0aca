package audit

import (
	"fmt"
	"strings"
)

// Cause is why an NTLM logon was not Kerberos: the ids of ntlm.cause in
// the output contract (docs/CONTRACT.md).
type Cause string

const (
	CauseLocalAccount       Cause = "local_account"
	CauseIPTarget           Cause = "ip_target"
	CauseNTLMDirect         Cause = "ntlm_direct"
	CauseSPNMissing         Cause = "spn_missing"
	CauseSPNWrongAccount    Cause = "spn_wrong_account"
	CauseClockSkew          Cause = "clock_skew"
	CauseKDCUnreachable     Cause = "kdc_unreachable"
	CauseCrossDomain        Cause = "cross_domain"
	CauseWorkgroupServer    Cause = "workgroup_server"
	CauseKerberosNotOffered Cause = "kerberos_not_offered"
	CauseUnexplained        Cause = "unexplained"
)

// CauseInfo documents a cause: when the sensor says it, what removes it,
// which Windows events confirm it on the hosts, and Microsoft's pages.
type CauseInfo struct {
	ID          Cause
	When        string
	Remediation string
	// RemovedBy names the fix that makes the dependency go away: a
	// Microsoft feature (IAKerb, LocalKDC), a configuration change (an SPN,
	// a name instead of an IP, Negotiate in the application), or "vendor"
	// when only the maker of the device or software can (NAS, appliances,
	// macOS and other non-Windows clients).
	RemovedBy string
	Events    string   // Windows events that confirm it on the hosts
	Docs      []string // Microsoft documentation
}

// Microsoft's pages the causes cite.
const (
	// 4624: Authentication Package NTLM, Package Name (NTLM only) NTLM V1/V2.
	docEvent4624 = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4624"
	// 4776: the DC validated an NTLM credential (Source Workstation names the client).
	docEvent4776 = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4776"
	// 4769: service ticket requests; failure code 0x7 (principal unknown), 0x25 (skew).
	docEvent4769 = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4769"
	// 4771: Kerberos pre-authentication failed; failure code 0x25 (clock skew).
	docEvent4771 = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4771"
	// Restrict NTLM auditing: events 8001 (client), 8002 (server), 8003/8004 (domain controller)
	// in Applications and Services Logs/Microsoft/Windows/NTLM/Operational.
	docAuditNTLMDomain   = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/network-security-restrict-ntlm-audit-ntlm-authentication-in-this-domain"
	docAuditNTLMIncoming = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/network-security-restrict-ntlm-audit-incoming-ntlm-traffic"
	// KB5064479: the enhanced NTLM audit of Windows 11 24H2 / Server 2025
	// (events 4020-4023 in the NTLM Operational log, with the reason NTLM was chosen).
	docEnhancedNTLMAudit = "https://support.microsoft.com/en-gb/topic/overview-of-ntlm-auditing-enhancements-in-windows-11-version-24h2-and-windows-server-2025-b7ead732-6fc5-46a3-a943-27a4571d9e7b"
	// 2889: a client bound to LDAP without signing (client IP and identity).
	docEvent2889 = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/ee410989(v=ws.10)"
	// Service principal names (setspn).
	docSPN = "https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/setspn"
	// Maximum tolerance for computer clock synchronization (5 minutes by default).
	docClockSkew = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/maximum-tolerance-for-computer-clock-synchronization"
	// IAKerb (Initial and Pass Through Authentication Using Kerberos V5 and the GSS-API).
	docIAKerb = "https://datatracker.ietf.org/doc/draft-ietf-kitten-iakerb/"
)

const ntlmEvents = "4624 on the server with Authentication Package NTLM and Package Name NTLM V1/V2; 4776 on the DC for domain accounts; NTLM Operational 8001 (client), 8002 (server), 8003/8004 (DC) with Restrict NTLM auditing on; 4020-4023 with the reason NTLM was chosen on Windows 11 24H2 / Server 2025"

// Causes lists every cause, most decisive first: ntlm.causes is in this
// order, and ntlm.cause is the first that applies. The README table and
// `ntlmsensor -list-causes` are made from it.
var Causes = []CauseInfo{
	{CauseLocalAccount, "the account's domain is the server's NetBIOS name, or the client's own workstation name, or empty / .",
		"use a domain account, or LocalKDC for local accounts once available", "LocalKDC",
		"4624 on the server with Account Domain = the server's (or client's) name and Authentication Package NTLM; no 4776 on any DC (the server validated it itself); 4020-4023 in the NTLM Operational log on Windows 11 24H2 / Server 2025",
		[]string{docEvent4624, docEnhancedNTLMAudit}},
	{CauseIPTarget, "the client named the service by IP (NTLM target name, SMB tree, HTTP Host, Kerberos sname)",
		"connect by DNS name (or register IP SPNs and allow them, TryIPSPN)", "a name instead of an IP",
		"4624 on the server (NTLM) with the client's address; 8001 on the client names the target by IP; 4769 with failure code 0x7 when an IP SPN was asked",
		[]string{docEvent4624, docAuditNTLMIncoming, docEnhancedNTLMAudit}},
	{CauseNTLMDirect, "NTLM without Negotiate/SPNEGO: the application asked for NTLM itself",
		"have the application call Negotiate (SPNEGO), not NTLM", "Negotiate in the app",
		"4624 with Logon Process NtLmSsp and Authentication Package NTLM; 8001/8002 name the calling process; " + ntlmEvents,
		[]string{docEvent4624, docEnhancedNTLMAudit}},
	{CauseSPNMissing, "the same client got KDC_ERR_S_PRINCIPAL_UNKNOWN for an SPN naming this server shortly before",
		"register the SPN on the service account (setspn -S), or connect by the name that has it", "an SPN",
		"4769 on the DC with Failure Code 0x7 for the SPN; then 4776 and 4624 (NTLM) for the same client",
		[]string{docEvent4769, docSPN, docEvent4776}},
	{CauseSPNWrongAccount, "the server refused the client's AP-REQ with KRB_AP_ERR_MODIFIED (a ticket for another account: duplicate or misplaced SPN), then NTLM followed",
		"find the SPN on the wrong or on two accounts (setspn -Q / -X) and move it to the account that runs the service", "an SPN",
		"4769 success on the DC for the SPN, then System event 4 (Kerberos KRB_AP_ERR_MODIFIED) on the client, then 4624 (NTLM) on the server",
		[]string{docEvent4769, docSPN}},
	{CauseClockSkew, "KRB_AP_ERR_SKEW for this client from the KDC or the server shortly before",
		"fix time synchronisation (W32Time/NTP): clocks more than 5 minutes apart break Kerberos", "time sync",
		"4771 or 4769 on the DC with Failure Code 0x25; then 4624 (NTLM)",
		[]string{docEvent4771, docEvent4769, docClockSkew}},
	{CauseKDCUnreachable, "the client's AS/TGS requests went unanswered, or the client shows no Kerberos at all while the sensor sees other clients' KDC traffic",
		"open Kerberos (88/tcp+udp) from the client to a DC, fix DC location (DNS SRV records), or let IAKerb relay through the server", "IAKerb",
		"no 4768/4769 on any DC for the client; 4624 (NTLM) on the server and 4776 on the DC; 8001 on the client",
		[]string{docEvent4769, docEvent4776, docIAKerb, docEnhancedNTLMAudit}},
	{CauseCrossDomain, "the account's domain is neither the server's domain (CHALLENGE target info) nor a local name",
		"a forest or external trust with Kerberos (name suffix routing, conditional forwarders), or IAKerb", "IAKerb",
		"4776 on the DC of the account's domain (pass-through from the server's DC); 4624 (NTLM) with the foreign Account Domain; 8004 on the server's DC",
		[]string{docEvent4776, docAuditNTLMDomain, docIAKerb}},
	{CauseWorkgroupServer, "the server is not in a domain: its CHALLENGE names no DNS domain, or its domain is its own name (NAS, appliance)",
		"join the server to the domain, or ask its vendor for Kerberos (keytab) support", "vendor",
		"4624 (NTLM, local account) on a Windows workgroup server; the device's own log otherwise; no 4776 on any DC",
		[]string{docEvent4624, docEnhancedNTLMAudit}},
	{CauseKerberosNotOffered, "the server offered only NTLM (SPNEGO without Kerberos, WWW-Authenticate: NTLM only)",
		"enable Negotiate/Kerberos on the service (IIS Windows Authentication providers, the app's SSPI package) and give it an SPN", "Negotiate in the app",
		"4624 with Authentication Package NTLM on the server; 8002 on the server; for LDAP, 2889 on the DC names the client and account of an unsigned bind",
		[]string{docEvent4624, docAuditNTLMIncoming, docEvent2889}},
	{CauseUnexplained, "Kerberos was offered and none of the above was seen",
		"look at the client: klist, the System log's Kerberos events, and the NTLM Operational log's reason (Windows 11 24H2 / Server 2025)", "unknown",
		ntlmEvents,
		[]string{docEnhancedNTLMAudit, docEvent4624, docEvent4776}},
}

// rank is each cause's place in Causes.
var rank = func() map[Cause]int {
	m := make(map[Cause]int, len(Causes))
	for i, c := range Causes {
		m[c.ID] = i
	}
	return m
}()

// Info returns the registry entry of c.
func Info(c Cause) (CauseInfo, bool) {
	i, ok := rank[c]
	if !ok {
		return CauseInfo{}, false
	}
	return Causes[i], true
}

// CauseTable is the README's table of causes, made from Causes (a test
// keeps the README equal to it).
func CauseTable() string {
	var b strings.Builder
	b.WriteString("| cause | when | remediation | removed by | Windows events that confirm it |\n|---|---|---|---|---|\n")
	for _, c := range Causes {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, c.When, c.Remediation, c.RemovedBy, c.Events)
	}
	return b.String()
}
