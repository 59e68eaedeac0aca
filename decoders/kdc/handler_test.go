package kdc_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/kdc"
	"ntlmsensor/findings"
)

func pieces(t testing.TB, rel string) []carriertest.Piece {
	var ps []carriertest.Piece
	for _, s := range pcaptest.Segments(t, rel) {
		ps = append(ps, carriertest.Piece{ToServer: s.DstPort == 88, Data: s.Payload})
	}
	return ps
}

// findingsOnly leaves out the observations: the steps awaiting a retry.
func findingsOnly(fs []*findings.Finding) []*findings.Finding {
	return slices.DeleteFunc(fs, (*findings.Finding).Observation)
}

// TestExchanges pins the KDC findings of the MIT/Samba captures: the
// PREAUTH_REQUIRED round is not an outcome, errors name themselves.
func TestExchanges(t *testing.T) {
	for _, tc := range []struct {
		rel                  string
		request, user, sname string
		outcome              findings.Outcome
		errName              string
		ticket, session      int32
		flags                []findings.Flag
	}{
		{"real-implementations/krb_preauth_failed.pcap", "AS", "alice", "krbtgt/LAB.TEST", findings.Failure, "KDC_ERR_PREAUTH_FAILED", 0, 0, []findings.Flag{findings.FlagKrbPreauthFailed}},
		{"real-implementations/krb_unknown_client.pcap", "AS", "nosuchuser", "krbtgt/LAB.TEST", findings.Failure, "KDC_ERR_C_PRINCIPAL_UNKNOWN", 0, 0, []findings.Flag{}},
		{"real-implementations/krb_clock_skew_as_impacket.pcap", "AS", "bob", "krbtgt/LAB.TEST", findings.Failure, "KRB_AP_ERR_SKEW", 0, 0, []findings.Flag{findings.FlagKrbClockSkew}},
	} {
		// these captures hold one TCP connection per exchange; Drive
		// replays them as one, which the handler takes in order
		fs := findingsOnly(carriertest.Drive(kdc.Carrier, pieces(t, tc.rel), 1<<20))
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings", tc.rel, len(fs))
		}
		f := fs[0]
		if string(f.Kerberos.Request) != tc.request || f.UserName != tc.user || f.UserDomain != "LAB.TEST" || f.Kerberos.SName != tc.sname ||
			f.Outcome != tc.outcome || f.Kerberos.Error != tc.errName || f.Reason != tc.errName || f.Protocol != "kerberos" {
			t.Errorf("%s: %+v", tc.rel, f)
		}
		if len(f.Flags) != len(tc.flags) || (len(tc.flags) > 0 && f.Flags[0] != tc.flags[0]) {
			t.Errorf("%s: flags %v, want %v", tc.rel, f.Flags, tc.flags)
		}
	}
}

func TestRC4OnlyClient(t *testing.T) {
	for _, chunk := range []int{1 << 20, 10, 1} {
		fs := findingsOnly(carriertest.Drive(kdc.Carrier, pieces(t, "real-implementations/krb_rc4_only_client.pcap"), chunk))
		if len(fs) != 2 {
			t.Fatalf("chunk %d: %d findings", chunk, len(fs))
		}
		as, tgs := fs[0], fs[1]
		if as.Kerberos.Request != "AS" || as.Kerberos.TicketEtype != 18 || as.Kerberos.SessionEtype != 23 || as.Outcome != findings.Success ||
			len(as.Kerberos.Etypes) != 1 || as.Kerberos.Etypes[0] != 23 {
			t.Errorf("AS: %+v", as.Kerberos)
		}
		if tgs.Kerberos.Request != "TGS" || tgs.Kerberos.SName != "cifs/dc1.lab.test" || tgs.UserName != "bob" || tgs.Kerberos.SessionEtype != 23 {
			t.Errorf("TGS: %+v %s", tgs.Kerberos, tgs.UserName)
		}
		for _, f := range fs {
			if len(f.Flags) != 1 || f.Flags[0] != findings.FlagKrbRC4 {
				t.Errorf("flags %v", f.Flags)
			}
		}
	}
}

// TestUDP: kinit over UDP, one datagram each way per exchange.
func TestUDP(t *testing.T) {
	fs := carriertest.Drive(&carrier.Carrier{Protocol: "kerberos", Detect: kdc.Carrier.Detect, New: func(c *carrier.Conn) carrier.Handler {
		c.UDP = true
		return kdc.Carrier.New(c)
	}}, pieces(t, "public/arkime/tests/pcap/krb5-udp.pcap"), 1<<20)
	if len(fs) != 1 || fs[0].Kerberos.Request != "AS" || fs[0].Outcome != findings.Unknown || fs[0].Transport != "udp" {
		t.Fatalf("%d findings: %+v", len(fs), fs)
	}
}

// TestDetectIsStrict: text protocols whose first bytes happen to look like
// a record mark and an APPLICATION tag are not taken.
func TestDetectIsStrict(t *testing.T) {
	for _, b := range []string{"220 mail.lab.test ESMTP ntlm-test-server\r\n", "* OK IMAP4 ready\r\n", "+OK POP3\r\n", "GET / HTTP/1.1\r\n"} {
		for _, toServer := range []bool{true, false} {
			if v := kdc.Carrier.Detect(toServer, []byte(b)); v == carrier.Yes {
				t.Errorf("%q taken as Kerberos", b)
			}
		}
	}
	for _, p := range pieces(t, "real-implementations/krb_as_tgs_aes_success.pcap") {
		if v := kdc.Carrier.Detect(p.ToServer, p.Data); v != carrier.Yes {
			t.Errorf("real KDC message not taken: %x", p.Data[:8])
		}
	}
}

