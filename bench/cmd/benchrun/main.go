// Command benchrun is `make bench`: on one generated capture (see package
// ntlmsensor/bench/gen) it runs, in one go, the floors (read the capture
// and nothing else; read and decode headers), ntlmsensor with one worker
// and with every core, and tshark extracting the same NTLM fields; checks
// that every planted authentication was found with the fields the small
// captures give; and prints a table of Gbit/s, packets/s, peak RSS,
// findings found vs planted, and the ratios to the floors and to tshark.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"ntlmsensor/bench/gen"
	"ntlmsensor/bench/internal/benchenv"
)

type opts struct {
	benchenv.Options
	pass    string
	tshark  string
	workers int
	repeat  int
	profile bool
	readme  string
}

func main() {
	var o opts
	o.Declare("1G")
	flag.StringVar(&o.pass, "pass", "bin/pass", "the pass binary (bench/cmd/pass): floors and profiles")
	flag.StringVar(&o.tshark, "tshark", "tshark", `tshark binary ("none": skip)`)
	flag.IntVar(&o.workers, "workers", runtime.NumCPU(), "workers of the all-cores run")
	flag.IntVar(&o.repeat, "repeat", 3, "timed runs of each floor and sensor configuration; the fastest counts (tshark runs once)")
	flag.BoolVar(&o.profile, "profile", false, "also write CPU profiles of the sensor with 1 and all workers (DIR/cpu-N.prof)")
	flag.StringVar(&o.readme, "readme", "", "README to update: the table replaces the lines between <!-- bench:SIZE:begin --> and <!-- bench:SIZE:end -->")
	flag.Parse()
	if err := o.Parse(); err != nil {
		fail(err)
	}
	if err := run(o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "benchrun: %v\n", err)
	os.Exit(1)
}

// measured is one timed process.
type measured struct {
	name     string
	wall     time.Duration
	cpu      time.Duration
	rssKiB   int64
	found    int // -1: not a finder
	planted  int
	extra    int
	note     string
	isSensor bool
	workers  int
}

