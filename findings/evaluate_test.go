package findings

import (
	"slices"
	"testing"
)

// TestEvaluate: one row per flag, each the smallest finding that raises it,
// beside a near miss that must not. The catalogue must have a row here for
// every flag it lists.
func TestEvaluate(t *testing.T) {
	ntlmv2 := func(mod func(*Finding)) Finding {
		f := Finding{Mechanism: MechNTLM, SPNEGO: True, ServerOfferedKerberos: false,
			HasUser: true, UserName: "alice", UserDomain: "LAB",
			NTLM: NTLMFacts{Version: NTLMv2, MIC: True, ServerNbName: "FS1", Sign: True}}
		if mod != nil {
			mod(&f)
		}
		return f
	}
	tests := []struct {
		flag     Flag
		raise    Finding
		nearMiss Finding
	}{
		{FlagNTLMv1, ntlmv2(func(f *Finding) { f.NTLM.Version = NTLMv1ESS }), ntlmv2(nil)},
		{FlagNTLMLM, ntlmv2(func(f *Finding) { f.NTLM.Version, f.NTLM.LMResponse = NTLMv1, True }), ntlmv2(func(f *Finding) { f.NTLM.Version, f.NTLM.LMResponse = NTLMv1, False })},
		{FlagNTLMAnonymous, ntlmv2(func(f *Finding) { f.NTLM.Version, f.UserName, f.UserDomain = NTLMAnonymous, "", "" }), ntlmv2(nil)},
		{FlagIPTarget, ntlmv2(func(f *Finding) { f.NTLM.TargetName = "cifs/192.0.2.7" }), ntlmv2(func(f *Finding) { f.NTLM.TargetName = "cifs/fs1.lab.test" })},
		{FlagNTLMFallback, ntlmv2(func(f *Finding) { f.ServerOfferedKerberos = true }), ntlmv2(nil)},
		{FlagNTLMDirect, ntlmv2(func(f *Finding) { f.SPNEGO = False }), ntlmv2(nil)},
		{FlagLocalAccount, ntlmv2(func(f *Finding) { f.UserDomain = "fs1" }), ntlmv2(nil)},
		{FlagLocalAccount, ntlmv2(func(f *Finding) { f.UserDomain, f.NTLM.Workstation = "endpoint01", "ENDPOINT01" }), ntlmv2(func(f *Finding) { f.NTLM.Workstation = "ENDPOINT01" })},
		{FlagNTLMNoMIC, ntlmv2(func(f *Finding) { f.NTLM.MIC = False }), ntlmv2(func(f *Finding) { f.NTLM.Version, f.NTLM.MIC = NTLMv1, False })},
		{FlagSMBUnsigned, Finding{Protocol: ProtoSMB, SMB: SMBFacts{SigningRequired: False, Signed: False}},
			Finding{Protocol: ProtoSMB, SMB: SMBFacts{SigningRequired: False, Signed: False, Encrypted: True}}},
		{FlagSMB1, Finding{Protocol: ProtoSMB, SMB: SMBFacts{Version: "1"}}, Finding{Protocol: ProtoSMB, SMB: SMBFacts{Version: "2.1"}}},
		{FlagLDAPUnsigned, ntlmv2(func(f *Finding) { f.Protocol, f.NTLM.Sign = ProtoLDAP, False }), ntlmv2(func(f *Finding) { f.Protocol, f.NTLM.Sign, f.TLS = ProtoLDAP, False, true })},
		{FlagLDAPCleartext, Finding{Protocol: ProtoLDAP, Mechanism: MechSimple, PasswordSent: true}, Finding{Protocol: ProtoLDAP, Mechanism: MechSimple, PasswordSent: false}},
		{FlagKrbRC4, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{TicketEtype: EtypeRC4HMAC}}, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{TicketEtype: EtypeAES256SHA1, Etypes: []int32{EtypeAES256SHA1, EtypeRC4HMAC}}}},
		{FlagKrbSPNUnknown, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{Error: KrbErrSPrincipalUnknown}}, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{Error: KrbErrCPrincipalUnknown}}},
		{FlagKrbClockSkew, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{Error: KrbErrSkew}}, Finding{Mechanism: MechKerberos}},
		{FlagKrbPreauthFailed, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{Error: KrbErrPreauthFailed}}, Finding{Mechanism: MechKerberos, Kerberos: KerberosFacts{Error: KrbErrPreauthRequired}}},
	}
	covered := map[Flag]bool{}
	for _, tc := range tests {
		covered[tc.flag] = true
		f := tc.raise
		f.Evaluate()
		if !slices.Contains(f.Flags, tc.flag) {
			t.Errorf("%s not raised: %s", tc.flag, f.AppendJSON(nil))
		}
		m := tc.nearMiss
		m.Evaluate()
		if slices.Contains(m.Flags, tc.flag) {
			t.Errorf("%s raised on the near miss: %s", tc.flag, m.AppendJSON(nil))
		}
	}
	for _, info := range Flags {
		if !covered[info.ID] {
			t.Errorf("flag %s has no row here", info.ID)
		}
	}
}
