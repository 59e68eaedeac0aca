package report_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ntlmsensor/audit"
	"ntlmsensor/audit/detect"
	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/report"
	"ntlmsensor/sensor"
)

// bundled reads every bundled real-implementation capture through the
// pipeline and the audit stage, as `ntlmsensor report -r` does, and
// returns the findings (with their causes) and the alerts.
func bundled(t *testing.T, globs ...string) []findings.Document {
	t.Helper()
	if len(globs) == 0 {
		globs = []string{"../pcaps/real-implementations/*.pcap"}
	}
	var paths []string
	for _, g := range globs {
		p, err := filepath.Glob(g)
		if err != nil || len(p) == 0 {
			t.Fatalf("captures %s: %v", g, err)
		}
		paths = append(paths, p...)
	}
	var out []findings.Document
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Observations = true
	det := detect.New(detect.DefaultConfig())
	st := audit.New(audit.Config{Workers: 1, Analyzers: []audit.Analyzer{det}, Emit: func(d findings.Document) {
		if f, ok := d.(*findings.Finding); ok {
			c := *f
			c.Flags = slices.Clone(f.Flags)
			d = &c
		}
		out = append(out, d)
	}})
	cfg.Emit, cfg.Clock, cfg.OnTraceBreak = st.Finding, st.Clock, st.TraceBreak
	p := sensor.NewPipeline(cfg, 1, nil)
	for _, path := range paths {
		src, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p.TraceBreak() // each capture is a scenario of its own
		if err := p.ReadSource(src); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return out
}

func reportOf(ds []findings.Document) *report.Report {
	a := report.New()
	for _, d := range ds {
		a.AddDocument(d)
	}
	return a.Report([]string{"bundled captures"})
}

// TestBundledCaptures: the headline, rankings and inventory of the
// bundled captures are what their findings say (pcaps/real-implementations/TRUTH.md).
func TestBundledCaptures(t *testing.T) {
	r := reportOf(bundled(t))
	if r.Findings != 60 || r.NTLM != 27 || r.Kerberos != 31 || r.Other != 2 {
		t.Errorf("findings %d: %d NTLM, %d Kerberos, %d other; want 60: 27, 31, 2", r.Findings, r.NTLM, r.Kerberos, r.Other)
	}
	if r.WeakNTLM != 7 || r.UnsignedSMB != 8 || r.UnsignedLDAP != 3 { // with the impacket server, which cannot sign (TRUTH.md)
		t.Errorf("weak NTLM %d, unsigned SMB %d, LDAP %d; want 7, 8, 3", r.WeakNTLM, r.UnsignedSMB, r.UnsignedLDAP)
	}
	if r.Clients != 1 || r.Servers != 4 || r.Accounts != 5 {
		t.Errorf("distinct %d clients, %d servers, %d accounts; want 1, 4, 5", r.Clients, r.Servers, r.Accounts)
	}
	if len(r.FixServers) != 4 || r.FixServers[0].Name != "127.0.0.10 (dc1.lab.test)" || r.FixServers[0].Logons != 13 {
		t.Errorf("servers to fix: %+v", r.FixServers)
	}
	if len(r.FixAccounts) == 0 || r.FixAccounts[0].Name != `LAB\alice` || r.FixAccounts[0].Servers != 2 {
		t.Errorf("accounts to fix: %+v", r.FixAccounts)
	}
	var logons uint64
	for _, row := range r.Rows {
		if row.Mechanism != "kerberos" {
			logons += row.Count
		}
	}
	if logons != r.NTLM || len(r.Rows) != 22 {
		t.Errorf("inventory: %d rows holding %d NTLM logons; want 22 rows, %d", len(r.Rows), logons, r.NTLM)
	}
	if r.First.IsZero() || r.Last.Sub(r.First).Truncate(time.Second) != 128*time.Second {
		t.Errorf("span %s", r.Span())
	}
	var text bytes.Buffer
	if err := r.Text(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"27 NTLM (47%), 31 Kerberos", "WHAT TO FIX FIRST", "127.0.0.10 (dc1.lab.test)", "local_account", "4624"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

// TestFromJSONLines: a report of the findings read back from JSON lines
// is the report of the captures.
func TestFromJSONLines(t *testing.T) {
	ds := bundled(t)
	var jsonl []byte
	for _, d := range ds {
		jsonl = append(d.AppendJSON(jsonl), '\n')
	}
	// an inventory row and an alert among the findings, and a bad line
	row := audit.Row{Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"), Port: 445, Protocol: "smb",
		Mechanism: "ntlm", Version: "NTLMv2", Cause: audit.CauseIPTarget, Count: 99}
	jsonl = append(row.AppendJSON(jsonl), '\n')
	al := detect.Alert{Time: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), Rule: detect.PasswordSpray, Message: "10.0.0.9 failed for 12 accounts",
		Source: netip.MustParseAddr("10.0.0.9"), Users: []string{"CORP\\a", "CORP\\b"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}}
	jsonl = append(al.AppendJSON(jsonl), '\n')
	jsonl = append(jsonl, "not json\n"...)
	a := report.New()
	st, err := report.ReadFindings(bytes.NewReader(jsonl), a)
	if err != nil || st.Findings != 60 || st.Alerts != 1 || st.Other != 1 || st.Bad != 1 {
		t.Fatalf("%+v, %v", st, err)
	}
	want, got := reportOf(append(ds, &al)), a.Report([]string{"bundled captures"})
	if fmt.Sprint(want.Headline()) != fmt.Sprint(got.Headline()) {
		t.Errorf("headline\n%v\nfrom JSON\n%v", want.Headline(), got.Headline())
	}
	if fmt.Sprint(want.Rows) != fmt.Sprint(got.Rows) {
		t.Errorf("inventory differs:\n%v\n%v", want.Rows, got.Rows)
	}
	if got.AlertsTotal != 1 || got.Alerts[0].Rule != "password_spray" || got.Alerts[0].Who() != `10.0.0.9 → ?; accounts CORP\a, CORP\b` {
		t.Errorf("alerts %+v", got.Alerts)
	}
	var wt, gt, page bytes.Buffer
	want.Text(&wt)
	got.Text(&gt)
	if wt.String() != gt.String() {
		t.Errorf("text differs:\n%s\nfrom JSON:\n%s", wt.String(), gt.String())
	}
	if err := got.HTML(&page); err != nil {
		t.Fatal(err)
	}
	attacks := page.String()[strings.Index(page.String(), `<section id="attacks">`):]
	attacks = attacks[:strings.Index(attacks, "</section>")]
	if strings.Count(attacks, `<td class="when">`) != 1 || !strings.Contains(attacks, "Password spraying") || !strings.Contains(attacks, `CORP\b`) {
		t.Errorf("attacks seen:\n%s", attacks)
	}
}

// TestMillionFindings: a million findings make a report in seconds, and
// the page stays bounded (the inventory capped, top lists short).
func TestMillionFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	start := time.Now()
	a := report.New()
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	f := findings.Finding{Protocol: "smb", Mechanism: "ntlm", HasUser: true, UserDomain: "CORP", Outcome: findings.Success,
		NTLM: findings.NTLMFacts{Version: "NTLMv2"}, Flags: []findings.Flag{findings.FlagNTLMFallback}}
	for i := range 1_000_000 {
		f.Time = t0.Add(time.Duration(i) * 600 * time.Millisecond) // a week
		f.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8 % 40), byte(i)}), 50000)
		f.Server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i % 300 % 256)}), 445)
		f.UserName = fmt.Sprintf("user%d", i%5000)
		if i%10 == 0 {
			f.Mechanism = "kerberos"
		} else {
			f.Mechanism = "ntlm"
		}
		a.Add(&f)
	}
	r := a.Report([]string{"synthetic"})
	var page bytes.Buffer
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("1M findings: %d rows (%d rows evicted), page %d KiB, %s", len(r.Rows), r.RowsEvicted, page.Len()>>10, took)
	if took > 30*time.Second {
		t.Errorf("took %s", took)
	}
	if page.Len() > 16<<20 || len(r.FixServers) > 15 || len(r.Timeline) > 240 {
		t.Errorf("page %d bytes, %d servers ranked, %d bars", page.Len(), len(r.FixServers), len(r.Timeline))
	}
	if r.NTLM != 900_000 || r.Kerberos != 100_000 {
		t.Errorf("%d NTLM, %d Kerberos", r.NTLM, r.Kerberos)
	}
}

