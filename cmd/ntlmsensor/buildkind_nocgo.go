//go:build !cgo

package main

func buildKind() string {
	return "static build (no cgo): -capture afpacket only; BPF filters need the libpcap build"
}
