package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// TestFormats: -format table, tsv and csv print the columns a person
// reads first, with the finding's values.
func TestFormats(t *testing.T) {
	out, errs, status := runCLI(t, "-q", "-format", "csv", "-r", realDir+"/http_ntlmv1.pcap")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv %q: %v", out, err)
	}
	want := []string{"2026-11-25 13:55:19", "127.0.0.5", "127.0.0.30:8081", "http", `LAB\alice`, "NTLMv1", "success", "ntlm_direct", "ntlm_v1,ntlm_lm,ntlm_direct"}
	if strings.Join(recs[0], "|") != strings.Join(columns, "|") || strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Errorf("csv:\n%v\n%v", recs[0], recs[1])
	}
	out, _, _ = runCLI(t, "-q", "-format", "tsv", "-r", realDir+"/http_ntlmv1.pcap")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || lines[1] != strings.Join(want, "\t") {
		t.Errorf("tsv: %q", out)
	}
	out, _, _ = runCLI(t, "-q", "-format", "table", "-r", realDir+"/http_ntlmv1.pcap")
	if !strings.HasPrefix(out, "TIME (UTC)") || !strings.Contains(out, "127.0.0.5 → 127.0.0.30:8081") || !strings.Contains(out, "ntlm_v1,ntlm_lm,ntlm_direct") {
		t.Errorf("table: %q", out)
	}
	// -w FILE stays JSON lines; the table goes to stdout beside it
	file := filepath.Join(t.TempDir(), "f.jsonl")
	out, _, _ = runCLI(t, "-q", "-format", "table", "-w", file, "-r", realDir+"/http_ntlmv1.pcap")
	b, _ := os.ReadFile(file)
	if len(parseFindings(t, string(b))) != 1 || !strings.HasPrefix(out, "TIME") {
		t.Errorf("-w with -format table: file %q, stdout %q", b, out)
	}
	if _, errs, status := runCLI(t, "-format", "xml", "-r", realCapture); status != 2 || !strings.Contains(errs, "json, table, tsv, csv") {
		t.Errorf("-format xml: %d %q", status, errs)
	}
}

// TestOptionsSpeakToPeople: a bad option is one line naming it; -h is
// short and grouped; nonsense values are refused or capped.
func TestOptionsSpeakToPeople(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"-wokers", "2", "-r", realCapture}, 2, "ntlmsensor: unknown option -wokers, did you mean -workers? (ntlmsensor -h for help)\n"},
		{[]string{"-workers", "many", "-r", realCapture}, 2, "ntlmsensor: invalid value \"many\" for -workers: not a number (ntlmsensor -h for help)\n"},
		{[]string{"-r"}, 2, "ntlmsensor: option -r needs a value (ntlmsensor -h for help)\n"},
		{[]string{"-workers", "-1", "-r", realCapture}, 2, "ntlmsensor: -workers -1: want 0 (one per core) or more\n"},
		{[]string{"-max-flows", "0", "-r", realCapture}, 2, "ntlmsensor: -max-flows 0: want 1 to 100000000 connections\n"},
		{[]string{"-w", "out.pcapng", "-r", realCapture}, 2, "ntlmsensor: -w out.pcapng: -w writes findings as JSON lines, not packets as tcpdump -w does; name it e.g. findings.jsonl\n"},
		{[]string{}, 2, "ntlmsensor: nothing to read: give -r CAPTURE or -i IFACE (ntlmsensor -h for help)\n"},
	} {
		out, errs, status := runCLI(t, tc.args...)
		if status != tc.status || errs != tc.want || out != "" {
			t.Errorf("%v: status %d, stderr %q; want %d, %q", tc.args, status, errs, tc.status, tc.want)
		}
	}
	_, errs, status := runCLI(t, "-h")
	if status != 0 || !strings.HasPrefix(errs, "usage:") || strings.Count(errs, "\n") > 40 || !strings.Contains(errs, "ntlmsensor report") {
		t.Errorf("-h: status %d, %d lines", status, strings.Count(errs, "\n"))
	}
	_, errs, _ = runCLI(t, "-help-all")
	if !strings.Contains(errs, "-max-stream-buffer") || !strings.Contains(errs, "-es-flush-bytes") {
		t.Errorf("-help-all lacks options")
	}
	out, errs, status := runCLI(t, "-workers", "1000", "-r", realCapture)
	if status != 0 || !strings.Contains(errs, "-workers 1000: this machine has") || len(parseFindings(t, out)) != 1 {
		t.Errorf("-workers 1000: status %d, %q", status, errs)
	}
	// sizes read the same in every option
	for _, opt := range []string{"rotate-bytes", "max-buffered", "ring-size", "es-flush-bytes", "spool-max-bytes"} {
		for _, v := range []string{"1G", "1GiB", "512K"} {
			if _, errs, status := runCLI(t, "-q", "-"+opt, v, "-r", realCapture, "-w", filepath.Join(t.TempDir(), "f.jsonl")); status != 0 {
				t.Errorf("-%s %s: %d %q", opt, v, status, errs)
			}
		}
	}
}