func run(o opts) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	for _, b := range []string{o.Sensor, o.pass} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%v (make build, and go build -o %s ./bench/cmd/pass)", err, o.pass)
		}
	}
	load0 := benchenv.LoadAvg()
	capPath := benchenv.CapturePath(o.Dir, o.Size, o.Seed, o.Mix)
	cfg := gen.DefaultConfig()
	cfg.Size, cfg.Seed, cfg.Originals, cfg.Mix = o.Size, o.Seed, o.Originals, o.Mix
	m, err := benchenv.Capture(cfg, capPath, "benchrun")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchrun: %s: %s, %d packets, %d connections, %.1f s of traffic, %d replicas planted\n",
		capPath, mib(m.Bytes), m.Packets, m.Connections, m.End.Sub(m.Start).Seconds(), len(m.Replicas))
	// what was planted, as this build's sensor reports the originals
	planted, err := m.PlantedFindings(o.Originals)
	if err != nil {
		return err
	}
	warm(capPath)

	type job struct {
		name    string
		args    []string
		out     string // findings file of a sensor run
		workers int
	}
	out1 := filepath.Join(o.Dir, "findings-1.jsonl")
	outN := filepath.Join(o.Dir, fmt.Sprintf("findings-%d.jsonl", o.workers))
	jobs := []job{
		{name: "floor: read", args: []string{o.pass, "-mode", "read", capPath}},
		{name: "floor: read + decode (gopacket DecodingLayerParser)", args: []string{o.pass, "-mode", "dlp", capPath}},
		{name: "read + decode (the sensor's decoder)", args: []string{o.pass, "-mode", "decode", capPath}},
		{name: "ntlmsensor, 1 worker", args: []string{o.Sensor, "-q", "-r", capPath, "-w", out1, "-workers", "1"}, out: out1, workers: 1},
		{name: fmt.Sprintf("ntlmsensor, %d workers", o.workers), args: []string{o.Sensor, "-q", "-r", capPath, "-w", outN, "-workers", fmt.Sprint(o.workers)}, out: outN, workers: o.workers},
	}
	best := make([]measured, len(jobs))
	for rep := 0; rep < o.repeat; rep++ {
		for i, j := range jobs {
			if j.out != "" {
				os.Remove(j.out) // -w appends
			}
			fmt.Fprintf(os.Stderr, "benchrun: %s (run %d of %d)\n", j.name, rep+1, o.repeat)
			warm(capPath) // the kernel may have paged part of it out since the last run
			r, err := timed(j.args, nil)
			if err != nil {
				return fmt.Errorf("%s: %v", j.name, err)
			}
			r.name, r.found, r.workers = j.name, -1, j.workers
			if rep == 0 || r.wall < best[i].wall {
				rss := max(best[i].rssKiB, r.rssKiB)
				best[i] = r
				best[i].rssKiB = rss
			} else {
				best[i].rssKiB = max(best[i].rssKiB, r.rssKiB)
			}
		}
	}
	// every planted authentication, with the fields of the small capture
	var failures []string
	for i, j := range jobs {
		if j.out == "" {
			continue
		}
		f, err := os.Open(j.out)
		if err != nil {
			return err
		}
		found, err := gen.ReadFindings(f)
		f.Close()
		if err != nil {
			return err
		}
		c := gen.Check(planted, found)
		best[i].isSensor = true
		best[i].found, best[i].planted, best[i].extra = c.Found, c.Planted, len(c.Extra)
		if c.Found != c.Planted || len(c.Extra) > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d of %d planted authentications found, %d extra findings", j.name, c.Found, c.Planted, len(c.Extra)))
			for k, d := range c.Diffs {
				if k == 20 {
					failures = append(failures, fmt.Sprintf("  ... %d more", len(c.Diffs)-k))
					break
				}
				failures = append(failures, "  missing: "+d)
			}
		}
	}
	results := best
	var tsharkVersion string
	if need, have := m.Bytes*2, memAvailable(); o.tshark != "none" && have > 0 && need > have {
		// tshark keeps state for every frame: about 1.8 GB per GiB of capture
		fmt.Fprintf(os.Stderr, "benchrun: tshark skipped: it would need about %s of memory, %s available\n", mib(need), mib(have))
		o.tshark = "none"
	}
	if o.tshark != "none" {
		r, v, err := runTshark(o, capPath, m)
		if err != nil {
			return err
		}
		results = append(results, r)
		tsharkVersion = v
	}
	if o.profile {
		for _, w := range []int{1, o.workers} {
			p := filepath.Join(o.Dir, fmt.Sprintf("cpu-%d.prof", w))
			fmt.Fprintf(os.Stderr, "benchrun: profiling the sensor with %d workers: %s\n", w, p)
			if _, err := timed([]string{o.pass, "-mode", "sensor", "-workers", fmt.Sprint(w), "-cpuprofile", p, capPath}, nil); err != nil {
				return err
			}
		}
	}
	load1 := benchenv.LoadAvg()
	report := table(o, m, results, load0, load1, tsharkVersion)
	fmt.Println(report)
	if err := os.WriteFile(filepath.Join(o.Dir, fmt.Sprintf("results-%s-seed%d%s.md", gen.FormatSize(o.Size), o.Seed, benchenv.MixSuffix(o.Mix))), []byte(report+"\n"), 0o644); err != nil {
		return err
	}
	if o.readme != "" {
		if err := benchenv.UpdateSection(o.readme, gen.FormatSize(o.Size), report); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return errors.New("speed cost a finding:\n" + strings.Join(failures, "\n"))
	}
	return nil
}

// warm reads the capture so that the next run finds it in the page cache
// (a proactive reclaimer such as DAMON pages out a file left unread).
func warm(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(io.Discard, f)
}

