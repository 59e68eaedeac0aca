//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// afpacketSource is one TPACKET_V3 ring. Packets are read in place from
// the memory the kernel shares with us: nothing is copied or allocated
// per packet (but for VLAN-tagged packets, whose tag the kernel strips
// and afpacket reports as ancillary data).
type afpacketSource struct {
	h        *afpacket.TPacket
	name     string
	lt       layers.LinkType
	drain    time.Duration
	stop     atomic.Bool
	deadline time.Time // end of the drain, set once stopped
}

// ringGeometry splits a ring of about bytes into TPACKET_V3 blocks: 1 MiB
// blocks (room for any packet a GRO/TSO interface delivers), 128 KiB ones
// for rings under 8 MiB; at least two blocks.
func ringGeometry(bytes int) (blockSize, blocks int) {
	blockSize = 1 << 20
	if bytes < 8<<20 {
		blockSize = 128 << 10
	}
	blocks = max(2, bytes/blockSize)
	return blockSize, blocks
}

// fanoutMode: hash on the flow (the kernel's symmetric flow hash, so both
// directions of a connection reach the same ring), IPv4 fragments
// defragmented before hashing so that a datagram is reassembled whole.
const fanoutMode = afpacket.FanoutHash | afpacket.FanoutHashWithDefrag

func openAFPacket(o LiveOptions, rings int) (srcs []LiveSource, err error) {
	lt, err := interfaceLinkType(o.Interface)
	if err != nil {
		return nil, err
	}
	var prog []bpf.RawInstruction
	if o.Filter != "" || o.Snaplen < DefaultSnaplen {
		// the kernel filter's return value is the snap length
		if prog, err = compileKernelFilter(lt, o.Snaplen, o.Filter); err != nil {
			return nil, err
		}
	}
	group := o.FanoutGroup
	if group == 0 {
		group = uint16(os.Getpid())
	}
	defer func() {
		if err != nil {
			for _, s := range srcs {
				s.Close()
			}
			srcs = nil
		}
	}()
	blockSize, blocks := ringGeometry(o.RingBytes)
	for i := 0; i < rings; i++ {
		h, err := afpacket.NewTPacket(
			afpacket.OptInterface(o.Interface),
			afpacket.TPacketVersion3,
			afpacket.OptFrameSize(4096),
			afpacket.OptBlockSize(blockSize),
			afpacket.OptNumBlocks(blocks),
			afpacket.OptBlockTimeout(50*time.Millisecond),
			afpacket.OptPollTimeout(o.Poll),
		)
		if err != nil {
			return srcs, liveError(o.Interface, err)
		}
		s := &afpacketSource{h: h, name: o.Interface, lt: lt, drain: o.Drain}
		srcs = append(srcs, s)
		if len(prog) > 0 {
			if err := h.SetBPF(prog); err != nil {
				return srcs, fmt.Errorf("%s: attach filter: %v", o.Interface, err)
			}
		}
		if o.Promisc {
			if err := h.SetPromiscuous(true); err != nil {
				return srcs, fmt.Errorf("%s: promiscuous mode: %v", o.Interface, err)
			}
		}
		// A ring receives every packet of the interface from its creation
		// until it joins the fanout group, unfiltered until the filter is
		// attached: a few packets at start-up may reach a second worker.
		if rings > 1 || o.FanoutGroup != 0 {
			if err := h.SetFanout(fanoutMode, group); err != nil {
				return srcs, fmt.Errorf("%s: join fanout group %d: %v (is another capture using it with other settings?)", o.Interface, group, err)
			}
		}
	}
	return srcs, nil
}

// liveError explains the usual reasons a capture cannot be opened.
func liveError(iface string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: %v (capture needs root or CAP_NET_RAW)", iface, err)
	case errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("%s: %v (ring too large for the kernel: lower the ring size)", iface, err)
	}
	return fmt.Errorf("%s: %v", iface, err)
}

func (s *afpacketSource) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
	if s.stop.Load() {
		if s.deadline.IsZero() {
			s.deadline = time.Now().Add(s.drain)
		} else if time.Now().After(s.deadline) {
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	switch {
	case err == nil:
		return data, ci, nil
	case errors.Is(err, afpacket.ErrTimeout):
		if s.stop.Load() {
			return nil, ci, io.EOF // stopped and the ring is empty
		}
		return nil, ci, ErrTimeout
	}
	if errors.Is(err, afpacket.ErrPoll) {
		return nil, ci, fmt.Errorf("%s: %v (interface down or removed?)", s.name, err)
	}
	return nil, ci, fmt.Errorf("%s: %v", s.name, err)
}

func (s *afpacketSource) LinkType() layers.LinkType { return s.lt }
func (s *afpacketSource) Name() string              { return s.name }
func (s *afpacketSource) Stop()                     { s.stop.Store(true) }

func (s *afpacketSource) Stats() (LiveStats, error) {
	_, v3, err := s.h.SocketStats()
	if err != nil {
		return LiveStats{}, err
	}
	// PACKET_STATISTICS: tp_packets counts every packet the filter
	// accepted, tp_drops those of them the full ring had no room for.
	return LiveStats{Seen: uint64(v3.Packets()), Dropped: uint64(v3.Drops())}, nil
}

func (s *afpacketSource) Close() error {
	s.h.Close()
	return nil
}
