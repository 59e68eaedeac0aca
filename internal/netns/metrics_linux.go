// Package netns reaches into a network namespace that a test or a
// benchmark made for the sensor: it is Linux-only, for root.
package netns

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Scrape reads the sensor's Prometheus metrics at addr from inside the
// namespace ns (as `ip netns` names it): a locked thread enters the
// namespace, so the socket is made there. It returns the ntlmsensor_*
// samples by name with their labels.
func Scrape(ns, addr string) (map[string]float64, error) {
	type result struct {
		body string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %v", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
		b, err := io.ReadAll(c)
		ch <- result{string(b), err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("metrics %s in %s: %v", addr, ns, r.err)
	}
	return parse(r.body), nil
}

// parse takes the ntlmsensor_* samples of a text exposition.
func parse(body string) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ntlmsensor_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}
