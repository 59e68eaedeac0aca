// Command livebench is `make bench LIVE=1`: live capture speed. A
// generated capture (see package ntlmsensor/bench/gen) is replayed with
// tcpreplay into a veth pair between two network namespaces made for the
// run, at increasing rates (Mbit/s steps, then --topspeed), several
// replays in parallel, each looping; ntlmsensor captures on the other end
// with AF_PACKET fanout and 1, then 2, workers. A rate passes when the
// kernel dropped nothing, every packet sent was read, and every planted
// authentication was found (the check of the offline bench, copies of a
// finding from the loops counted once). Prints a table and the highest
// passing rate per worker count. Needs root, ip (iproute2) and tcpreplay;
// removes its namespaces at the end. tcpreplay runs on the same cores as
// the sensor: on a small machine it competes with it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ntlmsensor/bench/gen"
	"ntlmsensor/bench/internal/benchenv"
	"ntlmsensor/internal/netns"
)

type opts struct {
	benchenv.Options
	workers  []int
	rates    []string
	parallel int
	loops    int
	ring     string
	readme   string
}

func main() {
	var o opts
	o.Declare("256M")
	workers := flag.String("workers", "1,2", "worker counts (AF_PACKET fanout), comma-separated")
	rates := flag.String("rates", "500,1000,2000,4000,top", "total replay rates in Mbit/s, comma-separated, in increasing order; top: tcpreplay --topspeed")
	flag.IntVar(&o.parallel, "parallel", 2, "tcpreplay processes at once, each at rate/parallel")
	flag.IntVar(&o.loops, "loops", 2, "times each tcpreplay sends the capture (--loop)")
	flag.StringVar(&o.ring, "ring-size", "", "the sensor's -ring-size (empty: its default)")
	flag.StringVar(&o.readme, "readme", "", "document to update: the table replaces the lines between <!-- bench:live:begin --> and <!-- bench:live:end -->")
	flag.Parse()
	if err := o.Parse(); err != nil {
		fail(err)
	}
	for _, w := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-workers: %q", w))
		}
		o.workers = append(o.workers, n)
	}
	for _, r := range strings.Split(*rates, ",") {
		r = strings.TrimSpace(r)
		if _, err := strconv.ParseFloat(r, 64); err != nil && r != "top" {
			fail(fmt.Errorf("-rates: %q", r))
		}
		o.rates = append(o.rates, r)
	}
	if o.parallel < 1 || o.loops < 1 {
		fail(errors.New("-parallel and -loops must be at least 1"))
	}
	if err := run(o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "livebench: %v\n", err)
	os.Exit(1)
}

// result is one rate with one worker count.
type result struct {
	workers  int
	rate     string
	sent     int64 // packets
	bytes    int64
	wall     time.Duration // first replay start to last replay end
	received float64
	drops    float64
	cpu      time.Duration // the sensor's, whole run
	check    gen.Result
}

func (r *result) gbps() float64 { return float64(r.bytes) * 8 / r.wall.Seconds() / 1e9 }
func (r *result) mpps() float64 { return float64(r.sent) / r.wall.Seconds() / 1e6 }
func (r *result) ok() bool {
	return r.drops == 0 && r.received == float64(r.sent) && r.check.Found == r.check.Planted
}

