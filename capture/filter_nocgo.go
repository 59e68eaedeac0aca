//go:build !cgo

package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Filter is a BPF filter (tcpdump syntax). Compiling one needs libpcap
// through cgo; this build has no cgo, so NewFilter always fails.
type Filter struct{ expr string }

// NewFilter fails: BPF filters need a cgo build with libpcap.
func NewFilter(lt layers.LinkType, snaplen int, expr string) (*Filter, error) {
	return nil, errors.New("BPF filters need a build with cgo and libpcap")
}

// Match reports whether the frame passes the filter.
func (f *Filter) Match(ci gopacket.CaptureInfo, data []byte) bool { return true }

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }
