package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"ntlmsensor/capture"
)

func originalsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "pcaps", "real-implementations")
}

// small is a capture of a few MiB with a replica every 48 KiB: every
// original is planted at least once.
func small(seed uint64) Config {
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Size = 6 << 20
	cfg.PlantEvery = 48 << 10
	cfg.Originals = originalsDir()
	return cfg
}

// TestSpeedNeverCostsAFinding: in a generated capture of bulk traffic,
// every planted authentication is reported with every field the sensor
// gives on the small capture it came from (user, domain, workstation,
// version, outcome, flags, ... under the replica's endpoints), with one
// worker and with two, and the bulk traffic yields no finding at all.
func TestSpeedNeverCostsAFinding(t *testing.T) {
	cfg := small(7)
	var buf bytes.Buffer
	m, err := Generate(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	planted, err := m.PlantedFindings(cfg.Originals)
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := Originals(cfg.Originals)
	seen := map[string]bool{}
	for _, r := range m.Replicas {
		seen[r.Original] = true
	}
	if len(seen) != len(paths) {
		t.Fatalf("%d of %d originals planted", len(seen), len(paths))
	}
	if len(planted) < len(m.Replicas) {
		t.Fatalf("%d replicas hold only %d authentications", len(m.Replicas), len(planted))
	}
	t.Logf("%d bytes, %d packets, %d connections; %d replicas of %d originals holding %d authentications",
		m.Bytes, m.Packets, m.Connections, len(m.Replicas), len(paths), len(planted))
	file := filepath.Join(t.TempDir(), "generated.pcap")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ngFile := filepath.Join(t.TempDir(), "generated.pcapng")
	if err := os.WriteFile(ngFile, asPcapng(t, buf.Bytes()), 0o644); err != nil {
		t.Fatal(err)
	}
	// 1 and 2 workers reading a stream; 2 reading the file, pcap and
	// pcapng, in parts at once
	for _, run := range []struct {
		workers int
		parts   string
	}{{1, ""}, {2, ""}, {2, file}, {2, ngFile}} {
		workers := run.workers
		src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "generated")
		if run.parts != "" {
			src, err = capture.OpenFile(run.parts)
		}
		if err != nil {
			t.Fatal(err)
		}
		found, snap, err := sensorFindings(src, workers)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		if run.parts != "" && (snap.Parts < 8 || snap.Reread > snap.Parts/4) {
			t.Errorf("the file was read in %d parts, %d of them again", snap.Parts, snap.Reread)
		}
		r := Check(planted, found)
		if r.Found != r.Planted || len(r.Extra) > 0 {
			var b strings.Builder
			for _, d := range r.Diffs {
				b.WriteString("\n  missing: " + d)
			}
			for i, e := range r.Extra {
				if i == 10 {
					b.WriteString("\n  ...")
					break
				}
				b.WriteString("\n  extra: " + canonical(e))
			}
			t.Errorf("%d workers (parts of %q): %d of %d planted authentications found, %d extra findings:%s", workers, run.parts, r.Found, r.Planted, len(r.Extra), b.String())
		}
		if r.Late > 0 {
			t.Logf("%d workers: %d findings found with a later @timestamp (outcome unknown, written at the end of their connection)", workers, r.Late)
		}
	}
}

// TestDeterministic: the same seed gives the same bytes; another seed does not.
func TestDeterministic(t *testing.T) {
	sum := func(seed uint64) [32]byte {
		cfg := small(seed)
		cfg.Size = 2 << 20
		var buf bytes.Buffer
		if _, err := Generate(cfg, &buf); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(buf.Bytes())
	}
	a, b, c := sum(3), sum(3), sum(4)
	if a != b {
		t.Fatal("seed 3 gave two different captures")
	}
	if a == c {
		t.Fatal("seeds 3 and 4 gave the same capture")
	}
}

// TestCaptureIsValid: the capture reads back whole, in time order, and every
// frame decodes.
func TestCaptureIsValid(t *testing.T) {
	cfg := small(11)
	cfg.Size = 3 << 20
	var buf bytes.Buffer
	m, err := Generate(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != m.Bytes {
		t.Fatalf("manifest says %d bytes, wrote %d", m.Bytes, buf.Len())
	}
	src, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "generated")
	if err != nil {
		t.Fatal(err)
	}
	d := capture.NewDecoder(capture.DefaultFragmentLimits)
	var p capture.Packet
	var n int64
	var last int64
	for {
		data, ci, err := src.ReadPacket()
		if err != nil {
			break
		}
		n++
		if ts := ci.Timestamp.UnixNano(); ts < last {
			t.Fatalf("packet %d goes back in time", n)
		} else {
			last = ts
		}
		if r := d.Decode(src.LinkType(), data, ci, &p); r != capture.Decoded && r != capture.Skipped {
			t.Fatalf("packet %d: %v", n, r)
		}
	}
	if n != m.Packets {
		t.Fatalf("read %d packets, manifest says %d", n, m.Packets)
	}
	if st := d.Stats(); st.Malformed > 0 || int64(st.Skipped) != m.Classes["arp"].Packets {
		t.Fatalf("decoder: %+v; %d ARP frames", st, m.Classes["arp"].Packets)
	}
}

// asPcapng rewrites the generator's pcap (little-endian, microseconds,
// Ethernet) as pcapng (draft-ietf-opsawg-pcapng): a Section Header Block,
// one Interface Description Block, an Enhanced Packet Block per record.
func asPcapng(tb testing.TB, pcap []byte) []byte {
	tb.Helper()
	le := binary.LittleEndian
	block := func(out []byte, typ uint32, body []byte) []byte {
		n := uint32(12 + len(body) + (4-len(body)%4)%4)
		out = le.AppendUint32(le.AppendUint32(out, typ), n)
		out = append(out, body...)
		out = append(out, make([]byte, (4-len(body)%4)%4)...)
		return le.AppendUint32(out, n)
	}
	shb := le.AppendUint16(le.AppendUint16(le.AppendUint32(nil, 0x1a2b3c4d), 1), 0)
	shb = le.AppendUint64(shb, ^uint64(0)) // section length: unknown
	out := block(nil, 0x0a0d0d0a, shb)
	out = block(out, 1, le.AppendUint32(le.AppendUint16(le.AppendUint16(nil, 1), 0), le.Uint32(pcap[16:])))
	var epb []byte
	for off := 24; off+16 <= len(pcap); {
		caplen := int(le.Uint32(pcap[off+8:]))
		us := uint64(le.Uint32(pcap[off:]))*1e6 + uint64(le.Uint32(pcap[off+4:]))
		epb = le.AppendUint32(epb[:0], 0)
		epb = le.AppendUint32(le.AppendUint32(epb, uint32(us>>32)), uint32(us))
		epb = le.AppendUint32(le.AppendUint32(epb, uint32(caplen)), le.Uint32(pcap[off+12:]))
		epb = append(epb, pcap[off+16:off+16+caplen]...)
		out = block(out, 6, epb)
		off += 16 + caplen
	}
	return out
}