func run(o opts) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, AF_PACKET)")
	}
	for _, t := range []string{"ip", "tcpreplay"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s: %v (apt-get install iproute2 tcpreplay)", t, err)
		}
	}
	if _, err := os.Stat(o.Sensor); err != nil {
		return fmt.Errorf("%v (make build)", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	capPath := benchenv.CapturePath(o.Dir, o.Size, o.Seed, o.Mix)
	cfg := gen.DefaultConfig()
	cfg.Size, cfg.Seed, cfg.Originals, cfg.Mix = o.Size, o.Seed, o.Originals, o.Mix
	m, err := benchenv.Capture(cfg, capPath, "livebench")
	if err != nil {
		return err
	}
	planted, err := m.PlantedFindings(o.Originals)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "livebench: %s: %d packets, %d planted authentications\n", capPath, m.Packets, len(planted))

	pair, err := netns.NewPair("lb")
	defer pair.Remove()
	// the namespaces go away on ^C too
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; pair.Remove(); os.Exit(130) }()
	if err != nil {
		return err
	}
	load0 := benchenv.LoadAvg()
	var results []result
	for _, w := range o.workers {
		for _, rate := range o.rates {
			fmt.Fprintf(os.Stderr, "livebench: %d workers, %s Mbit/s, %d × %d replays\n", w, rate, o.parallel, o.loops)
			r, err := measure(o, pair, capPath, w, rate, planted)
			if err != nil {
				return fmt.Errorf("%d workers at %s: %v", w, rate, err)
			}
			fmt.Fprintf(os.Stderr, "livebench:   %.2f Gbit/s, %d sent, %.0f read, %.0f dropped, %d of %d planted found, %d other: ok %v\n",
				r.gbps(), r.sent, r.received, r.drops, r.check.Found, r.check.Planted, len(r.check.Extra), r.ok())
			for i, d := range r.check.Diffs {
				if i == 5 {
					fmt.Fprintf(os.Stderr, "livebench:   ... %d more missing\n", len(r.check.Diffs)-i)
					break
				}
				fmt.Fprintf(os.Stderr, "livebench:   missing: %s\n", d)
			}
			results = append(results, r)
		}
	}
	report := table(o, m, results, load0, benchenv.LoadAvg())
	fmt.Println(report)
	if err := os.WriteFile(filepath.Join(o.Dir, fmt.Sprintf("results-live-%s-seed%d%s.md", gen.FormatSize(o.Size), o.Seed, benchenv.MixSuffix(o.Mix))), []byte(report+"\n"), 0o644); err != nil {
		return err
	}
	if o.readme != "" {
		return benchenv.UpdateSection(o.readme, "live", report)
	}
	return nil
}

// measure runs the sensor and the replays at one rate.
func measure(o opts, p *netns.Pair, capPath string, workers int, rate string, planted []gen.Planted) (result, error) {
	r := result{workers: workers, rate: rate}
	out := filepath.Join(o.Dir, fmt.Sprintf("findings-live-%d.jsonl", workers))
	os.Remove(out)                // -w appends
	const addr = "127.0.0.1:9108" // inside the sensor's namespace
	args := []string{"netns", "exec", p.NsA, o.Sensor, "-i", p.IfA, "-capture", "afpacket", "-workers", fmt.Sprint(workers),
		"-w", out, "-observer", "livebench", "-metrics", addr, "-stats-interval", "0"}
	if o.ring != "" {
		args = append(args, "-ring-size", o.ring)
	}
	s, err := start(args)
	if err != nil {
		return r, err
	}
	defer s.kill()
	opts := []string{"--preload-pcap", "--loop", fmt.Sprint(o.loops)}
	if rate == "top" {
		opts = append(opts, "--topspeed")
	} else {
		f, _ := strconv.ParseFloat(rate, 64)
		opts = append(opts, "--mbps", strconv.FormatFloat(f/float64(o.parallel), 'f', -1, 64))
	}
	// tcpreplay preloads before it sends: the wall time is taken from
	// its own reports (the longest), not from the process start
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := 0; i < o.parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pk, by, secs, err := replay(p.NsB, p.IfB, opts, capPath)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			r.sent += pk
			r.bytes += by
			r.wall = max(r.wall, time.Duration(secs*float64(time.Second)))
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return r, errs[0]
	}
	// until every packet sent was read or dropped, or nothing moves for 5 s
	var last float64
	moved := time.Now()
	for {
		mt, err := netns.Scrape(p.NsA, addr)
		if err != nil {
			return r, err
		}
		r.received, r.drops = mt["ntlmsensor_packets_received_total"], mt["ntlmsensor_kernel_drops_total"]
		done := r.received + r.drops
		if done >= float64(r.sent) {
			break
		}
		if done != last {
			last, moved = done, time.Now()
		} else if time.Since(moved) > 5*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cpu, err := s.stop()
	if err != nil {
		return r, err
	}
	r.cpu = cpu
	f, err := os.Open(out)
	if err != nil {
		return r, err
	}
	found, err := gen.ReadFindings(f)
	f.Close()
	if err != nil {
		return r, err
	}
	r.check = gen.CheckRepeated(planted, found)
	return r, nil
}

// sensor is a running ntlmsensor.
type sensor struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	ready  chan struct{}
	exited chan struct{}
	err    error
}

func (s *sensor) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stderr.Write(b)
	if strings.Contains(s.stderr.String(), "capturing on") {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}
	return len(b), nil
}

func (s *sensor) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// start runs ip netns exec ... ntlmsensor (ip executes the sensor in its
// own process: the rusage is the sensor's) and waits until it captures.
func start(args []string) (*sensor, error) {
	s := &sensor{ready: make(chan struct{}), exited: make(chan struct{})}
	s.cmd = exec.Command("ip", args...)
	s.cmd.Stderr = s
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	select {
	case <-s.ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("ntlmsensor exited: %v\n%s", s.err, s.text())
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("ntlmsensor did not start capturing:\n%s", s.text())
	}
}

