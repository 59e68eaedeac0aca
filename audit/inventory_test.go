package audit

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"ntlmsensor/findings"
)

// The inventory counts exactly the findings it was built from, and is the
// same built from the capture (-r) as from the findings file the sensor
// wrote (gzip or not), and with 1 or 2 workers.
func TestInventoryFromCaptureAndFromFile(t *testing.T) {
	real, _ := filepath.Glob(realPcap("*.pcap"))
	paths := append(real, publicCaptures(t)...)
	one := analyse(t, paths, 1, nil)
	two := analyse(t, paths, 2, nil)
	rows := one.stage.Rows()
	if len(rows) < 50 {
		t.Fatalf("%d rows", len(rows))
	}
	var ntlm, rc4 uint64
	for _, f := range one.found {
		switch {
		case isNTLM(f):
			ntlm++
		case f.Mechanism == findings.MechKerberos && hasFlag(f, findings.FlagKrbRC4):
			rc4++
		}
	}
	var gotNTLM, gotRC4, ok, fail uint64
	for _, r := range rows {
		if r.Mechanism == "kerberos" {
			gotRC4 += r.Count
		} else {
			gotNTLM += r.Count
		}
		ok, fail = ok+r.Success, fail+r.Failure
		if r.Success+r.Failure > r.Count || r.First.After(r.Last) {
			t.Errorf("row %+v", r)
		}
	}
	if gotNTLM != ntlm || gotRC4 != rc4 || ntlm == 0 || rc4 == 0 {
		t.Errorf("rows count %d NTLM and %d RC4 logons, the findings %d and %d", gotNTLM, gotRC4, ntlm, rc4)
	}
	// the first rows are NTLMv1 / LM
	if g := rows[0].group(); g != 0 {
		t.Errorf("first row is not NTLMv1/LM: %+v", rows[0])
	}

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want bytes.Buffer
	WriteRows(&want, rows, FormatJSON, now)
	var viaTwo bytes.Buffer
	WriteRows(&viaTwo, two.stage.Rows(), FormatJSON, now)
	if !bytes.Equal(want.Bytes(), viaTwo.Bytes()) {
		t.Errorf("2 workers give another inventory")
	}

	// the findings file, split in two "sensors", one of them gzipped
	var a, b bytes.Buffer
	for i, f := range one.found {
		w := &a
		if i%2 == 1 {
			w = &b
		}
		w.Write(f.AppendJSON(nil))
		w.WriteByte('\n')
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b.Bytes())
	zw.Close()
	st := New(Config{Workers: 1})
	if err := Replay(st, []string{"a.jsonl", "b.jsonl.gz"}, []io.Reader{&a, &gz}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var fromFile bytes.Buffer
	WriteRows(&fromFile, st.Rows(), FormatJSON, now)
	if !bytes.Equal(want.Bytes(), fromFile.Bytes()) {
		t.Errorf("inventory from the findings files differs:\n%s\n---\n%s", want.Bytes(), fromFile.Bytes())
	}
}

// A full table evicts the least recently seen row, and counts it.
func TestInventoryBounded(t *testing.T) {
	inv := NewInventory(3)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		inv.Add(&findings.Finding{Time: t0.Add(time.Duration(i) * time.Second), Mechanism: findings.MechNTLM,
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 50000), Server: netip.MustParseAddrPort("10.0.1.1:445"),
			Protocol: findings.ProtoSMB, UserName: "u", Outcome: findings.Success, Cause: "unexplained"})
	}
	// the first client again: a new row, evicting 10.0.0.2
	inv.Add(&findings.Finding{Time: t0.Add(10 * time.Second), Mechanism: findings.MechNTLM, Client: netip.MustParseAddrPort("10.0.0.0:1"),
		Server: netip.MustParseAddrPort("10.0.1.1:445"), Protocol: findings.ProtoSMB, UserName: "u", Cause: "unexplained"})
	if inv.Len() != 3 || inv.Evicted() != 3 {
		t.Fatalf("%d rows, %d evicted", inv.Len(), inv.Evicted())
	}
	var clients []string
	for _, r := range inv.Rows() {
		clients = append(clients, r.Client.String())
	}
	for _, c := range []string{"10.0.0.3", "10.0.0.4", "10.0.0.0"} {
		found := false
		for _, g := range clients {
			found = found || g == c
		}
		if !found {
			t.Errorf("rows %v lack %s", clients, c)
		}
	}
}
