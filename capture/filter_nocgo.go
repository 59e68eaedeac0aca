//go:build !cgo

package capture

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Filter is a BPF filter (tcpdump syntax). Compiling one needs libpcap
// through cgo; this build has no cgo, so NewFilter always fails. (No
// well-kept pure-Go compiler of tcpdump expressions exists to take its
// place; afpacket capture and everything else work without cgo.)
type Filter struct{ expr string }

// NewFilter fails: BPF filters need a cgo build with libpcap.
func NewFilter(lt layers.LinkType, snaplen int, expr string) (*Filter, error) {
	return nil, ErrNoFilterCompiler
}

// ErrNoFilterCompiler: this static build cannot compile a BPF filter.
var ErrNoFilterCompiler = errors.New("BPF filters need the libpcap build (make build), not the static one (make static)")

// Match reports whether the frame passes the filter.
func (f *Filter) Match(ci gopacket.CaptureInfo, data []byte) bool { return true }

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }
