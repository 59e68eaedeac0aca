package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/sensor"
)

// A service sets every option three ways, the first found winning:
//
//  1. the command line;
//  2. the environment: NTLMSENSOR_ and the option's name in capitals,
//     dashes as underscores (NTLMSENSOR_MAX_FLOWS=500000, NTLMSENSOR_I=eth1,
//     NTLMSENSOR_FILTER='port 445');
//  3. the configuration file named by -config (or NTLMSENSOR_CONFIG): one
//     "name = value" per line, names as on the command line without the
//     dash, # comments (whole lines, or after " #"), a repeatable option on
//     several lines, a boolean alone on its line meaning true. See
//     deploy/ntlmsensor.conf.
//
// The BPF filter, trailing words on the command line, is the option
// "filter" there.

// envName is the environment variable of an option.
func envName(flagName string) string {
	return "NTLMSENSOR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseArgs parses the command line, then fills every option it did not
// set from the environment, then from the configuration file.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	fail := func(err error) error {
		fmt.Fprintf(fs.Output(), "ntlmsensor: %v\n", err)
		return err
	}
	if err := credentialOnCommandLine(fs); err != nil { // before the environment's values join in
		return fail(err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	fromEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && !onCommandLine[f.Name] {
			fromEnv[f.Name] = v
		}
	})
	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
		if !onCommandLine["config"] {
			path = fromEnv["config"]
		}
	}
	if path != "" {
		entries, err := readConfig(path)
		if err != nil {
			return fail(err)
		}
		for _, e := range entries {
			if onCommandLine[e.name] {
				continue
			}
			if _, ok := fromEnv[e.name]; ok {
				continue
			}
			if fs.Lookup(e.name) == nil {
				return fail(fmt.Errorf("%s:%d: unknown option %q", path, e.line, e.name))
			}
			if err := fs.Set(e.name, e.value); err != nil {
				return fail(fmt.Errorf("%s:%d: %s: %v", path, e.line, e.name, err))
			}
		}
	}
	for name, v := range fromEnv {
		if err := fs.Set(name, v); err != nil {
			return fail(fmt.Errorf("%s: %v", envName(name), err))
		}
	}
	if i, r := fs.Lookup("i"), fs.Lookup("r"); i != nil && r != nil && i.Value.String() != "" && r.Value.String() != "" {
		return fail(errors.New("-i (live capture) and -r (files) exclude each other"))
	}
	return nil
}

type configEntry struct {
	name, value string
	line        int
}

