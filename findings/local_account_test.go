package findings_test

import (
	"slices"
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// TestLocalAccountOfTheClient: in Microsoft's AD overview captures the
// client ENDPOINT01 logs on as ENDPOINT01\Administrator, its own local
// administrator, to a domain controller (PDC, domain CONTOSO): over SMB2
// four times (Example 2_4) and to AD Web Services once (Example 2_9).
// The account's domain is the client's workstation name: local_account.
func TestLocalAccountOfTheClient(t *testing.T) {
	const dir = "public/windows-formats/microsoft__prot-od-netcaps/[MS-ADOD]-captureALL/"
	for rel, want := range map[string]int{
		dir + "MS-ADOD_Example2_4_Win2016_X64_Win2016_X64_Domain_ChangeAUserAccount'sPassword.cap":                          4,
		dir + "MS-ADOD_Example2_9_Win2016_X64_Win2016_X64_Domain_ObtainaListOfUserAccountsUsingTheWebServicesProtocols.cap": 1,
	} {
		n := 0
		for _, f := range carriertest.Analyse(t, rel, sensor.Carriers()...) {
			if f.Mechanism != findings.MechNTLM {
				continue
			}
			n++
			if f.UserDomain != "ENDPOINT01" || f.NTLM.Workstation != "ENDPOINT01" || f.NTLM.ServerNbName != "PDC" ||
				!slices.Contains(f.Flags, findings.FlagLocalAccount) {
				t.Errorf("%s: %s", rel, carriertest.Dump([]*findings.Finding{f}))
			}
		}
		if n != want {
			t.Errorf("%s: %d NTLM findings, want %d", rel, n, want)
		}
	}
}