// TestSeveralCaptures: -r DIR reads every capture under it (passing over
// other files); a shell glob after -r reads every file; a file among
// filter words is refused with what to do; zstd captures read.
func TestSeveralCaptures(t *testing.T) {
	out, errs, status := runCLI(t, "-workers", "1", "-r", realTopDir(t))
	if status != 0 || len(parseFindings(t, out)) != 60 || !strings.Contains(errs, "ntlmsensor: 42 files") {
		t.Fatalf("-r DIR: status %d, %d findings, %q", status, len(parseFindings(t, out)), errs)
	}
	for _, want := range []string{"27 NTLM (47%), 31 Kerberos", "19 NTLMv2, 6 NTLMv1", "1 clients, 4 servers, 5 accounts", "ntlm_v1 7", "krb_rc4 4"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, " 0 ") {
		t.Errorf("summary shows a zero counter:\n%s", errs)
	}
	// read in capture order, the lab raises no alert (bob's RC4-only
	// AS-REQ comes before his AES one: no downgrade)
	if ids := ruleIDs(t, out); len(ids) != 0 || !strings.Contains(errs, "ntlmsensor: detect: no alert\n") {
		t.Errorf("alerts %v; summary:\n%s", ids, errs)
	}
	a, b := realDir+"/http_ntlmv1.pcap", realDir+"/smb2_ntlmv2_by_ip.pcap"
	out, errs, status = runCLI(t, "-q", "-r", a, b)
	if status != 0 || len(parseFindings(t, out)) != 2 {
		t.Errorf("-r a b: status %d, %d findings, %q", status, len(parseFindings(t, out)), errs)
	}
	_, errs, status = runCLI(t, "-q", "-r", a, b, "port", "445")
	if status != 2 || !strings.Contains(errs, "is a file, not part of a BPF filter") {
		t.Errorf("-r a b port 445: status %d, %q", status, errs)
	}
	plain, _ := os.ReadFile(b)
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	zst := filepath.Join(t.TempDir(), "c.pcap.zst")
	os.WriteFile(zst, z.Bytes(), 0o644)
	out, errs, status = runCLI(t, "-q", "-r", zst)
	if status != 0 || len(parseFindings(t, out)) != 1 {
		t.Errorf("zstd: status %d, %q", status, errs)
	}
}

// TestReportCommand: the report of captures, as text, HTML and CSV, and
// the same from the findings written by two runs (one gzip-compressed).
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	out, errs, status := runCLI(t, "report", "-q", "-r", realTopDir(t))
	if status != 0 || !strings.Contains(out, "27 NTLM (47%), 31 Kerberos") || !strings.Contains(out, "WHAT TO FIX FIRST") {
		t.Fatalf("text: status %d, %q, %q", status, out, errs)
	}
	html, csvPath := filepath.Join(dir, "r.html"), filepath.Join(dir, "inv.csv")
	if _, errs, status := runCLI(t, "report", "-r", realTopDir(t), "-o", html, "-csv", csvPath); status != 0 || !strings.Contains(errs, "60 findings, 22 inventory rows") {
		t.Fatalf("html: status %d, %q", status, errs)
	}
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte("Content-Security-Policy")) || !bytes.Contains(page, []byte("127.0.0.10")) {
		t.Errorf("page: %d bytes", len(page))
	}
	c, _ := os.ReadFile(csvPath)
	if recs, err := csv.NewReader(bytes.NewReader(c)).ReadAll(); err != nil || len(recs) != 23 || recs[0][len(recs[0])-1] != "removed_by" {
		t.Errorf("csv: %d records, %v", len(recs), err)
	}
	// findings of two sensors, one file gzip-compressed
	f1, f2 := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl.gz")
	files, _ := filepath.Glob(realDir + "/*.pcap")
	args := []string{"-q", "-w", f1}
	for _, f := range files[:20] {
		args = append(args, "-r", f)
	}
	runCLI(t, args...)
	var rest []byte
	for _, f := range files[20:] {
		o, _, _ := runCLI(t, "-q", "-r", f)
		rest = append(rest, o...)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(rest)
	zw.Close()
	os.WriteFile(f2, gz.Bytes(), 0o644)
	fromJSON, errs, status := runCLI(t, "report", f1, f2)
	if status != 0 {
		t.Fatalf("from findings: status %d, %q", status, errs)
	}
	head := func(s string) string { // the headline, without the list of inputs
		lines := strings.Split(s, "\n")
		return strings.Join(lines[3:11], "\n")
	}
	if head(fromJSON) != head(out) {
		t.Errorf("from findings:\n%s\nfrom captures:\n%s", head(fromJSON), head(out))
	}
}

