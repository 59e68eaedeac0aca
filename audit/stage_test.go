package audit

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"ntlmsensor/findings"
)

func allCaptures(t *testing.T) []string {
	real, _ := filepath.Glob(realPcap("*.pcap"))
	return append(real, publicCaptures(t)...)
}

func jsonLines(docs []findings.Document) []byte {
	var b []byte
	for _, d := range docs {
		b = d.AppendJSON(b)
		b = append(b, '\n')
	}
	return b
}

// Two workers give exactly what one gives: the same findings, causes and
// order, and the same inventory; over every bundled capture, and over one
// trace where the KDC exchange and the SMB session of a client meet.
func TestWorkersAgree(t *testing.T) {
	paths := allCaptures(t)
	paths = append(paths, merged(t, map[string]time.Duration{realPcap("krb_clock_skew_tgs.pcap"): 0, realPcap("smb2_ntlmv2_hostname_signed.pcap"): 73 * time.Second}))
	for _, p := range paths {
		one := analyse(t, []string{p}, 1, nil)
		two := analyse(t, []string{p}, 2, nil)
		if one.stage.Stats().Late > 0 {
			// the capture jumps back in time (arkime_synthetic): the
			// pipeline's trace break (Stage.TraceBreak) orders those
			t.Logf("%s: not in time order, skipped", p)
			continue
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		one.stage.WriteInventory(now)
		two.stage.WriteInventory(now)
		if a, b := jsonLines(one.docs), jsonLines(two.docs); !bytes.Equal(a, b) {
			t.Errorf("%s: 2 workers differ from 1:\n%s\n---\n%s", p, a, b)
		}
		if s1, s2 := one.stage.Stats(), two.stage.Stats(); !reflect.DeepEqual(s1, s2) || s2.Late != 0 || s2.ForcedReleases != 0 {
			t.Errorf("%s: %+v vs %+v", p, s1, s2)
		}
	}
}

// ParseJSON is the inverse of AppendJSON over every finding of every
// bundled capture, causes included.
func TestParseJSONRoundTrip(t *testing.T) {
	n := 0
	for _, p := range allCaptures(t) {
		for _, f := range analyse(t, []string{p}, 1, nil).found {
			b := f.AppendJSON(nil)
			g, err := findings.ParseJSON(b)
			if err != nil {
				t.Fatalf("%s: %v\n%s", p, err, b)
			}
			if c := g.AppendJSON(nil); !bytes.Equal(b, c) {
				t.Errorf("%s: round trip\n%s\n%s", p, b, c)
			}
			n++
		}
	}
	if n < 400 {
		t.Errorf("%d findings", n)
	}
	row := Row{Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), Mechanism: "ntlm"}
	if _, err := findings.ParseJSON(row.AppendJSON(nil)); err != findings.ErrNotFinding {
		t.Errorf("an inventory row read as a finding: %v", err)
	}
}

// Findings are released in capture-time order whatever order the workers
// emit them in, once every worker's clock is Delay past them.
func TestOrderByWorkerClocks(t *testing.T) {
	var got []time.Time
	st := New(Config{Workers: 2, Delay: time.Second, Emit: func(d findings.Document) { got = append(got, d.(*findings.Finding).Time) }})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) *findings.Finding {
		return &findings.Finding{Time: t0.Add(time.Duration(s) * time.Second), Flags: []findings.Flag{}}
	}
	st.Finding(at(5)) // worker 0 is ahead
	st.Clock(0, t0.Add(10*time.Second))
	if len(got) != 0 {
		t.Fatal("released before worker 1's clock passed it")
	}
	st.Finding(at(3)) // worker 1, behind
	st.Clock(1, t0.Add(5*time.Second))
	if len(got) != 1 || !got[0].Equal(t0.Add(3*time.Second)) {
		t.Fatalf("released %v", got)
	}
	st.Clock(1, t0.Add(6*time.Second))
	if len(got) != 2 || !got[1].Equal(t0.Add(5*time.Second)) {
		t.Fatalf("released %v", got)
	}
	st.Finding(at(4)) // too late: counted, still emitted
	st.Close()
	if s := st.Stats(); s.Late != 1 || s.Findings != 3 {
		t.Errorf("stats %+v", s)
	}
}

// A trace break releases everything and forgets the clients' Kerberos:
// a skew before the break does not explain NTLM after it.
func TestTraceBreak(t *testing.T) {
	var got []*findings.Finding
	st := New(Config{Workers: 1, Emit: func(d findings.Document) { got = append(got, d.(*findings.Finding)) }})
	skew, _ := findings.ParseJSON([]byte(`{"@timestamp":"2026-01-02T03:04:05.000000Z","event":{"outcome":"failure"},"source":{"ip":"10.1.0.5","port":50000},"destination":{"ip":"10.1.0.1","port":88},"network":{"transport":"udp","protocol":"kerberos"},"auth":{"mechanism":"kerberos"},"kerberos":{"request":"TGS","sname":"cifs/fs2","error":"KRB_AP_ERR_SKEW"},"flags":[]}`))
	nt, _ := findings.ParseJSON([]byte(`{"@timestamp":"2026-01-02T03:04:06.000000Z","event":{"outcome":"success"},"source":{"ip":"10.1.0.5","port":50001},"destination":{"ip":"10.1.0.20","port":445},"network":{"transport":"tcp","protocol":"smb"},"user":{"name":"ann","domain":"CORP"},"auth":{"mechanism":"ntlm","spnego":true},"ntlm":{"version":"NTLMv2"},"flags":["ntlm_fallback"]}`))
	st.Finding(skew)
	st.TraceBreak()
	if len(got) != 1 {
		t.Fatalf("break released %d", len(got))
	}
	st.Finding(nt)
	st.Close()
	if nt.Cause != string(CauseUnexplained) {
		t.Errorf("cause %s after a break", nt.Cause)
	}
}
