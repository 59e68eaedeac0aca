package ldap

import (
	"bytes"
	"errors"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

var seedCaptures = []string{
	"real-implementations/ldap_simple_bind_success.pcap",
	"real-implementations/ldap_simple_bind_wrong_pw.pcap",
	"real-implementations/ldap_spnego_ntlm_sealed.pcap",
	"real-implementations/ldap_spnego_ntlm_no_signseal.pcap",
	"real-implementations/ldap_sasl_gssapi_kerberos.pcap",
	"real-implementations/ldap3_sicily_ntlm_rejected.pcap",
	"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap",
	"public/arkime/tests/pcap/ntlm_synthetic.pcap",
}

// within reports whether sub is empty or a sub-slice of b.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	return bytes.Contains(b, sub) && &b[:cap(b)][cap(b)-1] == &sub[:cap(sub)][cap(sub)-1]
}

func FuzzLDAPParse(f *testing.F) {
	for _, rel := range seedCaptures {
		for _, s := range pcaptest.Segments(f, rel) {
			if s.SrcPort == 389 || s.DstPort == 389 {
				f.Add(s.Payload)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok, lerr := MessageLength(b)
		if lerr != nil && (n != 0 || ok || !(errors.Is(lerr, ErrMalformed) || errors.Is(lerr, ErrTooLarge))) {
			t.Fatalf("MessageLength %d %v %v", n, ok, lerr)
		}
		if ok && (n < 7 || n > len(b)) || n > MaxMessage+6 || n < 0 {
			t.Fatalf("MessageLength %d %v of %d", n, ok, len(b))
		}
		if w, wok := SASLWrapped(b); wok && (w <= 4 || w > MaxMessage+4 || lerr == nil) {
			// A SASL PDU never looks like an LDAPMessage (first octet 0 or 1).
			t.Fatalf("SASLWrapped %d, MessageLength err %v", w, lerr)
		}
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			if ok && errors.Is(err, ErrTruncated) {
				t.Fatal("truncated although MessageLength is satisfied")
			}
			return
		}
		if !ok || m.ID < 0 || m.Op > 31 {
			t.Fatalf("Parse ok but MessageLength %d %v, msg %+v", n, ok, m)
		}
		if !within(m.Bind.Credentials, b[:n]) || !within(m.BindResp.ServerSASLCreds, b[:n]) || !within(m.BindResp.SicilyToken, b[:n]) {
			t.Fatal("byte fields outside the message")
		}
		if m.Bind.Auth == AuthSimple && m.Bind.Credentials != nil {
			t.Fatal("simple bind exposes the password")
		}
		// Bytes after the message do not change it.
		m2, err := Parse(append(b[:n:n], 0x30, 0x84))
		if err != nil || m2.ID != m.ID || m2.Op != m.Op || m2.Bind.Name != m.Bind.Name || m2.BindResp.ResultCode != m.BindResp.ResultCode {
			t.Fatalf("reparse: %v", err)
		}
		_ = ResultName(m.BindResp.ResultCode)
		_, _ = DiagnosticDataCode(m.BindResp.DiagnosticMessage)
	})
}