// timed runs a process, with its output to stdout (if not nil) and its
// wall time, CPU time and peak RSS.
func timed(args []string, stdout io.Writer) (measured, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{}, err
	}
	stop := make(chan struct{})
	peak := watchPeak(cmd.Process.Pid, filepath.Base(args[0]), stop)
	err := cmd.Wait()
	wall := time.Since(start)
	close(stop)
	hwm := <-peak
	if err != nil {
		return measured{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if hwm == 0 {
		// too short to be seen; the rusage figure also counts the parent's
		// pages the child shared until it executed
		hwm = ru.Maxrss
	}
	return measured{
		wall:   wall,
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		rssKiB: hwm,
	}, nil
}

// watchPeak follows VmHWM (the peak resident set, KiB) of a process once
// it runs the named program: the rusage of a child also counts the pages
// of the parent it was forked from, which would make small processes look
// as big as this one.
func watchPeak(pid int, name string, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	if len(name) > 15 {
		name = name[:15] // the kernel's comm
	}
	go func() {
		var peak int64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == name {
				if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
					for _, l := range strings.Split(string(b), "\n") {
						if strings.HasPrefix(l, "VmHWM:") {
							var kb int64
							fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), &kb)
							peak = max(peak, kb)
						}
					}
				}
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// tsharkFields are the NTLM AUTHENTICATE fields tshark is asked for: the
// ones the sensor's findings carry.
var tsharkFields = []string{"ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "ntlmssp.auth.username", "ntlmssp.auth.domain", "ntlmssp.auth.hostname", "ntlmssp.auth.ntresponse", "ntlmssp.negotiateflags"}

func tsharkArgs(o opts, path string) []string {
	a := []string{o.tshark, "-n", "-r", path, "-Y", "ntlmssp.messagetype == 0x00000003", "-T", "fields", "-E", "occurrence=f"}
	for _, f := range tsharkFields {
		a = append(a, "-e", f)
	}
	return a
}

// runTshark times tshark on the capture and counts the AUTHENTICATE
// messages it lists against those it lists on the originals, moved to the
// replicas' endpoints.
func runTshark(o opts, capPath string, m *gen.Manifest) (measured, string, error) {
	vout, err := exec.Command(o.tshark, "--version").Output()
	if err != nil {
		return measured{}, "", fmt.Errorf("tshark: %v (install it: apt-get install tshark, or -tshark none)", err)
	}
	version := strings.TrimSpace(strings.SplitN(string(vout), "\n", 2)[0])
	if f := strings.Fields(version); len(f) >= 3 && f[0] == "TShark" {
		version = "tshark " + f[2]
	}
	// what tshark lists on each original
	perOriginal := map[string][][]string{}
	for _, r := range m.Replicas {
		if _, ok := perOriginal[r.Original]; ok {
			continue
		}
		var b bytes.Buffer
		if _, err := timed(tsharkArgs(o, filepath.Join(o.Originals, r.Original)), &b); err != nil {
			return measured{}, "", fmt.Errorf("tshark %s: %v", r.Original, err)
		}
		perOriginal[r.Original] = rows(b.Bytes())
	}
	want := map[string]int{}
	planted := 0
	for i := range m.Replicas {
		r := &m.Replicas[i]
		for _, row := range perOriginal[r.Original] {
			want[key(r, row)]++
			planted++
		}
	}
	fmt.Fprintf(os.Stderr, "benchrun: tshark\n")
	outPath := filepath.Join(o.Dir, "tshark.tsv")
	f, err := os.Create(outPath)
	if err != nil {
		return measured{}, "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	res, err := timed(tsharkArgs(o, capPath), w)
	w.Flush()
	f.Close()
	if err != nil {
		return measured{}, "", fmt.Errorf("tshark: %v", err)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		return measured{}, "", err
	}
	found, extra := 0, 0
	for _, row := range rows(b) {
		k := key(nil, row)
		if want[k] > 0 {
			want[k]--
			found++
		} else {
			extra++
		}
	}
	res.name = version + " -Y ntlmssp.messagetype==3 -T fields"
	res.found, res.planted, res.extra = found, planted, extra
	res.note = "planted: the AUTHENTICATE messages tshark lists on the originals"
	return res, version, nil
}

func rows(b []byte) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		out = append(out, strings.Split(line, "\t"))
	}
	return out
}

// key is a tshark row with its endpoints moved to the replica's (r nil:
// as it is); the NT response identifies the message.
func key(r *gen.Replica, row []string) string {
	row = append([]string(nil), row...)
	for len(row) < len(tsharkFields) {
		row = append(row, "")
	}
	if r != nil {
		var sp, dp uint16
		fmt.Sscan(row[1], &sp)
		fmt.Sscan(row[3], &dp)
		s, sp2 := r.MapEndpoint(row[0], sp)
		d, dp2 := r.MapEndpoint(row[2], dp)
		row[0], row[1], row[2], row[3] = s, fmt.Sprint(sp2), d, fmt.Sprint(dp2)
	}
	return strings.Join(row, "\t")
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	var kb int64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), &kb)
		}
	}
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}

