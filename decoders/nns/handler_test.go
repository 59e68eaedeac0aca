package nns_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"ntlmsensor/decoders/carrier/carriertest"
	"ntlmsensor/decoders/internal/pcaptest"
	"ntlmsensor/decoders/nns"
	"ntlmsensor/findings"
)

// adws is AD Web Services (net.tcp on 9389) from Microsoft's protocol
// overview captures: the preamble, the "application/negotiate" upgrade,
// then NTLMv2 of ENDPOINT01\Administrator in MS-NNS handshake messages
// (frames 30-39) and the server's empty HandshakeDone.
const adws = "public/windows-formats/microsoft__prot-od-netcaps/[MS-ADOD]-captureALL/MS-ADOD_Example2_9_Win2016_X64_Win2016_X64_Domain_ObtainaListOfUserAccountsUsingTheWebServicesProtocols.cap"

func TestADWebServicesNTLM(t *testing.T) {
	fs := carriertest.Analyse(t, adws, nns.Carrier)
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1:\n%s", len(fs), carriertest.Dump(fs))
	}
	d := carriertest.Doc(t, fs[0])
	for k, want := range map[string]any{
		"network.protocol": "nns", "network.transport": "tcp", "destination.port": 9389.0, "source.port": 50981.0,
		"event.outcome": "success", "auth.mechanism": "ntlm", "ntlm.version": "NTLMv2", "ntlm.target_name": "ldap/PDC.contoso.com/contoso.com",
		"user.name": "Administrator", "user.domain": "ENDPOINT01", "ntlm.workstation": "ENDPOINT01",
	} {
		if got := flat(d, k); got != want {
			t.Errorf("%s = %v, want %v\n%s", k, got, want, carriertest.Dump(fs))
		}
	}
}

// flat reads a dotted key of a finding document, nested or not.
func flat(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for i := range key {
		if key[i] == '.' {
			if sub, ok := m[key[:i]].(map[string]any); ok {
				if v := flat(sub, key[i+1:]); v != nil {
					return v
				}
			}
		}
	}
	return nil
}

// handshake returns the ADWS connection's bytes from its first handshake
// message on (frame 30): NegotiateStream without the net.tcp preamble,
// as .NET remoting and NegotiateStream applications send it.
func handshake(t *testing.T) []carriertest.Piece {
	var ps []carriertest.Piece
	for _, s := range pcaptest.Segments(t, adws) {
		if s.Frame >= 30 && s.Frame <= 39 && (s.SrcPort == 9389 || s.DstPort == 9389) {
			ps = append(ps, carriertest.Piece{ToServer: s.DstPort == 9389, Data: s.Payload})
		}
	}
	if len(ps) != 7 || !bytes.HasPrefix(ps[0].Data, []byte{nns.HandshakeInProgress, 1, 0, 0, 0x28}) {
		t.Fatalf("unexpected handshake segments %d", len(ps))
	}
	return ps
}

// TestBareHandshake: the same logon without the preamble, in pieces of
// every size, is the same finding.
func TestBareHandshake(t *testing.T) {
	for _, chunk := range []int{1, 3, 5, 7, 64, 1 << 16} {
		fs := carriertest.Drive(nns.Carrier, handshake(t), chunk)
		if len(fs) != 1 || fs[0].Outcome != findings.Success || fs[0].UserName != "Administrator" ||
			fs[0].UserDomain != "ENDPOINT01" || fs[0].Protocol != findings.ProtoNNS {
			t.Fatalf("chunk %d:\n%s", chunk, carriertest.Dump(fs))
		}
	}
}

// TestHandshakeError: the server's HandshakeError in place of its
// HandshakeDone is a failure named by its HRESULT (SEC_E_LOGON_DENIED,
// written as .NET Framework does, and as .NET does).
func TestHandshakeError(t *testing.T) {
	for _, code := range [][]byte{
		{0, 0, 0, 0, 0x80, 0x09, 0x03, 0x0c},
		{0x0c, 0x03, 0x09, 0x80, 0xff, 0xff, 0xff, 0xff},
	} {
		ps := handshake(t)
		last := &ps[len(ps)-1]
		if last.ToServer || !bytes.Equal(last.Data, []byte{nns.HandshakeDone, 1, 0, 0, 0}) {
			t.Fatalf("last piece %x", last.Data)
		}
		last.Data = append([]byte{nns.HandshakeError, 1, 0, 0, 8}, code...)
		fs := carriertest.Drive(nns.Carrier, ps, 5)
		if len(fs) != 1 || fs[0].Outcome != findings.Failure || fs[0].Reason != "NNS 0x8009030C" || fs[0].UserName != "Administrator" {
			t.Fatalf("%x:\n%s", code, carriertest.Dump(fs))
		}
	}
}

// TestKerberos: Kerberos in SPNEGO, the way NegotiateStream carries it
// when the client gets a ticket: the AP-REQ and AP-REP of a real HTTP
// Negotiate logon (MIT client, AD-style KDC), framed as handshake
// messages.
func TestKerberos(t *testing.T) {
	const rel = "real-implementations/http_negotiate_kerberos.pcap"
	var toks [][]byte
	for _, p := range pcaptest.Find(t, rel, []byte("Negotiate ")) {
		line := p[len("Negotiate "):]
		line = line[:bytes.IndexByte(line, '\r')]
		tok, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if len(toks) != 2 {
		t.Fatalf("%d tokens", len(toks))
	}
	frame := func(id byte, tok []byte) []byte {
		return append([]byte{id, 1, 0, byte(len(tok) >> 8), byte(len(tok))}, tok...)
	}
	fs := carriertest.Drive(nns.Carrier, []carriertest.Piece{
		{ToServer: true, Data: frame(nns.HandshakeInProgress, toks[0])},
		{ToServer: false, Data: frame(nns.HandshakeDone, toks[1])},
	}, 100)
	if len(fs) != 1 {
		t.Fatalf("%d findings:\n%s", len(fs), carriertest.Dump(fs))
	}
	f := fs[0]
	if f.Mechanism != findings.MechKerberos || f.Outcome != findings.Success || f.Kerberos.Request != findings.KerberosAP ||
		f.Kerberos.SName != "HTTP/web.lab.test" || f.Kerberos.Realm != "LAB.TEST" || f.Kerberos.TicketEtype != 23 {
		t.Fatalf("%s", carriertest.Dump(fs))
	}
}

// TestDetect: the client's first bytes, in both forms, and what is not
// NegotiateStream.
func TestDetect(t *testing.T) {
	seg := pcaptest.Segments(t, adws)
	var preamble []byte
	for _, s := range seg {
		if s.Frame == 26 {
			preamble = s.Payload
		}
	}
	for _, c := range []struct {
		toServer bool
		b        []byte
		want     int
	}{
		{true, preamble, 2}, {true, preamble[:4], 1}, {true, handshake(t)[0].Data, 2},
		{true, []byte{0x16, 1}, 1}, {true, []byte{0x16, 3, 1, 0, 0x2e}, 0}, // TLS
		{false, handshake(t)[0].Data, 0}, {true, []byte{0, 0, 0, 0x2e, 0x6a}, 0},
	} {
		if got := nns.Carrier.Detect(c.toServer, c.b); int(got) != c.want {
			t.Errorf("%x: %d, want %d", c.b, got, c.want)
		}
	}
}
