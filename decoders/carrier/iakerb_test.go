package carrier_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/findings"
)

// TestExchangeIAKerbReal drives an Exchange with MIT krb5's real IAKerb
// tokens (pcaps/real-implementations/iakerb, gss-client -iakerb with the
// KDC unreachable from the client): the AS and TGS exchanges the server
// relays, then the AP-REQ. The finding is Kerberos, AP, with what the
// relayed exchanges showed: the account, the etypes asked for, the ticket.
func TestExchangeIAKerbReal(t *testing.T) {
	cl, sv := pcaptest.GSSSampleTokens(t, "real-implementations/iakerb/gss_sample_iakerb.pcap")
	var x carrier.Exchange
	for i := 0; i < 4; i++ {
		final := x.ClientToken(cl[i])
		if final != (i == 3) || x.Err != nil {
			t.Fatalf("client token %d: final %v, err %v", i, final, x.Err)
		}
		x.ServerToken(sv[i])
		if x.Err != nil {
			t.Fatalf("server token %d: %v", i, x.Err)
		}
		if i == 0 && x.KerberosError() != findings.KrbErrPreauthRequired {
			t.Errorf("relayed KRB-ERROR: %q", x.KerberosError())
		}
	}
	f := x.Finish(findings.Success, "")
	k := f.Kerberos
	if f.Mechanism != findings.MechKerberos || k.Request != findings.KerberosAP || k.Realm != "MIT.TEST" ||
		k.SName != "HTTP/web.mit.test" || k.Error != "" || !slices.Contains(k.Etypes, findings.EtypeAES256SHA1) ||
		k.TicketEtype != findings.EtypeAES256SHA1 || k.SessionEtype != findings.EtypeAES256SHA1 ||
		!f.HasUser || f.UserName != "alice" || f.UserDomain != "MIT.TEST" || f.SPNEGO == findings.True {
		t.Errorf("finding: %+v", f)
	}
}

// The wrong password: the relayed AS exchange ends in PREAUTH_FAILED and no
// AP-REQ follows; the carrier finishes the attempt as failed.
func TestExchangeIAKerbWrongPasswordReal(t *testing.T) {
	cl, sv := pcaptest.GSSSampleTokens(t, "real-implementations/iakerb/gss_sample_iakerb_wrong_password.pcap")
	var x carrier.Exchange
	for i := range cl {
		if x.ClientToken(cl[i]) {
			t.Fatalf("client token %d final", i)
		}
		x.ServerToken(sv[i])
	}
	f := x.Finish(findings.Failure, "")
	if f.Mechanism != findings.MechKerberos || f.Kerberos.Request != findings.KerberosAS ||
		f.Kerberos.Error != findings.KrbErrPreauthFailed || f.Kerberos.SName != "krbtgt/MIT.TEST" || f.UserName != "alice" {
		t.Errorf("finding: %+v", f)
	}
}

// TestExchangeNegoExOffered: a client's SPNEGO NegTokenInit offering NegoEx
// and NTLM with an optimistic NegoEx INITIATOR_NEGO names the NegoEx
// schemes in auth.offered. The bytes are a Windows 10 server's real
// NegTokenInit2 (ACCEPTOR_NEGO for PKU2U, then its META_DATA) with the first
// message's type turned into INITIATOR_NEGO: no capture here has a client
// sending NegoEx.
func TestExchangeNegoExOffered(t *testing.T) {
	var blob []byte
	for _, s := range pcaptest.Segments(t, "public/arkime/tests/pcap/wireshark-smb-on-windows10.pcap") {
		if s.Frame == 40 {
			blob = s.Payload
		}
	}
	i := indexOf(blob, "NEGOEXTS")
	if i < 0 || binary.LittleEndian.Uint32(blob[i+8:]) != 1 {
		t.Fatal("no ACCEPTOR_NEGO in frame 40")
	}
	blob = append([]byte(nil), blob...)
	binary.LittleEndian.PutUint32(blob[i+8:], 0)
	// The SPNEGO token starts at the GSS 0x60 before the NegoEx message:
	// the SMB2 header and NEGOTIATE response come first.
	start := indexOf(blob[:i], "\x60\x82")
	if start < 0 {
		start = indexOf(blob[:i], "\x60\x81")
	}
	var x carrier.Exchange
	x.ClientToken(blob[start:])
	if x.Err != nil || !slices.Equal(x.Finish(findings.Unknown, "").Offered, []string{"negoex", "ntlm", "pku2u"}) {
		t.Errorf("offered: err %v", x.Err)
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}
