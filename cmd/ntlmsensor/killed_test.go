//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// streamReal writes the real captures' frames as one pcap stream, reps
// times, each repetition 10 minutes after the previous one (every
// connection has gone idle and closed: each repetition gives the same
// findings), pausing between repetitions so that the run lasts.
func streamReal(w io.Writer, frames []realFrame, reps int, pause time.Duration) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	bw.Write(hdr[:])
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var rec [16]byte
	for r := 0; r < reps; r++ {
		for _, f := range frames {
			clock = clock.Add(100 * time.Microsecond)
			binary.LittleEndian.PutUint32(rec[0:], uint32(clock.Unix()))
			binary.LittleEndian.PutUint32(rec[4:], uint32(clock.Nanosecond()/1000))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(f.data)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(f.length))
			bw.Write(rec[:])
			bw.Write(f.data)
		}
		clock = clock.Add(10 * time.Minute)
		if err := bw.Flush(); err != nil {
			return err
		}
		time.Sleep(pause)
	}
	return nil
}

// jsonLines checks that every line of the file parses and counts the
// findings (not the inventory rows).
func jsonLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends in a torn line: %q", path, b[max(0, len(b)-60):])
	}
	n := 0
	for i, l := range bytes.Split(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\n'}) {
		var m struct {
			Event struct{ Kind string }
		}
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s line %d does not parse (%v): %.120q", path, i+1, err, l)
		}
		if m.Event.Kind != "state" { // inventory rows come at a clean exit only
			n++
		}
	}
	return n
}

// The sensor killed with SIGKILL again and again while it writes -w, then
// a torn last line as a kill in mid-write leaves it, then a run to the
// end: every line of the file parses, the torn bytes are in FILE.torn,
// and findings reached the file before each kill (a time-bound flush in
// -r mode too).
func TestKilledSensorLeavesWholeLines(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the sensor ten times")
	}
	frames := readReal(t, realCaptures(t))
	perRep := 0
	for _, n := range offline(t, realCaptures(t)) {
		perRep += n
	}
	bin := sensorBinary(t)
	out := filepath.Join(t.TempDir(), "findings.jsonl")
	run := func(kill time.Duration, reps int) {
		cmd := exec.Command(bin, "-q", "-r", "-", "-w", out, "-observer", "test", "-workers", "2")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr safeBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			streamReal(stdin, frames, reps, 150*time.Millisecond)
			stdin.Close()
		}()
		if kill > 0 {
			time.Sleep(kill)
			cmd.Process.Kill() // SIGKILL
			cmd.Wait()
			return
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("last run: %v: %s", err, stderr.String())
		}
		if !bytes.Contains([]byte(stderr.String()), []byte("ended in a torn line")) {
			t.Fatalf("the torn line was not reported: %s", stderr.String())
		}
	}
	grew := 0
	prev := 0
	for i := 0; i < 10; i++ {
		run(time.Duration(1100+rand.IntN(600))*time.Millisecond, 1000)
		n := jsonLines(t, out)
		if n > prev {
			grew++
		}
		prev = n
	}
	t.Logf("10 runs killed: %d lines in the file, %d runs wrote before their kill (%d findings a repetition)", prev, grew, perRep)
	if grew < 8 {
		t.Fatalf("only %d of 10 killed runs had written anything", grew)
	}
	torn := `{"@timestamp":"2030-01-01T00:00:00.000100Z","event":{"kind":"al`
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(torn)
	f.Close()
	run(0, 3)
	// three repetitions of the lab: their findings, and one alert (bob's
	// AES AS-REQ of one repetition, then his RC4-only one of the next: an
	// RC4 downgrade, not repeated within the Kerberos window)
	if n := jsonLines(t, out); n != prev+3*perRep+1 {
		t.Fatalf("%d lines after the last run, want %d + %d findings + 1 alert", n, prev, 3*perRep)
	}
	if b, err := os.ReadFile(out + ".torn"); err != nil || string(b) != torn+"\n" {
		t.Fatalf("%s.torn: %q %v", out, b, err)
	}
}