// authsod is Windows Server 2016 asking its DC over TCP (Microsoft's
// protocol overview captures): AS-REQ answered KDC_ERR_PREAUTH_REQUIRED,
// the AS-REQ again with PA-ENC-TIMESTAMP on a new connection, then two
// TGS exchanges.
const authsod = "public/windows-formats/microsoft__prot-od-netcaps/[MS-AUTHSOD]-captureALL/MS-AUTHSOD_Example2-1_Win2016_X64_Win2016_X64_Domain.cap"

// TestSameAsPipeline: the KDC connections of real captures, fed to the
// handler whole or cut anywhere (and run together as one connection),
// give the findings of the pipeline.
func TestSameAsPipeline(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want int
	}{
		{authsod, 3},
		{"real-implementations/krb_as_tgs_aes_success.pcap", 2},
		{"real-implementations/krb_tgs_unknown_spn.pcap", 3},
		{"real-implementations/krb_clock_skew_tgs.pcap", 3},
	} {
		carriertest.SameAsPipeline(t, kdc.Carrier, tc.rel, 88, tc.want)
	}
}

// TestWindowsExchanges pins the Windows client's exchanges of authsod.
func TestWindowsExchanges(t *testing.T) {
	fs := carriertest.Analyse(t, authsod, kdc.Carrier)
	var got []string
	for _, f := range fs {
		got = append(got, string(f.Kerberos.Request)+" "+f.UserName+"@"+f.Kerberos.Realm+" "+f.Kerberos.SName+" "+string(f.Outcome))
	}
	want := []string{
		"AS Administrator@CONTOSO krbtgt/CONTOSO success",
		"TGS Administrator@CONTOSO.COM host/client01.contoso.com success",
		"TGS Administrator@CONTOSO.COM LDAP/DC01.CONTOSO.COM/CONTOSO.COM success",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStepsAwaitRetry: KDC_ERR_PREAUTH_REQUIRED and KRB_ERR_RESPONSE_TOO_BIG
// end no exchange: each is an observation carrying the finding the
// exchange makes if the client never asks again (outcome unknown, the
// error as reason), for the audit stage to decide. A UDP-only client's
// three AS exchanges, each on its own port, fed as one conversation.
func TestStepsAwaitRetry(t *testing.T) {
	fs := carriertest.Drive(&carrier.Carrier{Protocol: "kerberos", Detect: kdc.Carrier.Detect, New: func(c *carrier.Conn) carrier.Handler {
		c.UDP = true
		return kdc.Carrier.New(c)
	}}, pieces(t, "real-implementations/audit/krb_response_too_big_udp_only_then_ntlm.pcap"), 1<<20)
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%v %s %s@%s %s %s", f.Observation(), f.Outcome, f.UserName, f.UserDomain, f.Reason, f.Kerberos.Error))
	}
	want := []string{
		"true unknown alice@LAB.TEST KDC_ERR_PREAUTH_REQUIRED KDC_ERR_PREAUTH_REQUIRED",
		"true unknown alice@LAB.TEST KRB_ERR_RESPONSE_TOO_BIG KRB_ERR_RESPONSE_TOO_BIG",
		"true unknown alice@LAB.TEST KRB_ERR_RESPONSE_TOO_BIG KRB_ERR_RESPONSE_TOO_BIG",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCyrillicNames: KerberosString carries UTF-8 in practice [RFC 4120
// 5.2.1, RFC 6806 11]; MIT kinit and kvno for алиса@LAB.TEST and
// host/сервер.lab.test (pcaps/generator/scen_utf8.sh) keep their bytes
// from the wire to the output, where tshark 4.0 shows replacement
// characters.
func TestCyrillicNames(t *testing.T) {
	fs := carriertest.Analyse(t, "real-implementations/utf8/krb_cyrillic_principal_mit.pcap", kdc.Carrier)
	if len(fs) != 2 {
		t.Fatalf("%d findings:\n%s", len(fs), carriertest.Dump(fs))
	}
	alice := "\xd0\xb0\xd0\xbb\xd0\xb8\xd1\x81\xd0\xb0" // алиса
	for i, want := range []struct{ request, sname string }{
		{"AS", "krbtgt/LAB.TEST"},
		{"TGS", "host/\xd1\x81\xd0\xb5\xd1\x80\xd0\xb2\xd0\xb5\xd1\x80.lab.test"}, // сервер
	} {
		f := fs[i]
		if string(f.Kerberos.Request) != want.request || f.UserName != alice || f.UserDomain != "LAB.TEST" || f.Kerberos.Realm != "LAB.TEST" ||
			f.Kerberos.SName != want.sname || f.Outcome != findings.Success {
			t.Errorf("finding %d: %s %q@%q %q %s", i, f.Kerberos.Request, f.UserName, f.UserDomain, f.Kerberos.SName, f.Outcome)
		}
		d := carriertest.Doc(t, f)
		if got := carriertest.Lookup(d, "user.name"); got != "алиса" {
			t.Errorf("finding %d: user.name written %q", i, got)
		}
		if got := carriertest.Lookup(d, "kerberos.sname"); got != want.sname {
			t.Errorf("finding %d: kerberos.sname written %q", i, got)
		}
	}
}