// chromium finds Debian's chromium (or Chrome). Under CI=true a missing
// browser fails the test: the page must be seen rendered.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed (apt-get install chromium; .ci/run installs it)")
	}
	t.Skip("chromium not installed")
	return ""
}

var update = os.Getenv("UPDATE_SCREENSHOT") != ""

// TestReportInBrowser loads the report of the bundled captures in
// headless Chromium from a file: the script ran without a console error,
// no request was made (the page's CSP refuses any, and the refusal would
// be a console error; no URL is in it either), the inventory table has
// every row, the charts have marks; and a screenshot shows it.
// UPDATE_SCREENSHOT=1 writes the screenshot to docs/report.png.
func TestReportInBrowser(t *testing.T) {
	bin := chromium(t)
	r := reportOf(bundled(t))
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?i:(src|action)\s*=\s*["']?[a-z]*:?//)|(?i:<link)|@import|[^.]url\(`).Find(b.Bytes()); m != nil {
		t.Errorf("the page names an outside resource: %s", m)
	}
	// links, to follow by hand, only to the causes' Microsoft documentation
	docs := map[string]bool{}
	for _, c := range audit.Causes {
		for _, u := range c.Docs {
			docs[u] = true
		}
	}
	links := 0
	for _, m := range regexp.MustCompile(`(?i)href\s*=\s*"([^"]*)"`).FindAllSubmatch(b.Bytes(), -1) {
		if u, _ := url.PathUnescape(string(m[1])); !docs[u] && !strings.HasPrefix(u, "#") {
			t.Errorf("link to %s", u)
		}
		links++
	}
	if links == 0 {
		t.Error("no link to the causes' documentation")
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"}
		cmd := exec.Command(bin, append(append(base, args...), "file://"+page)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("chromium: %v\n%s", err, e.String())
			}
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			t.Fatal("chromium did not finish in 90 s")
		}
		return o.String(), e.String()
	}
	dom, logs := run("--dump-dom")
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Refused to") {
			t.Errorf("console: %s", l)
		}
	}
	if !strings.Contains(dom, `data-rendered="1"`) {
		t.Errorf("the inventory script did not finish")
	}
	if !strings.Contains(dom, "LocalKDC") {
		t.Errorf("no removed by")
	}
	tbody := dom[strings.Index(dom, `id="inv"`):]
	tbody = tbody[strings.Index(tbody, "<tbody>"):strings.Index(tbody, "</tbody>")]
	if n := strings.Count(tbody, "<tr>"); n != len(r.Rows) {
		t.Errorf("inventory table: %d rows, the inventory has %d", n, len(r.Rows))
	}
	if !strings.Contains(dom, fmt.Sprintf(`%d of %d rows`, len(r.Rows), len(r.Rows))) {
		t.Errorf("the row count is not shown")
	}
	for _, fig := range strings.Split(dom, "<figure")[1:] {
		caption := fig[strings.Index(fig, "<figcaption>")+12 : strings.Index(fig, "</figcaption>")]
		if !strings.Contains(fig, `class="mark`) && !strings.Contains(fig, "none seen") {
			t.Errorf("chart %q has no marks", caption)
		}
	}
	if n := strings.Count(dom, `class="mark`); n < 40 {
		t.Errorf("%d chart marks", n)
	}

	shot := filepath.Join(dir, "report.png")
	run("--hide-scrollbars", "--window-size=1280,2400", "--screenshot="+shot)
	img, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	pic, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	// the NTLM orange of the headline and the charts is on the picture
	orange := 0
	for y := pic.Bounds().Min.Y; y < pic.Bounds().Max.Y; y += 2 {
		for x := pic.Bounds().Min.X; x < pic.Bounds().Max.X; x += 2 {
			r, g, b, _ := pic.At(x, y).RGBA()
			if r>>8 > 0xc0 && g>>8 > 0x30 && g>>8 < 0x60 && b>>8 < 0x30 {
				orange++
			}
		}
	}
	if pic.Bounds().Dx() != 1280 || orange < 500 {
		t.Errorf("screenshot %v, %d orange pixels: not rendered?", pic.Bounds(), orange)
	}
	if dir := os.Getenv("REPORT_SHOT_DIR"); dir != "" { // to look at without replacing docs/report.png
		os.WriteFile(filepath.Join(dir, "report.png"), img, 0o644)
		os.WriteFile(filepath.Join(dir, "report.html"), b.Bytes(), 0o644)
	}
	if update {
		if err := os.WriteFile("../docs/report.png", img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
