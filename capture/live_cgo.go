//go:build cgo

package capture

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// compileKernelFilter compiles expr (empty: accept everything) for the
// kernel; its return value cuts packets to snaplen.
func compileKernelFilter(lt layers.LinkType, snaplen int, expr string) ([]bpf.RawInstruction, error) {
	insns, err := pcap.CompileBPFFilter(lt, snaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %v", expr, err)
	}
	prog := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		prog[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return prog, nil
}

// pcapLive is a libpcap live capture: one handle (libpcap's own
// TPACKET_V3 ring on Linux), read in place.
type pcapLive struct {
	h        *pcap.Handle
	name     string
	lt       layers.LinkType
	drain    time.Duration
	stop     atomic.Bool
	deadline time.Time
}

func openPcapLive(o LiveOptions) (LiveSource, error) {
	ih, err := pcap.NewInactiveHandle(o.Interface)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", o.Interface, err)
	}
	defer ih.CleanUp()
	for _, set := range []func() error{
		func() error { return ih.SetSnapLen(o.Snaplen) },
		func() error { return ih.SetPromisc(o.Promisc) },
		func() error { return ih.SetTimeout(o.Poll) },
		func() error { return ih.SetBufferSize(o.RingBytes) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("%s: %v", o.Interface, err)
		}
	}
	h, err := ih.Activate()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", o.Interface, err)
	}
	s := &pcapLive{h: h, name: o.Interface, lt: h.LinkType(), drain: o.Drain}
	if !SupportedLinkType(s.lt) {
		h.Close()
		return nil, fmt.Errorf("%s: %w %s", o.Interface, ErrUnsupportedLinkType, s.lt)
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("%s: filter %q: %v", o.Interface, o.Filter, err)
		}
	}
	return s, nil
}

func (s *pcapLive) ReadPacket() ([]byte, gopacket.CaptureInfo, error) {
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
	case errors.Is(err, pcap.NextErrorTimeoutExpired):
		if s.stop.Load() {
			return nil, ci, io.EOF
		}
		return nil, ci, ErrTimeout
	case errors.Is(err, io.EOF):
		return nil, ci, io.EOF
	}
	return nil, ci, fmt.Errorf("%s: %v", s.name, err)
}

func (s *pcapLive) Stats() (LiveStats, error) {
	st, err := s.h.Stats()
	if err != nil {
		return LiveStats{}, err
	}
	// libpcap on Linux: ps_recv counts what the filter accepted, dropped
	// ones included, as PACKET_STATISTICS does
	return LiveStats{Seen: uint64(st.PacketsReceived), Dropped: uint64(st.PacketsDropped), IfDropped: uint64(st.PacketsIfDropped)}, nil
}

func (s *pcapLive) LinkType() layers.LinkType { return s.lt }
func (s *pcapLive) Name() string              { return s.name }
func (s *pcapLive) Stop()                     { s.stop.Store(true) }
func (s *pcapLive) Close() error              { s.h.Close(); return nil }
