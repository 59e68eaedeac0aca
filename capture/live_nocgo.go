//go:build !cgo

package capture

import (
	"errors"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

var errNoCgo = errors.New("needs a build with cgo and libpcap")

// compileKernelFilter needs libpcap's compiler: this build has no cgo.
func compileKernelFilter(lt layers.LinkType, snaplen int, expr string) ([]bpf.RawInstruction, error) {
	return nil, errors.New("BPF filters and snap lengths " + errNoCgo.Error())
}

func openPcapLive(o LiveOptions) (LiveSource, error) {
	return nil, errors.New("libpcap capture " + errNoCgo.Error())
}