// readConfig reads "name = value" lines.
func readConfig(path string) ([]configEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	var out []configEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i]) // a comment after the value
		} else if i := strings.Index(line, "\t#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		name, value, found := strings.Cut(line, "=")
		name = strings.TrimLeft(strings.TrimSpace(name), "-")
		value = strings.TrimSpace(value)
		if !found {
			value = "true" // a boolean alone on its line
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if name == "" {
			return nil, fmt.Errorf("%s:%d: no option name", path, n)
		}
		out = append(out, configEntry{name, value, n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config %s: %v", path, err)
	}
	return out, nil
}

// byteSize is a size option: 1048576, 512K, 64M, 1G (K = KiB).
type byteSize int

func (b *byteSize) String() string {
	switch n := int(*b); {
	case n != 0 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "G"
	case n != 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "M"
	case n != 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "K"
	default:
		return strconv.Itoa(n)
	}
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	bad := errors.New("want a size such as 1048576, 512K, 64M or 1G")
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return bad
	}
	shift := 0
	switch strings.ToUpper(strings.TrimSpace(s[i:])) {
	case "", "B":
	case "K", "KB", "KIB":
		shift = 10
	case "M", "MB", "MIB":
		shift = 20
	case "G", "GB", "GIB":
		shift = 30
	default:
		return bad
	}
	if n > 1<<40>>shift {
		return errors.New("size too large")
	}
	*b = byteSize(n << shift)
	return nil
}

// serviceOptions are the options of live capture and of running as a
// service (live.go).
type serviceOptions struct {
	iface       string
	method      string
	snaplen     int
	promisc     bool
	ring        byteSize
	fanoutGroup uint
	user        string
	seccomp     bool
	metricsAddr string
	interval    time.Duration
	filter      string
	config      string

	maxBuffered     byteSize
	maxStreamBuffer byteSize
	tcpIdle         time.Duration
	udpIdle         time.Duration

	live       // what open made
	peak int64 // memoryBound of the settings
}

// addServiceFlags defines the options of live capture and of a service.
func addServiceFlags(fs *flag.FlagSet) *serviceOptions {
	d := sensor.DefaultConfig()
	o := &serviceOptions{ring: capture.DefaultRingBytes, maxBuffered: byteSize(d.MaxBuffered), maxStreamBuffer: byteSize(d.MaxStreamBuffer)}
	fs.StringVar(&o.iface, "i", "", "capture live from this network interface (a SPAN/mirror port) until SIGINT or SIGTERM")
	fs.StringVar(&o.method, "capture", defaultMethod, "live capture method: afpacket (Linux: one TPACKET_V3 ring per worker in a fanout group) or pcap (libpcap, one handle)")
	fs.IntVar(&o.snaplen, "snaplen", capture.DefaultSnaplen, "bytes kept of each packet (applied in the kernel)")
	fs.BoolVar(&o.promisc, "promisc", true, "put the interface into promiscuous mode (-promisc=false: do not)")
	fs.Var(&o.ring, "ring-size", "kernel capture buffer per worker (afpacket ring) or in all (pcap), e.g. 64M")
	fs.UintVar(&o.fanoutGroup, "fanout-group", 0, "AF_PACKET fanout group id, 1-65535 (0: derived from the process id); processes joining one group share the traffic")
	fs.StringVar(&o.user, "user", "", "after opening the capture and the metrics port, run as this user (and its groups), keeping no privilege")
	fs.BoolVar(&o.seccomp, "seccomp", true, "live capture on Linux: once the capture is open, allow only the system calls the sensor makes (-seccomp=false: no filter)")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9108 (live capture)")
	fs.DurationVar(&o.interval, "stats-interval", time.Minute, "live capture: a one-line summary on stderr this often (0: only at exit)")
	fs.StringVar(&o.filter, "filter", "", "BPF filter expression, when none follows the options (for the config file and environment)")
	fs.StringVar(&o.config, "config", "", "read options from this file (name = value lines); the command line and environment override it")
	fs.Var(&o.maxBuffered, "max-buffered", "bytes all TCP streams may hold together (shared by the workers), e.g. 128M")
	fs.Var(&o.maxStreamBuffer, "max-stream-buffer", "unconsumed bytes kept per stream direction, e.g. 256K")
	fs.DurationVar(&o.tcpIdle, "tcp-idle", d.TCPIdle, "close a TCP connection silent this long")
	fs.DurationVar(&o.udpIdle, "udp-idle", d.UDPIdle, "close a UDP conversation silent this long")
	return o
}

// bound is memoryBound for these settings.
func (o *serviceOptions) bound(cfg sensor.Config) (total, goLimit int64) {
	queues, decoders, rings := 0, 1, int64(0)
	if o.workers > 1 {
		queues = o.workers // one reader hands packets to the workers
	}
	if o.enabled() {
		rings = int64(o.ring)
		if o.method == capture.MethodAFPacket {
			// one ring per worker, each read by its worker, which decodes
			queues, decoders, rings = 0, o.workers, rings*int64(o.workers)
		}
	}
	return memoryBound(cfg.MaxFlows, cfg.MaxBuffered, queues, decoders, rings)
}

// enabled: live capture was asked for.
func (o *serviceOptions) enabled() bool { return o.iface != "" }

// filterExpr is the BPF filter: the trailing words, else -filter.
func (o *serviceOptions) filterExpr(args []string) string {
	if len(args) > 0 {
		return strings.Join(args, " ")
	}
	return strings.TrimSpace(o.filter)
}

// perFlowMax is the most one tracked connection costs: 0.4 KiB bare, about
// 2 KiB with a carrier in the middle of an SMB or HTTP logon (measured),
// with a margin.
const perFlowMax = 3 << 10

// memoryBound is the peak resident memory the settings allow (README
// "Peak memory"): the program itself; the kernel rings; and twice (the
// garbage collector lets the heap grow to twice what is live) the live
// state: the flow table full of connections in the middle of a logon, the
// stream buffers full, the IP fragment buffers of every decoder full, and
// the batches queued for each worker when one reader feeds several.
// goLimit is the part the Go runtime manages: it is told
// (debug.SetMemoryLimit), so that it collects harder rather than pass it.
func memoryBound(maxFlows, maxBuffered, queues, decoders int, rings int64) (total, goLimit int64) {
	const program = 32 << 20 // code, runtime, libpcap, sinks at rest
	live := int64(maxFlows)*perFlowMax + int64(maxBuffered) +
		int64(decoders)*int64(capture.DefaultFragmentLimits.MaxBytes) +
		int64(queues)*sensor.QueueBytes
	return program + rings + 2*live, 2*live + program/2
}

// apply puts the memory bounds into the sensor's configuration, and the
// bound on the Go heap they imply into the runtime (unless GOMEMLIMIT
// says otherwise).
func (o *serviceOptions) apply(cfg *sensor.Config) {
	defer func() {
		total, goLimit := o.bound(*cfg)
		o.peak = total
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(goLimit)
		}
	}()
	if o.maxBuffered > 0 {
		cfg.MaxBuffered = int(o.maxBuffered)
	}
	if o.maxStreamBuffer > 0 {
		cfg.MaxStreamBuffer = int(o.maxStreamBuffer)
	}
	if o.tcpIdle > 0 {
		cfg.TCPIdle = o.tcpIdle
	}
	if o.udpIdle > 0 {
		cfg.UDPIdle = o.udpIdle
	}
}
