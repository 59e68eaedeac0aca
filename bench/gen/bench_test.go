package gen

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"ntlmsensor/findings"

	"ntlmsensor/capture"
	"ntlmsensor/sensor"
)

var (
	mixOnce sync.Once
	mix     []byte
	mixM    *Manifest
)

// benchMix is a 32 MiB generated capture, in memory, so that benchmarks
// measure the sensor and not the disk.
func benchMix(b *testing.B) ([]byte, *Manifest) {
	mixOnce.Do(func() {
		cfg := DefaultConfig()
		cfg.Size = 32 << 20
		cfg.Originals = originalsDir()
		var buf bytes.Buffer
		m, err := Generate(cfg, &buf)
		if err != nil {
			b.Fatal(err)
		}
		mix, mixM = buf.Bytes(), m
	})
	return mix, mixM
}

// BenchmarkMix runs the whole pipeline (reader, decoder, one worker, every
// carrier) over the generated mix: ns/packet and allocations per packet
// and per connection. Allocations come with new connections (flow,
// carrier state) and planted authentications, not with bulk packets.
func BenchmarkMix(b *testing.B) {
	data, m := benchMix(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	found := 0
	for b.Loop() {
		src, err := capture.NewReader(bytes.NewReader(data), "mix")
		if err != nil {
			b.Fatal(err)
		}
		cfg := sensor.DefaultConfig()
		cfg.Carriers = sensor.Carriers()
		cfg.Emit = func(*findings.Finding) { found++ }
		p := sensor.NewPipeline(cfg, 1, nil)
		if err := p.ReadSource(src); err != nil && err != io.EOF {
			b.Fatal(err)
		}
		p.Close()
	}
	n := float64(b.N)
	b.ReportMetric(b.Elapsed().Seconds()*1e9/n/float64(m.Packets), "ns/packet")
	b.ReportMetric(float64(found)/n, "findings/op")
}

// BenchmarkMixFloor reads and decodes the same mix and does nothing else.
func BenchmarkMixFloor(b *testing.B) {
	data, m := benchMix(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	d := capture.NewDecoder(capture.DefaultFragmentLimits)
	var p capture.Packet
	for b.Loop() {
		src, err := capture.NewReader(bytes.NewReader(data), "mix")
		if err != nil {
			b.Fatal(err)
		}
		for {
			data, ci, err := src.ReadPacket()
			if err != nil {
				break
			}
			d.Decode(src.LinkType(), data, ci, &p)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(m.Packets), "ns/packet")
}

// TestAllocationsPerConnection: on the generated mix, the sensor
// allocates per connection (flow, carrier state), not per packet: fewer
// than one allocation per 2 packets on average, and a bounded number per
// connection.
func TestAllocationsPerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 16 MiB")
	}
	cfg := DefaultConfig()
	cfg.Size = 16 << 20
	cfg.Originals = originalsDir()
	var buf bytes.Buffer
	m, err := Generate(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "mix")
		if err != nil {
			t.Fatal(err)
		}
		c := sensor.DefaultConfig()
		c.Carriers = sensor.Carriers()
		p := sensor.NewPipeline(c, 1, nil)
		p.ReadSource(src)
		p.Close()
	}
	allocs := testing.AllocsPerRun(1, run)
	perPacket := allocs / float64(m.Packets)
	perConn := allocs / float64(m.Connections)
	t.Logf("%.0f allocations: %.3f per packet, %.1f per connection (%d packets, %d connections)", allocs, perPacket, perConn, m.Packets, m.Connections)
	if perPacket > 0.5 {
		t.Errorf("%.3f allocations per packet", perPacket)
	}
}
