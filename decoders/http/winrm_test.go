package http_test

import (
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/http"
	"ntlmsensor/findings"
)

// TestWinRMKerberosScheme: WinRM (WS-Management on 5985) authenticates with
// "Authorization: Kerberos" [MS-WSMV 2.2.9.1.1], a bare GSS-API AP-REQ,
// answered by "WWW-Authenticate: Kerberos" with the AP-REP. Microsoft's
// WinRM overview capture holds three such logons; the client requests sit
// in IPv6 LSO frames (payload length 0) that tshark 4.0 marks malformed.
func TestWinRMKerberosScheme(t *testing.T) {
	const rel = "public/windows-formats/microsoft__prot-od-netcaps/[MS-WMOD]-captureALL/MS-WMOD_Example6_WS2016_X64_Win10_X64_Domain_Hagala.cap"
	fs := carriertest.Analyse(t, rel, http.Carrier)
	if len(fs) != 3 {
		t.Fatalf("%d findings, want 3:\n%s", len(fs), carriertest.Dump(fs))
	}
	for _, f := range fs {
		d := carriertest.Doc(t, f)
		if f.Protocol != findings.ProtoHTTP || f.Server.Port() != 5985 || f.Mechanism != findings.MechKerberos ||
			f.Outcome != findings.Success || f.Kerberos.Request != findings.KerberosAP || f.SPNEGO != findings.False ||
			f.Kerberos.Realm != "CONTOSO.COM" || f.Kerberos.SName != "HTTP/SUT01" || f.Kerberos.TicketEtype != 18 ||
			f.Client.Addr().String() != "2008::65" || f.Reason != "HTTP 200" {
			t.Errorf("not a WinRM Kerberos logon: %v", d)
		}
	}
}