// memAvailable is MemAvailable of /proc/meminfo in bytes (0 if unknown).
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemAvailable:") {
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "MemAvailable:")), &kb)
		}
	}
	return kb << 10
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// table formats the results as Markdown. Throughput is file bytes and
// frames over wall time; "cores" is CPU time over wall time: below 1 for a
// single-threaded run, the machine was busy with other work.
func table(o opts, m *gen.Manifest, rs []measured, load0, load1, tsharkVersion string) string {
	var b strings.Builder
	gbps := func(r *measured) float64 { return float64(m.Bytes) * 8 / r.wall.Seconds() / 1e9 }
	mpps := func(r *measured) float64 { return float64(m.Packets) / r.wall.Seconds() / 1e6 }
	var readFloor, dlpFloor, tshark, one, all *measured
	for i := range rs {
		r := &rs[i]
		switch {
		case strings.HasPrefix(r.name, "floor: read +"):
			dlpFloor = r
		case r.name == "floor: read":
			readFloor = r
		case strings.HasPrefix(r.name, "tshark"):
			tshark = r
		case r.isSensor && r.workers == 1:
			one = r
		case r.isSensor:
			all = r
		}
	}
	ratio := func(r, base *measured) string {
		if base == nil {
			return ""
		}
		return fmt.Sprintf("%.2f", base.wall.Seconds()/r.wall.Seconds())
	}
	if m.Mix != "" {
		fmt.Fprintf(&b, "Mix: %s (%s).\n\n", m.Mix, gen.Mixes[m.Mix].About)
	}
	fmt.Fprintf(&b, "Capture: %s, seed %d: %s, %d packets, %d connections (%.1f s of traffic, %.1f Gbit/s), %d replicas of %d real captures planted.\n\n",
		gen.FormatSize(m.Size), m.Seed, mib(m.Bytes), m.Packets, m.Connections, m.End.Sub(m.Start).Seconds(),
		float64(m.Bytes)*8/m.End.Sub(m.Start).Seconds()/1e9, len(m.Replicas), originalsCount(m))
	fmt.Fprintf(&b, "| run | Gbit/s | Mpackets/s | wall s | CPU s | cores | peak RSS | found / planted | × read floor | × decode floor | × tshark |\n")
	fmt.Fprintf(&b, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for i := range rs {
		r := &rs[i]
		found := ""
		if r.found >= 0 && r.planted > 0 {
			found = fmt.Sprintf("%d / %d", r.found, r.planted)
			if r.extra > 0 {
				found += fmt.Sprintf(" (+%d)", r.extra)
			}
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.3f | %.2f | %.2f | %.2f | %.0f MiB | %s | %s | %s | %s |\n",
			r.name, gbps(r), mpps(r), r.wall.Seconds(), r.cpu.Seconds(), r.cpu.Seconds()/r.wall.Seconds(),
			float64(r.rssKiB)/1024, found, ratio(r, readFloor), ratio(r, dlpFloor), ratio(r, tshark))
	}
	fmt.Fprintf(&b, "\n")
	if one != nil && dlpFloor != nil {
		v, c := dlpFloor.wall.Seconds()/one.wall.Seconds(), dlpFloor.cpu.Seconds()/one.cpu.Seconds()
		fmt.Fprintf(&b, "- 1 worker reaches %.0f %% of the header-decode floor's throughput (%.0f %% by CPU time) (target ≥ 60 %%): %s\n", 100*v, 100*c, verdict(v >= 0.6))
	}
	if one != nil && all != nil {
		v := one.wall.Seconds() / all.wall.Seconds()
		fmt.Fprintf(&b, "- %d workers: %.2f× one worker (target ≥ 1.6× on 2 cores): %s\n", all.workers, v, verdict(v >= 1.6))
	}
	if one != nil {
		peak := one.rssKiB
		if all != nil {
			peak = max(peak, all.rssKiB)
		}
		fmt.Fprintf(&b, "- peak RSS %.0f MiB (target ≤ 256 MiB on 10 GiB with a million connections; this capture: %s, %d connections): %s\n",
			float64(peak)/1024, gen.FormatSize(m.Size), m.Connections, verdict(peak <= 256<<10))
		for _, r := range []*measured{one, all} {
			if r != nil {
				fmt.Fprintf(&b, "- %s: %d of %d planted authentications found with every field equal, %d other findings: %s\n",
					r.name, r.found, r.planted, r.extra, verdict(r.found == r.planted && r.extra == 0))
			}
		}
	}
	if one != nil && tshark != nil {
		fmt.Fprintf(&b, "- 1 worker: %.0f× tshark by wall time, %.0f× by CPU time (tshark found %d of the %d AUTHENTICATE messages it lists in the originals)\n",
			tshark.wall.Seconds()/one.wall.Seconds(), tshark.cpu.Seconds()/one.cpu.Seconds(), tshark.found, tshark.planted)
	}
	ts := ""
	if tsharkVersion != "" {
		ts = ", " + tsharkVersion
	}
	fmt.Fprintf(&b, "\nMachine: %s, %d cores (nproc), %s RAM; load average %s before, %s after (1, 5, 15 min); %s%s; %s. Each floor and sensor run is the fastest of %d, run in turn.\n",
		benchenv.CPUModel(), runtime.NumCPU(), memTotal(), load0, load1, runtime.Version(), ts, time.Now().UTC().Format("2006-01-02"), o.repeat)
	return b.String()
}

func originalsCount(m *gen.Manifest) int {
	s := map[string]bool{}
	for _, r := range m.Replicas {
		s[r.Original] = true
	}
	return len(s)
}

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}
