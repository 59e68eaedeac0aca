// Command gencap writes a large benchmark capture (see package
// ntlmsensor/bench/gen) and its manifest: what was planted where.
//
//	gencap -size 1G -seed 1 -o bench.pcap [-manifest bench.pcap.json] [-planted bench.pcap.planted.jsonl]
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"ntlmsensor/bench/gen"
)

func main() {
	d := gen.DefaultConfig()
	size := flag.String("size", gen.FormatSize(d.Size), "capture size (K, M, G suffixes)")
	seed := flag.Uint64("seed", d.Seed, "random seed: the same seed and size give the same bytes")
	out := flag.String("o", "bench.pcap", "capture file to write")
	manifest := flag.String("manifest", "", "manifest file (default: OUT.json)")
	planted := flag.String("planted", "", "planted findings, JSON lines (default: OUT.planted.jsonl)")
	originals := flag.String("originals", "pcaps/real-implementations", "captures to plant")
	every := flag.String("plant-every", gen.FormatSize(d.PlantEvery), "one planted replica per this many bytes (0: none)")
	rate := flag.Float64("link-rate", d.LinkRate, "link speed in bit/s: sets the capture clock")
	bulk, short := gen.ClassNames()
	only := flag.String("classes", "", "comma-separated kinds of traffic to keep (default all; \"bulk\" for "+strings.Join(bulk, ",")+"; others: "+strings.Join(short, ",")+")")
	mix := flag.String("mix", "", "mix of traffic: default, "+strings.Join(gen.MixNames(), ", "))
	flag.Parse()
	if *manifest == "" {
		*manifest = *out + ".json"
	}
	if *planted == "" {
		*planted = *out + ".planted.jsonl"
	}
	cfg := d
	var err error
	if cfg.Size, err = gen.ParseSize(*size); err != nil {
		fail(err)
	}
	if *every == "0" {
		cfg.PlantEvery = 0
	} else if cfg.PlantEvery, err = gen.ParseSize(*every); err != nil {
		fail(err)
	}
	cfg.Seed, cfg.LinkRate, cfg.Originals = *seed, *rate, *originals
	if _, err := gen.LookupMix(*mix); err != nil {
		fail(err)
	}
	if *mix != "default" {
		cfg.Mix = *mix
	}
	switch *only {
	case "":
	case "bulk":
		cfg.Classes = bulk
	default:
		cfg.Classes = strings.Split(*only, ",")
	}
	start := time.Now()
	m, p, err := gen.WriteFiles(cfg, *out, *manifest, *planted)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "gencap: %s: %d bytes, %d packets, %d connections, %.1f s of traffic, %d replicas planted holding %d authentications (%.1f s)\n",
		*out, m.Bytes, m.Packets, m.Connections, m.End.Sub(m.Start).Seconds(), len(m.Replicas), len(p), time.Since(start).Seconds())
	names := make([]string, 0, len(m.Classes))
	for k := range m.Classes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := m.Classes[k]
		fmt.Fprintf(os.Stderr, "  %-14s %8d connections %9d packets %6.1f%% of bytes\n", k, c.Connections, c.Packets, 100*float64(c.Bytes)/float64(m.Bytes))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "gencap: %v\n", err)
	os.Exit(1)
}
