package ntlmssp

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// oracleRow is one AUTHENTICATE row of a FILE.tshark.tsv oracle.
type oracleRow struct {
	user, domain, ws, version string
}

// readOracle returns the AUTHENTICATE rows of a tshark oracle by frame, or
// nil when the capture has none.
func readOracle(t *testing.T, path string) map[int]oracleRow {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	col := map[string]int{}
	rows := map[int]oracleRow{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		cells := strings.Split(line, "\t")
		if len(col) == 0 {
			for i, name := range cells {
				col[name] = i
			}
			continue
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok {
				t.Fatalf("%s: no column %s", path, name)
			}
			if i >= len(cells) || cells[i] == "NULL" { // tshark 4.0 writes NULL for empty strings
				return ""
			}
			return cells[i]
		}
		if get("ntlmssp.messagetype") != "0x00000003" {
			continue
		}
		frame, err := strconv.Atoi(get("frame.number"))
		if err != nil {
			t.Fatalf("%s: frame %q", path, get("frame.number"))
		}
		rows[frame] = oracleRow{get("ntlmssp.auth.username"), get("ntlmssp.auth.domain"), get("ntlmssp.auth.hostname"), get("ntlm_version")}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// readTruth returns TRUTH.md's NTLM rows for real-implementations/ by
// capture name.
func readTruth(t *testing.T) map[string]oracleRow {
	raw, err := os.ReadFile(pcaptest.Path("real-implementations/TRUTH.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]oracleRow{}
	for _, line := range strings.Split(string(raw), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 10 || !strings.HasSuffix(strings.TrimSpace(cells[1]), ".pcap") {
			continue
		}
		cell := func(i int) string {
			s := strings.TrimSpace(cells[i+1])
			if s == "(empty)" {
				return ""
			}
			return s
		}
		var kind string
		for _, k := range []Kind{KindNTLMv1ESS, KindNTLMv2, KindNTLMv1, KindAnonymous} {
			if strings.HasPrefix(cell(7), string(k)) {
				kind = string(k)
				break
			}
		}
		if kind != "" {
			out[cell(0)] = oracleRow{cell(4), cell(5), cell(6), kind}
		}
	}
	if len(out) < 25 {
		t.Fatalf("TRUTH.md: only %d NTLM rows parsed", len(out))
	}
	return out
}

// TestEveryCapture parses every NTLMSSP message found by signature (or as a
// base64 token) in every capture under pcaps/ and checks each AUTHENTICATE
// against its tshark oracle (public/) or TRUTH.md (real-implementations/).
// Messages split across TCP segments are not found whole and only counted.
func TestEveryCapture(t *testing.T) {
	root := pcaptest.Path("")
	truth := readTruth(t)
	// Captures whose NTLM authentication has no NTLMSSP message.
	noNTLMSSP := map[string]bool{"smb1_nonextsec_lm_ntlmv1.pcap": true}
	var captures, found, parsed, truncated, compared, matched, noRow, oracleRows, oracleSeen int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".pcap") && !strings.HasSuffix(name, ".pcapng") && !strings.HasSuffix(name, ".pcap.gz") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		captures++
		oracle := readOracle(t, path+".tshark.tsv")
		want, inTruth := truth[name]
		inTruth = inTruth && strings.HasPrefix(rel, "real-implementations")
		auths := 0
		seen := map[int]bool{}
		defer func() {
			oracleRows += len(oracle)
			for frame := range oracle {
				if seen[frame] {
					oracleSeen++
				}
			}
		}()
		for _, f := range scan(t, rel) {
			mt, ok := Peek(f.Msg)
			if !ok {
				continue
			}
			found++
			if mt == AuthenticateType {
				seen[f.Frame] = true
			}
			var a Authenticate
			var err error
			switch mt {
			case NegotiateType:
				_, err = ParseNegotiate(f.Msg)
			case ChallengeType:
				_, err = ParseChallenge(f.Msg)
			case AuthenticateType:
				a, err = ParseAuthenticate(f.Msg)
			default:
				continue
			}
			if err != nil {
				if errors.Is(err, ErrTruncated) {
					truncated++ // split across segments, or a broken pair list
				}
				t.Logf("%s frame %d %v: %v", rel, f.Frame, mt, err)
				continue
			}
			parsed++
			if mt != AuthenticateType {
				continue
			}
			auths++
			got := oracleRow{a.User, a.Domain, a.Workstation, string(a.Kind())}
			var exp oracleRow
			switch row, ok := oracle[f.Frame]; {
			case ok:
				exp = row
			case inTruth:
				exp = want
			default:
				noRow++
				t.Logf("%s frame %d: AUTHENTICATE %+v has no oracle row", rel, f.Frame, got)
				continue
			}
			compared++
			if got == exp {
				matched++
			} else {
				t.Errorf("%s frame %d: got %+v, oracle %+v", rel, f.Frame, got, exp)
			}
		}
		if inTruth && auths == 0 && !noNTLMSSP[name] {
			t.Errorf("%s: TRUTH.md lists %s but no AUTHENTICATE was found", rel, want.version)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d captures, %d NTLMSSP messages found, %d parsed, %d truncated; AUTHENTICATE vs oracle: %d/%d matched, %d without oracle row; %d/%d tshark AUTHENTICATE rows found by scan",
		captures, found, parsed, truncated, matched, compared, noRow, oracleSeen, oracleRows)
	if compared < 150 {
		t.Errorf("only %d AUTHENTICATE messages compared", compared)
	}
}
