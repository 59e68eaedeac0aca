//go:build cgo

package capture

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// Filter is a BPF filter (tcpdump syntax) applied to raw frames of one link
// type. libpcap compiles it; golang.org/x/net/bpf's VM runs it in pure Go.
// Programs the VM cannot run exactly (the packet-length primitives, which
// need the wire length, and instructions it lacks) run in libpcap instead.
type Filter struct {
	expr string
	vm   *bpf.VM
	bpf  *pcap.BPF
}

// NewFilter compiles expr for frames of link type lt cut to snaplen
// (<= 0: 262144, libpcap's maximum).
func NewFilter(lt layers.LinkType, snaplen int, expr string) (*Filter, error) {
	if snaplen <= 0 {
		snaplen = 262144
	}
	insns, err := pcap.CompileBPFFilter(lt, snaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %v", expr, err)
	}
	prog := make([]bpf.Instruction, len(insns))
	pure := true
	for i, in := range insns {
		prog[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble()
		switch prog[i].(type) {
		case bpf.RawInstruction, bpf.NegateA, bpf.LoadExtension:
			pure = false
		}
	}
	f := &Filter{expr: expr}
	if pure {
		if f.vm, err = bpf.NewVM(prog); err == nil {
			return f, nil
		}
	}
	if f.bpf, err = pcap.NewBPF(lt, snaplen, expr); err != nil {
		return nil, fmt.Errorf("filter %q: %v", expr, err)
	}
	return f, nil
}

// Match reports whether the frame passes the filter.
func (f *Filter) Match(ci gopacket.CaptureInfo, data []byte) bool {
	if f.vm != nil {
		n, err := f.vm.Run(data)
		return err == nil && n > 0
	}
	return f.bpf.Matches(ci, data)
}

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }
