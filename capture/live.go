package capture

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// ErrTimeout is returned by a live source's ReadPacket when no packet
// arrived within its poll interval. It is not an end: the reader may do its
// housekeeping (idle timeouts, statistics) and read again.
var ErrTimeout = errors.New("no packet within the poll interval")

// LiveOptions configure a capture from a network interface.
type LiveOptions struct {
	Interface string
	// Filter is a BPF expression (tcpdump syntax), compiled by libpcap and
	// run in the kernel: packets it rejects never reach the ring.
	Filter string
	// Snaplen is the number of bytes kept of each packet (<= 0: 262144).
	// AF_PACKET applies it through the kernel filter's return value.
	Snaplen int
	// Promisc puts the interface into promiscuous mode (a SPAN port's
	// traffic is addressed to other hosts).
	Promisc bool
	// RingBytes is the kernel buffer of one ring (one per worker with
	// AF_PACKET fanout; libpcap's buffer otherwise). <= 0: DefaultRingBytes.
	RingBytes int
	// FanoutGroup is the AF_PACKET fanout group id the rings join
	// (0: one derived from the process id). Several processes joining the
	// same group share the traffic between them.
	FanoutGroup uint16
	// Poll is how long a read waits for a packet before ErrTimeout
	// (<= 0: 250 ms).
	Poll time.Duration
	// Drain is how long, after Stop, packets already in the kernel buffer
	// are still read before io.EOF (<= 0: 2 s).
	Drain time.Duration
}

// DefaultRingBytes is the kernel buffer of one ring when LiveOptions
// leave it unset.
const DefaultRingBytes = 32 << 20

// DefaultSnaplen keeps whole packets, as libpcap's maximum.
const DefaultSnaplen = 262144

func (o *LiveOptions) defaults() {
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.RingBytes <= 0 {
		o.RingBytes = DefaultRingBytes
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Second
	}
}

// LiveStats are a live source's kernel counters since it was opened.
type LiveStats struct {
	// Seen: packets the kernel filter accepted for this socket, whether
	// they reached the ring or were dropped.
	Seen uint64
	// Dropped: packets the kernel dropped because the ring (buffer) was
	// full: the reader did not keep up.
	Dropped uint64
	// IfDropped: packets the interface or driver dropped, when libpcap
	// can tell (0 otherwise).
	IfDropped uint64
}

// Add sums counters of several rings.
func (s *LiveStats) Add(o LiveStats) {
	s.Seen += o.Seen
	s.Dropped += o.Dropped
	s.IfDropped += o.IfDropped
}

// LiveSource is a capture from a network interface. ReadPacket returns
// ErrTimeout when nothing arrived within the poll interval, and io.EOF
// once the source was stopped and the kernel buffer drained.
type LiveSource interface {
	Source
	// Stats returns the kernel's counters. Call it from the goroutine
	// that reads.
	Stats() (LiveStats, error)
	// Stop ends the capture: ReadPacket keeps returning the packets the
	// kernel already holds (for at most the drain time), then io.EOF.
	// Safe to call from any goroutine, more than once.
	Stop()
}

// Capture methods for OpenLive.
const (
	MethodAFPacket = "afpacket" // Linux AF_PACKET, TPACKET_V3 ring, PACKET_FANOUT (pure Go)
	MethodPcap     = "pcap"     // libpcap (cgo): one handle, any system libpcap supports
)

// OpenLive opens a live capture on o.Interface. With AF_PACKET it opens
// the given number of rings, joined (when more than one) in a fanout group
// that hashes each packet by its flow (symmetrically, both directions
// alike; IPv4 fragments defragmented first), so that every packet of a
// connection reaches the same ring: one reader per ring, no lock between
// them. libpcap gives one source whatever the number; the caller spreads
// its packets by flow.
func OpenLive(method string, o LiveOptions, rings int) ([]LiveSource, error) {
	o.defaults()
	if rings < 1 {
		rings = 1
	}
	if o.Interface == "" {
		return nil, errors.New("no interface given")
	}
	switch method {
	case "", MethodAFPacket:
		return openAFPacket(o, rings)
	case MethodPcap:
		s, err := openPcapLive(o)
		if err != nil {
			return nil, err
		}
		return []LiveSource{s}, nil
	}
	return nil, fmt.Errorf("unknown capture method %q (want %s or %s)", method, MethodAFPacket, MethodPcap)
}

// interfaceLinkType reads the ARPHRD type of a Linux interface and maps it
// to the link type AF_PACKET (SOCK_RAW) delivers on it.
func interfaceLinkType(iface string) (layers.LinkType, error) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("interface %s: no such network interface", iface)
		}
		return layers.LinkTypeEthernet, nil // no sysfs: assume Ethernet
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return layers.LinkTypeEthernet, nil
	}
	switch t {
	case 1, 772: // ARPHRD_ETHER, ARPHRD_LOOPBACK
		return layers.LinkTypeEthernet, nil
	case 65534, 768, 769, 776, 778, 823: // NONE (tun), TUNNEL, TUNNEL6, SIT, IPGRE, IP6GRE
		return layers.LinkTypeRaw, nil
	}
	return 0, fmt.Errorf("interface %s: hardware type %d is not Ethernet or raw IP: use the pcap capture method", iface, t)
}
