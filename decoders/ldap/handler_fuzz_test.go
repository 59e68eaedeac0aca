package ldap_test

import (
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	ldap "ntlmsensor/decoders/ldap"
	"ntlmsensor/findings"
)

// handlerSeeds are captures whose LDAP connections seed FuzzHandler.
var handlerSeeds = []string{
	"real-implementations/ldap_simple_bind_success.pcap",
	"real-implementations/ldap_simple_bind_wrong_pw.pcap",
	"real-implementations/ldap_spnego_ntlm_sealed.pcap",
	"real-implementations/ldap_spnego_ntlm_no_signseal.pcap",
	"real-implementations/ldap_spnego_ntlm_by_ip.pcap",
	"real-implementations/ldap_sasl_gssapi_kerberos.pcap",
	"real-implementations/ldap_spnego_kerberos.pcap",
	"real-implementations/ldap3_sicily_ntlm_rejected.pcap",
	"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap",
	"public/zeek/testing/btest/Traces/ldap/aduser1.pcap",
	"public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap",
	"public/zeek/testing/btest/Traces/ldap/krb5-sign-seal-01.pcap",
	"public/suricata-verify/tests/krb5-request-frag-log/krb5-frag.pcap",
	"public/arkime/tests/pcap/ntlm_synthetic.pcap",
}

// Fuzz input: records of a control octet (bit 0: client to server, bit 1:
// bytes were lost before this record, bit 2: cut the record in two Feeds),
// a 2-octet big-endian length, and that many payload bytes.
func encodeChunks(cs []chunk) []byte {
	var b []byte
	for _, c := range cs {
		for d := c.data; len(d) > 0; {
			n := min(len(d), 0xffff)
			ctl := byte(0)
			if c.toServer {
				ctl |= 1
			}
			if c.gap {
				ctl |= 2
			}
			b = append(b, ctl, byte(n>>8), byte(n))
			b = append(b, d[:n]...)
			d = d[n:]
		}
	}
	return b
}

func FuzzHandler(f *testing.F) {
	for _, rel := range handlerSeeds {
		f.Add(encodeChunks(conversation(f, rel)))
	}
	f.Add(encodeChunks([]chunk{cli(startTLS(1)), srv(startTLSResp(1, 0)), cli(tlsHello)}))
	f.Add(encodeChunks([]chunk{cli(simpleBind(1, "cn=a", "b")), {data: bindResp(1, 49), gap: true}}))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newDriver(t, false)
		times := map[time.Time]bool{}
		for i := 0; len(in) >= 3; i++ {
			ctl, n := in[0], int(binary.BigEndian.Uint16(in[1:]))
			in = in[3:]
			n = min(n, len(in))
			data := in[:n]
			in = in[n:]
			ts := t0.Add(time.Duration(i) * time.Millisecond)
			times[ts] = true
			toServer := ctl&1 != 0
			if ctl&2 != 0 {
				d.gap(toServer, ts)
			}
			if ctl&4 != 0 && len(data) > 1 {
				d.feed(toServer, data[:len(data)/2], ts)
				data = data[len(data)/2:]
			}
			d.feed(toServer, data, ts)
			if d.held > 128<<10+32 {
				t.Fatalf("%d bytes left unconsumed", d.held)
			}
		}
		end := t0.Add(time.Hour)
		times[end] = true
		if !d.done {
			d.h.Close(end)
		}
		got := len(d.out)
		d.h.Close(end)
		if len(d.out) != got {
			t.Fatalf("second Close emitted %d more", len(d.out)-got)
		}
		for _, f := range d.out {
			checkFinding(t, f, times)
		}
	})
}

func checkFinding(t *testing.T, f *findings.Finding, times map[time.Time]bool) {
	t.Helper()
	if f.Protocol != "ldap" || f.Client != client || f.Server != server || !times[f.Time] {
		t.Fatalf("connection facts: %s", f.AppendJSON(nil))
	}
	switch f.Mechanism {
	case "simple":
		if f.LDAP.Bind != "simple" || !f.HasUser || f.UserName == "" {
			t.Fatalf("simple: %s", f.AppendJSON(nil))
		}
	case "ntlm", "kerberos":
		if f.LDAP.Bind != "sasl" && f.LDAP.Bind != "sicily" || (f.LDAP.Bind == "sasl") != (f.LDAP.SASLMechanism != "") {
			t.Fatalf("bind: %s", f.AppendJSON(nil))
		}
	default:
		t.Fatalf("mechanism: %s", f.AppendJSON(nil))
	}
	switch f.Outcome {
	case findings.Unknown:
		if f.LDAP.HasResult || f.Reason != "" {
			t.Fatalf("unknown with a result: %s", f.AppendJSON(nil))
		}
	case findings.Success, findings.Failure:
		if !f.LDAP.HasResult || (f.LDAP.ResultCode == 0) != (f.Outcome == findings.Success) ||
			f.LDAP.ResultCode == 14 && f.Mechanism != "simple" || f.Reason != ldap.ResultName(f.LDAP.ResultCode) {
			t.Fatalf("result: %s", f.AppendJSON(nil))
		}
	default:
		t.Fatalf("outcome: %s", f.AppendJSON(nil))
	}
	if f.SASLWrapped && f.Outcome != findings.Success {
		t.Fatalf("wrapped after a failed bind: %s", f.AppendJSON(nil))
	}
	if !json.Valid(f.AppendJSON(nil)) {
		t.Fatalf("invalid JSON %s", f.AppendJSON(nil))
	}
}
