package detect

import "ntlmsensor/findings"

// Rule is one detection: its rule.* and threat.* fields.
type Rule struct {
	ID, Name, Description  string
	TechniqueID, Technique string // threat.technique.id / .name (MITRE ATT&CK)
	// Severity is event.severity (1 low … 4 critical, as on findings) and,
	// through findings.Severity.RiskScore, event.risk_score (21 … 99).
	Severity findings.Severity
}

const (
	medium   = findings.SeverityMedium
	high     = findings.SeverityHigh
	critical = findings.SeverityCritical
)

// RuleID indexes Rules and Stats.Alerts.
type RuleID int

// The rules, in the order README.md lists them.
const (
	RelayResponse RuleID = iota
	RelayChallenge
	RelayTarget
	MICRemoved
	FlagsStripped
	RogueServer
	PasswordSpray
	BruteForce
	Kerberoasting
	ASREPRoasting
	KrbDowngradeRequest
	KrbDowngradeReply
	Coercion
	numRules
)

// MITRE ATT&CK techniques:
// https://attack.mitre.org/techniques/T1557/001/ (LLMNR/NBT-NS Poisoning and SMB Relay),
// https://attack.mitre.org/techniques/T1187/ (Forced Authentication),
// https://attack.mitre.org/techniques/T1110/001/ and /T1110/003/ (Password Guessing, Spraying),
// https://attack.mitre.org/techniques/T1558/003/ and /T1558/004/ (Kerberoasting, AS-REP Roasting),
// https://attack.mitre.org/techniques/T1556/001/ (Domain Controller Authentication: skeleton key).
const (
	t1557  = "T1557.001"
	t1557n = "LLMNR/NBT-NS Poisoning and SMB Relay"
)

// Rules are the detections, indexed by RuleID.
var Rules = [numRules]Rule{
	RelayResponse: {"ntlm_relay_response", "NTLM relay: one response on two servers",
		"The same NTLM response (compared by a keyed digest of NTProofStr) was sent to two different servers: a host in the middle relayed the client's authentication.",
		t1557, t1557n, critical},
	RelayChallenge: {"ntlm_relay_challenge", "NTLM relay: one server challenge on two servers",
		"The same NTLM server challenge was seen from two different servers: one of them forwarded the other's CHALLENGE, as a relay does.",
		t1557, t1557n, high},
	RelayTarget: {"ntlm_relay_target", "NTLM relay: target name names another host",
		"The SPN in the AUTHENTICATE (MsvAvTargetName) names another host than the server that received it: the client authenticated to that host and the message was relayed here.",
		t1557, t1557n, high},
	MICRemoved: {"ntlm_mic_removed", "NTLM MIC removed (drop the MIC, CVE-2019-1040)",
		"MsvAvFlags in the NTLMv2 response says a MIC is present, but the AUTHENTICATE carries none: the MIC was stripped in transit so the message could be relayed and its flags changed.",
		t1557, t1557n, critical},
	FlagsStripped: {"ntlm_flags_stripped", "NTLM signing flags stripped",
		"The AUTHENTICATE lacks NEGOTIATE_SIGN or NEGOTIATE_KEY_EXCH that the client's NEGOTIATE asked for and the server's CHALLENGE granted on the same connection: a relay removed them to avoid signing.",
		t1557, t1557n, high},
	RogueServer: {"ntlm_rogue_server", "Rogue NTLM server (fixed challenge)",
		"One NTLM server challenge value was used on many connections (or is a well-known fixed one such as 1122334455667788): a rogue server such as Responder collecting crackable responses.",
		t1557, t1557n, high},
	PasswordSpray: {"password_spray", "Password spraying",
		"One client failed NTLM or Kerberos logons for many accounts within the window.",
		"T1110.003", "Password Spraying", high},
	BruteForce: {"brute_force", "Password guessing (brute force)",
		"One client failed NTLM or Kerberos logons for one account many times within the window.",
		"T1110.001", "Password Guessing", medium},
	Kerberoasting: {"kerberoasting", "Kerberoasting",
		"One client requested service tickets for many SPNs within the window, preferring RC4: tickets to crack offline for the service accounts' passwords.",
		"T1558.003", "Kerberoasting", high},
	ASREPRoasting: {"asrep_roasting", "AS-REP roasting",
		"An AS-REQ without pre-authentication was answered with an AS-REP: the account does not require pre-authentication and anyone can get a reply to crack offline.",
		"T1558.004", "AS-REP Roasting", high},
	KrbDowngradeRequest: {"kerberos_downgrade_request", "Kerberos RC4 downgrade (request)",
		"A client that offered AES for an account before sent an AS-REQ offering only RC4/DES for it: skeleton-key style downgrade, or overpass-the-hash with an NT hash.",
		"T1556.001", "Domain Controller Authentication", high},
	KrbDowngradeReply: {"kerberos_downgrade_reply", "Kerberos RC4 downgrade (reply)",
		"The KDC answered an AS-REQ that offered AES with a reply sealed in RC4: the account has no AES keys, or the KDC was patched (skeleton key).",
		"T1556.001", "Domain Controller Authentication", medium},
	Coercion: {"coerced_authentication", "Coerced authentication",
		"A machine account authenticated with NTLM to a host that is not a domain controller right after an RPC call known to coerce authentication (MS-RPRN, MS-EFSR, MS-DFSNM, MS-FSRVP) was seen.",
		"T1187", "Forced Authentication", high},
}
