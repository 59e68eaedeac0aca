package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"ntlmsensor/capture"
)

// settle refuses what parses but makes no sense, caps what is merely too
// much (saying so), and sorts out the words after the options: the files
// a shell glob after -r spread there, or the BPF filter. It returns those
// filter words; ok false means the run must stop (status 2), the reason
// already said in one line.
func settle(fset *flag.FlagSet, reads *fileList, stderr io.Writer) (rest []string, ok bool) {
	fail := func(format string, args ...any) ([]string, bool) {
		fmt.Fprintf(stderr, "ntlmsensor: "+format+"\n", args...)
		return nil, false
	}
	num := func(name string) int64 {
		f := fset.Lookup(name)
		if f == nil {
			return 0
		}
		switch v := f.Value.(flag.Getter).Get().(type) {
		case int:
			return int64(v)
		case int64:
			return v
		case uint:
			return int64(v)
		case time.Duration:
			return int64(v)
		}
		n, _ := strconv.ParseInt(f.Value.String(), 10, 64)
		return n
	}
	if w := num("workers"); w < 0 {
		return fail("-workers %d: want 0 (one per core) or more", w)
	} else if most := int64(max(4, 2*runtime.NumCPU())); w > most {
		fmt.Fprintf(stderr, "ntlmsensor: -workers %d: this machine has %d cores; using %d\n", w, runtime.NumCPU(), most)
		fset.Set("workers", strconv.FormatInt(most, 10))
	}
	if n := num("max-flows"); n < 1 || n > 100_000_000 {
		return fail("-max-flows %d: want 1 to 100000000 connections", n)
	}
	if n := num("rotate-keep"); n < 1 {
		return fail("-rotate-keep %d: want at least 1", n)
	}
	if n := num("snaplen"); n < 96 || n > capture.MaxPacketSize {
		return fail("-snaplen %d: want 96 to %d bytes", n, capture.MaxPacketSize)
	}
	for _, name := range []string{"stats-interval", "tcp-idle", "udp-idle"} {
		if d := time.Duration(num(name)); d < 0 {
			return fail("-%s %s: want a positive duration", name, d)
		}
	}
	if w := fset.Lookup("w"); w != nil && looksLikeCapture(w.Value.String()) {
		return fail("-w %s: -w writes findings as JSON lines, not packets as tcpdump -w does; name it e.g. findings.jsonl", w.Value.String())
	}

	rest = fset.Args()
	if len(*reads) > 0 && len(rest) > 0 {
		var files, words []string
		for _, a := range rest {
			if _, err := os.Stat(a); err == nil {
				files = append(files, a)
			} else {
				words = append(words, a)
			}
		}
		switch {
		case len(words) == 0: // -r *.pcap: the shell put the other files there
			*reads = append(*reads, files...)
			rest = nil
		case len(files) > 0:
			return fail("%q after the options is a file, not part of a BPF filter: give every capture after -r (-r a.pcap -r b.pcap, or -r DIR) and the filter last, or with -filter", files[0])
		}
	}
	expanded, err := expandDirs(*reads, stderr)
	if err != nil {
		return fail("%v", err)
	}
	*reads = expanded
	return rest, true
}

// looksLikeCapture: the name is a packet capture's.
func looksLikeCapture(path string) bool {
	p := strings.ToLower(path)
	for _, z := range []string{".gz", ".zst", ".xz", ".bz2"} {
		p = strings.TrimSuffix(p, z)
	}
	for _, ext := range []string{".pcap", ".pcapng", ".cap"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// maxDirFiles bounds the files one -r DIR may name.
const maxDirFiles = 100_000

// expandDirs replaces each directory among paths by the captures under
// it, in name order; files there that are no captures (notes, indexes)
// are passed over, and counted.
func expandDirs(paths []string, stderr io.Writer) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p) // opening it says what is wrong
			continue
		}
		var found []string
		skipped := 0
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if len(found) >= maxDirFiles {
				return fmt.Errorf("%s: more than %d files", p, maxDirFiles)
			}
			src, err := capture.OpenFile(path)
			if errors.Is(err, capture.ErrNotCapture) {
				skipped++
				return nil
			}
			if err == nil {
				src.Close()
			}
			found = append(found, path)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no capture in this directory (%d other files)", p, skipped)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