// stop sends SIGTERM, waits, and returns the sensor's CPU time.
func (s *sensor) stop() (time.Duration, error) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.kill()
		return 0, fmt.Errorf("ntlmsensor did not stop within a minute of SIGTERM:\n%s", s.text())
	}
	if s.err != nil {
		return 0, fmt.Errorf("ntlmsensor: %v:\n%s", s.err, s.text())
	}
	ru := s.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

func (s *sensor) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Kill()
		<-s.exited
	}
}

var (
	reActual = regexp.MustCompile(`Actual:\s+(\d+) packets \((\d+) bytes\) sent in ([0-9.]+) seconds`)
)

// replay sends the capture out of iface in namespace ns and returns the
// packets and bytes sent and the seconds tcpreplay took to send them.
func replay(ns, iface string, opts []string, file string) (int64, int64, float64, error) {
	args := append([]string{"netns", "exec", ns, "tcpreplay", "-q", "-i", iface}, opts...)
	out, err := exec.Command("ip", append(args, file)...).CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("tcpreplay: %v\n%s", err, out)
	}
	m := reActual.FindSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("tcpreplay: no summary in\n%s", out)
	}
	pk, _ := strconv.ParseInt(string(m[1]), 10, 64)
	by, _ := strconv.ParseInt(string(m[2]), 10, 64)
	secs, _ := strconv.ParseFloat(string(m[3]), 64)
	return pk, by, secs, nil
}

func tcpreplayVersion() string {
	out, _ := exec.Command("tcpreplay", "-V").CombinedOutput()
	if f := strings.Fields(string(out)); len(f) >= 3 && f[0] == "tcpreplay" {
		return "tcpreplay " + f[2]
	}
	return "tcpreplay"
}

// table formats the results as Markdown.
func table(o opts, m *gen.Manifest, rs []result, load0, load1 string) string {
	var b strings.Builder
	planted := 0
	if len(rs) > 0 {
		planted = rs[0].check.Planted
	}
	if m.Mix != "" {
		fmt.Fprintf(&b, "Mix: %s (%s).\n\n", m.Mix, gen.Mixes[m.Mix].About)
	}
	fmt.Fprintf(&b, "Capture: %s, seed %d: %d packets, %d planted authentications; %d tcpreplay processes at once (`--preload-pcap --loop %d`), each at rate / %d; the sensor with `-capture afpacket` (fanout) on the other end of a veth pair.\n\n",
		gen.FormatSize(m.Size), m.Seed, m.Packets, planted, o.parallel, o.loops, o.parallel)
	fmt.Fprintf(&b, "| workers | asked Mbit/s | sent Gbit/s | sent Mpackets/s | sent | read | kernel drops | sensor CPU s | found / planted (+ other) | passes |\n")
	fmt.Fprintf(&b, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	best := map[int]*result{}
	for i := range rs {
		r := &rs[i]
		ok := "no"
		if r.ok() {
			ok = "yes"
			if b := best[r.workers]; b == nil || r.gbps() > b.gbps() {
				best[r.workers] = r
			}
		}
		fmt.Fprintf(&b, "| %d | %s | %.2f | %.3f | %d | %.0f | %.0f | %.1f | %d / %d (+%d) | %s |\n",
			r.workers, r.rate, r.gbps(), r.mpps(), r.sent, r.received, r.drops, r.cpu.Seconds(), r.check.Found, r.check.Planted, len(r.check.Extra), ok)
	}
	fmt.Fprintf(&b, "\n")
	for _, w := range o.workers {
		if r := best[w]; r != nil {
			fmt.Fprintf(&b, "- %d worker(s): highest rate with no kernel drop, every packet read and every planted authentication found: **%.2f Gbit/s, %.3f Mpackets/s** (asked: %s)\n", w, r.gbps(), r.mpps(), r.rate)
		} else {
			fmt.Fprintf(&b, "- %d worker(s): no rate passed\n", w)
		}
	}
	fmt.Fprintf(&b, "\nMachine: %s, %d cores (nproc); tcpreplay runs on the same cores as the sensor; load average %s before, %s after; %s, %s; %s.\n",
		benchenv.CPUModel(), runtime.NumCPU(), load0, load1, runtime.Version(), tcpreplayVersion(), time.Now().UTC().Format("2006-01-02"))
	return b.String()
}
