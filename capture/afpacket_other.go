//go:build !linux

package capture

import "errors"

func openAFPacket(o LiveOptions, rings int) ([]LiveSource, error) {
	return nil, errors.New("AF_PACKET capture exists on Linux only: use the pcap capture method")
}
