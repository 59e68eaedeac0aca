package kdc_test

import (
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
		fs := carriertest.Drive(kdc.Carrier, pieces(t, tc.rel), 1<<20)
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
		fs := carriertest.Drive(kdc.Carrier, pieces(t, "real-implementations/krb_rc4_only_client.pcap"), chunk)
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

func FuzzHandler(f *testing.F) {
	for _, rel := range []string{"real-implementations/krb_as_tgs_aes_success.pcap", "real-implementations/krb_tgs_spn_is_ip.pcap"} {
		var c, s []byte
		for _, p := range pieces(f, rel) {
			if p.ToServer {
				c = append(c, p.Data...)
			} else {
				s = append(s, p.Data...)
			}
		}
		f.Add(c, s, uint16(1460))
	}
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16) {
		for _, fd := range carriertest.Drive(kdc.Carrier, carriertest.Alternate(client, server, int(chunk%4096)+1), 1460) {
			if fd.Protocol != "kerberos" || fd.Kerberos.Request == "" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			fd.AppendJSON(nil)
		}
	})
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
