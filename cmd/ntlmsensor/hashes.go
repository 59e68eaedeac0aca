package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"

	"ntlmsensor/decoders/carrier"
)

// hashFile is the -emit-hashes file: one line per crackable exchange, in
// the formats of hashcat (modes 5500, 5600, 7500, 19800/19900, 13100,
// 19600/19700, 18200, 32100/32200; see README "Hash export"). The workers
// call Hash at once: one lock serialises the writes. The lines are
// crackable and go nowhere else: not to stderr, not into a finding or
// an error message.
type hashFile struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	w     *bufio.Writer
	lines int
	err   error
}

// openHashes creates (or appends to) path with mode 0600, also when the
// file existed with a wider one, and installs it as the export hook.
func openHashes(path string, stderr io.Writer) (*hashFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("-emit-hashes: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("-emit-hashes: %w", err)
	}
	h := &hashFile{path: path, f: f, w: bufio.NewWriter(f)}
	fmt.Fprintf(stderr, "ntlmsensor: -emit-hashes: writing crackable NTLM and Kerberos material to %s (mode 0600); for authorised password audits only\n", path)
	carrier.SetHashes(h)
	return h, nil
}

// Hash writes one line.
func (h *hashFile) Hash(mode int, line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	if _, err := h.w.WriteString(line + "\n"); err != nil {
		h.err = err
		return
	}
	h.lines++
}

// close removes the hook, then flushes and closes the file; it says how
// many lines were written, never what they hold.
func (h *hashFile) close(quiet bool, stderr io.Writer) error {
	carrier.SetHashes(nil)
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.err
	if e := h.w.Flush(); err == nil {
		err = e
	}
	if e := h.f.Close(); err == nil {
		err = e
	}
	if err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: -emit-hashes %s: %v\n", h.path, err)
		return err
	}
	if !quiet {
		fmt.Fprintf(stderr, "ntlmsensor: -emit-hashes: %d lines written to %s\n", h.lines, h.path)
	}
	return nil
}
