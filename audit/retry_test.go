package audit

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ntlmsensor/findings"
)

// kerberosOf lists the KDC exchanges among found, one line each.
func kerberosOf(found []*findings.Finding) []string {
	var out []string
	for _, f := range found {
		if f.Protocol == findings.ProtoKerberos {
			out = append(out, fmt.Sprintf("%s %s@%s %s %s %s %s %s", f.Kerberos.Request, f.UserName, f.Kerberos.Realm, f.Kerberos.SName,
				f.Transport, f.Outcome, f.Reason, f.Kerberos.Error))
		}
	}
	return out
}

// TestResponseTooBigNeverRetried: a UDP-only client (Heimdal, "kdc =
// udp/host") gets KDC_ERR_PREAUTH_REQUIRED, asks again with
// pre-authentication, gets KRB_ERR_RESPONSE_TOO_BIG, asks again over UDP,
// gets it again, and never tries TCP: it falls back to NTLM. The last
// error ends the exchange (outcome unknown), released in time order before
// the NTLM logon; the two errors the client answered are not findings.
// Workers agree.
func TestResponseTooBigNeverRetried(t *testing.T) {
	p := filepath.Join(pcapsDir(), "real-implementations", "audit", "krb_response_too_big_udp_only_then_ntlm.pcap")
	var ref []byte
	for _, workers := range []int{1, 2} {
		res := analyse(t, []string{p}, workers, nil)
		got := kerberosOf(res.found)
		want := []string{"AS alice@LAB.TEST krbtgt/LAB.TEST udp unknown KRB_ERR_RESPONSE_TOO_BIG KRB_ERR_RESPONSE_TOO_BIG"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("workers %d: Kerberos findings\n%s\nwant\n%s", workers, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(res.found) != 2 || res.found[0].Protocol != findings.ProtoKerberos || !isNTLM(res.found[1]) {
			t.Fatalf("workers %d: order %s", workers, jsonLines(res.docs))
		}
		// frame 13, the second RESPONSE_TOO_BIG
		if ts := res.found[0].Time.Format("15:04:05.000000"); ts != "06:18:25.728311" {
			t.Errorf("workers %d: time %s", workers, ts)
		}
		if st := res.stage.Stats(); st.Retried != 2 || st.NotRetried != 1 || st.RetryLimitHits != 0 || st.Findings != 2 {
			t.Errorf("workers %d: %+v", workers, st)
		}
		if b := jsonLines(res.docs); ref == nil {
			ref = b
		} else if !bytes.Equal(ref, b) {
			t.Errorf("2 workers differ from 1:\n%s\n---\n%s", ref, b)
		}
	}
}

// TestPreauthRequiredRetried: Windows asks its DC, gets
// KDC_ERR_PREAUTH_REQUIRED and asks again on a new TCP connection
// (Microsoft's AUTHSOD Example 2-1): the retry is the exchange, the step
// makes no finding. Likewise MIT kinit against Samba.
func TestPreauthRequiredRetried(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{filepath.Join(pcapsDir(), "public", "windows-formats", "microsoft__prot-od-netcaps", "[MS-AUTHSOD]-captureALL", "MS-AUTHSOD_Example2-1_Win2016_X64_Win2016_X64_Domain.cap"), []string{
			"AS Administrator@CONTOSO krbtgt/CONTOSO tcp success  ",
			"TGS Administrator@CONTOSO.COM host/client01.contoso.com tcp success  ",
			"TGS Administrator@CONTOSO.COM LDAP/DC01.CONTOSO.COM/CONTOSO.COM tcp success  ",
		}},
		{realPcap("krb_as_tgs_aes_success.pcap"), []string{
			"AS alice@LAB.TEST krbtgt/LAB.TEST tcp success  ",
			"TGS alice@LAB.TEST cifs/dc1.lab.test tcp success  ",
		}},
	} {
		for _, workers := range []int{1, 2} {
			res := analyse(t, []string{tc.path}, workers, nil)
			if got := kerberosOf(res.found); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s, workers %d:\n%s\nwant\n%s", filepath.Base(tc.path), workers, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if st := res.stage.Stats(); st.Retried != 1 || st.NotRetried != 0 {
				t.Errorf("%s, workers %d: %+v", filepath.Base(tc.path), workers, st)
			}
		}
	}
}

// kdcFinding makes an AS exchange of one client, or a step of it.
func kdcFinding(at time.Duration, user string, awaits bool) *findings.Finding {
	f := &findings.Finding{Time: time.Unix(1700000000, 0).Add(at), Mechanism: findings.MechKerberos, Protocol: findings.ProtoKerberos,
		Client: netip.MustParseAddrPort("192.0.2.7:50000"), Server: netip.MustParseAddrPort("192.0.2.1:88"),
		HasUser: true, UserName: user, UserDomain: "LAB.TEST", Outcome: findings.Success, AwaitsRetry: awaits}
	f.Kerberos.Request, f.Kerberos.Realm, f.Kerberos.SName = findings.KerberosAS, "LAB.TEST", "krbtgt/LAB.TEST"
	if awaits {
		f.Outcome, f.Reason, f.Kerberos.Error = findings.Unknown, findings.KrbErrPreauthRequired, findings.KrbErrPreauthRequired
	}
	return f
}

// TestRetryWindow: a request of the same client and principal within
// RetryWindow after the step retries it, whichever worker hands it in
// first; one later, or for another principal, does not; while requests
// beyond the per-key bound are held, steps of the key are counted and
// taken as retried.
func TestRetryWindow(t *testing.T) {
	run := func(fs ...*findings.Finding) ([]*findings.Finding, Stats) {
		var out []*findings.Finding
		st := New(Config{Emit: func(d findings.Document) {
			if f, ok := d.(*findings.Finding); ok {
				out = append(out, f)
			}
		}})
		for _, f := range fs {
			st.Finding(f)
		}
		st.Close()
		return out, st.Stats()
	}
	// the retry handed in before the step (another worker)
	out, st := run(kdcFinding(time.Second, "alice", false), kdcFinding(0, "alice", true))
	if len(out) != 1 || out[0].Outcome != findings.Success || st.Retried != 1 {
		t.Errorf("retried: %d findings, %+v", len(out), st)
	}
	out, st = run(kdcFinding(0, "alice", true), kdcFinding(RetryWindow+time.Second, "alice", false), kdcFinding(time.Second, "bob", false))
	if len(out) != 3 || out[0].Outcome != findings.Unknown || out[0].Reason != findings.KrbErrPreauthRequired || out[0].Observation() || st.NotRetried != 1 {
		t.Errorf("not retried: %d findings, %+v", len(out), st)
	}
	var fs []*findings.Finding
	for i := range retryPerKey + 2 {
		fs = append(fs, kdcFinding(time.Duration(i)*time.Hour, "alice", true))
	}
	// the two not indexed leave every step of the key undecided until the
	// last: taken as retried, as the carrier took them before
	out, st = run(fs...)
	if len(out) != 1 || st.RetryLimitHits != 2+retryPerKey+1 || st.NotRetried != 1 || st.Retried != retryPerKey+1 {
		t.Errorf("bound: %d findings, %+v", len(out), st)
	}
}