// TestReportSameFromFindings: the report of captures (-r, through the
// audit stage and the detectors, with the sensor's defaults) is the report of the findings file the
// sensor writes from them (causes, alerts and inventory rows in it): the
// text, the CSV inventory and the page, but for the names of the inputs
// and the time the page was made.
func TestReportSameFromFindings(t *testing.T) {
	dir := t.TempDir()
	caps := []string{"-r", realTopDir(t), "-r", realDir + "/audit",
		"-r", "../../pcaps/public/zeek/testing/btest/Traces/krb/kinit.pcap", "-r", "../../pcaps/public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap"}
	jsonl := filepath.Join(dir, "f.jsonl")
	if _, errs, status := runCLI(t, append([]string{"-q", "-w", jsonl}, caps...)...); status != 0 {
		t.Fatalf("sensor: %d %s", status, errs)
	}
	written, _ := os.ReadFile(jsonl)
	if !bytes.Contains(written, []byte(`"dataset":"ntlmsensor.alert"`)) || !bytes.Contains(written, []byte(`"dataset":"ntlmsensor.inventory"`)) {
		t.Fatal("no alert or no inventory row in the findings file")
	}
	reportOf := func(args ...string) (text, csvText, page string) {
		t.Helper()
		h, c := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.csv")
		out, errs, status := runCLI(t, append([]string{"report", "-q"}, args...)...)
		if status != 0 {
			t.Fatalf("report %v: %d %s", args, status, errs)
		}
		if _, errs, status := runCLI(t, append([]string{"report", "-q", "-o", h, "-csv", c}, args...)...); status != 0 {
			t.Fatalf("report -o %v: %d %s", args, status, errs)
		}
		cb, _ := os.ReadFile(c)
		hb, _ := os.ReadFile(h)
		// the inputs and the time made
		out = out[strings.Index(out, "\n\n"):]
		sub := regexp.MustCompile(`(?m)^<p class="sub">.*$`)
		return out, string(cb), sub.ReplaceAllString(string(hb), "")
	}
	text1, csv1, page1 := reportOf(caps...)
	text2, csv2, page2 := reportOf(jsonl)
	if text1 != text2 {
		t.Errorf("text from captures:\n%s\nfrom findings:\n%s", text1, text2)
	}
	if csv1 != csv2 {
		t.Errorf("CSV from captures:\n%s\nfrom findings:\n%s", csv1, csv2)
	}
	if page1 != page2 {
		t.Errorf("the pages differ (%d and %d bytes)", len(page1), len(page2))
	}
	for _, want := range []string{"ATTACKS SEEN", "password_spray", "removed by: LocalKDC", "spn_missing"} {
		if !strings.Contains(text1, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	// from stdin, gzip-compressed
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(written)
	zw.Close()
	var o, e bytes.Buffer
	old := os.Stdin
	r, w, _ := os.Pipe()
	os.Stdin = r
	go func() { w.Write(gz.Bytes()); w.Close() }()
	status := run([]string{"report", "-q", "-"}, &o, &e)
	os.Stdin = old
	if status != 0 || o.String()[strings.Index(o.String(), "\n\n"):] != text1 {
		t.Errorf("from stdin: %d %s", status, e.String())
	}
}

// TestProgressLine: bytes of the total, rate, time left, findings, files.
func TestProgressLine(t *testing.T) {
	files := []string{realDir + "/http_ntlmv1.pcap", realCapture}
	var buf bytes.Buffer
	p := newProgress(files, &buf, true, time.Hour)
	st0, _ := os.Stat(files[0])
	p.done, p.nread = st0.Size(), 1
	p.started = time.Now().Add(-time.Second)
	line := p.line()
	if !strings.Contains(line, " of ") || !strings.Contains(line, "/s") || !strings.Contains(line, "left") || !strings.Contains(line, "0 findings, file 2 of 2") {
		t.Errorf("line %q", line)
	}
	p.finish()
	if buf.Len() != 0 {
		t.Errorf("wrote %q", buf.String())
	}
}
