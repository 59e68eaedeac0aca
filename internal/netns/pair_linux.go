package netns

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Pair is two network namespaces joined by a veth pair: IfA in NsA (the
// sensor's), IfB in NsB (where traffic is sent from). Nothing of it ever
// appears in the host's namespace, and neither namespace sends anything
// of its own (no IPv6: no router or neighbour solicitations).
type Pair struct {
	NsA, NsB, IfA, IfB string
	once               sync.Once
}

// NewPair makes a pair named after who (two or three letters: an
// interface name is at most 15 bytes) and the process. On error, Remove
// what was made.
func NewPair(who string) (*Pair, error) {
	id := fmt.Sprintf("%d%03d", os.Getpid()%100000, time.Now().Nanosecond()%1000)
	p := &Pair{NsA: "ntlm-" + who + "-a" + id, NsB: "ntlm-" + who + "-b" + id, IfA: who + "A" + id, IfB: who + "B" + id}
	for _, ns := range []string{p.NsA, p.NsB} {
		if err := ip("netns", "add", ns); err != nil {
			return p, err
		}
	}
	// made inside NsA, so that nothing ever appears in the host's namespace
	if err := ip("-n", p.NsA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NsB); err != nil {
		return p, err
	}
	for _, e := range [][2]string{{p.NsA, p.IfA}, {p.NsB, p.IfB}} {
		if out, err := exec.Command("ip", "netns", "exec", e[0], "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1").CombinedOutput(); err != nil {
			return p, fmt.Errorf("sysctl in %s: %v: %s", e[0], err, out)
		}
		// loopback captures replayed through it have frames up to 64 KiB
		if err := ip("-n", e[0], "link", "set", e[1], "mtu", "65535", "up"); err != nil {
			return p, err
		}
		if err := ip("-n", e[0], "link", "set", "lo", "up"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Remove deletes the namespaces, and with them the veth pair, once.
func (p *Pair) Remove() {
	p.once.Do(func() {
		for _, ns := range []string{p.NsA, p.NsB} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
