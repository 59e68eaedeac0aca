// Package benchenv is what the benchmark commands (benchrun, livebench)
// share: the generated capture they measure on, the machine they ran on,
// and the section of docs/PERFORMANCE.md their table goes into.
package benchenv

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"ntlmsensor/bench/gen"
)

// Options name the capture a benchmark command measures on and the
// sensor it runs: the flags benchrun and livebench share.
type Options struct {
	Size      int64
	Seed      uint64
	Mix       string // "" for the default mix
	Dir       string
	Originals string
	Sensor    string
	size      string
}

// Declare declares the options' flags; defaultSize is the command's.
func (o *Options) Declare(defaultSize string) {
	flag.StringVar(&o.size, "size", defaultSize, "capture size (K, M, G suffixes)")
	flag.Uint64Var(&o.Seed, "seed", 1, "generator seed")
	flag.StringVar(&o.Mix, "mix", "", "mix of traffic of the capture: default, "+strings.Join(gen.MixNames(), ", "))
	flag.StringVar(&o.Dir, "dir", "bench/data", "where the capture and outputs go (a capture is reused while its manifest matches)")
	flag.StringVar(&o.Originals, "originals", "pcaps/real-implementations", "captures whose authentications are planted")
	flag.StringVar(&o.Sensor, "sensor", "bin/ntlmsensor", "the ntlmsensor binary")
}

// Parse checks the options after flag.Parse.
func (o *Options) Parse() (err error) {
	if _, err := gen.LookupMix(o.Mix); err != nil {
		return err
	}
	if o.Mix == "default" {
		o.Mix = ""
	}
	o.Size, err = gen.ParseSize(o.size)
	return err
}

// CapturePath names the capture of one size, seed and mix in dir.
func CapturePath(dir string, size int64, seed uint64, mix string) string {
	return filepath.Join(dir, fmt.Sprintf("bench-%s-seed%d%s.pcap", gen.FormatSize(size), seed, MixSuffix(mix)))
}

// MixSuffix names a capture's mix in file names ("": the default).
func MixSuffix(mix string) string {
	if mix == "" {
		return ""
	}
	return "-" + mix
}

// Capture returns the manifest of the capture cfg describes at path,
// generating it (with its manifest and planted findings beside it) unless
// an up-to-date one is there. who names the command in its messages.
func Capture(cfg gen.Config, path, who string) (*gen.Manifest, error) {
	if m, err := gen.ReadManifest(path + ".json"); err == nil && m.Version == gen.Version && m.Size == cfg.Size && m.Seed == cfg.Seed && m.Mix == cfg.Mix {
		if st, err := os.Stat(path); err == nil && st.Size() == m.Bytes {
			return m, nil
		}
	}
	fmt.Fprintf(os.Stderr, "%s: generating %s (%s, seed %d)\n", who, path, gen.FormatSize(cfg.Size), cfg.Seed)
	start := time.Now()
	m, _, err := gen.WriteFiles(cfg, path, path+".json", path+".planted.jsonl")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: generated in %.1f s\n", who, time.Since(start).Seconds())
	return m, nil
}

// LoadAvg is the 1, 5 and 15 minute load average, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// CPUModel is the processor's model name, or the architecture.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

// UpdateSection puts report between the markers <!-- bench:NAME:begin -->
// and <!-- bench:NAME:end --> of the file at path.
func UpdateSection(path, name, report string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- bench:"+name+":begin -->", "<!-- bench:"+name+":end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s section", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + report + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
