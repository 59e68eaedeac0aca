//go:build cgo

package main

func buildKind() string { return "libpcap build (cgo): BPF filters and -capture pcap" }
