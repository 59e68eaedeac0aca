package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet counts and first timestamps from tshark (frame.time_epoch).
func TestOpenFileRealCaptures(t *testing.T) {
	tests := []struct {
		rel       string
		lt        layers.LinkType
		packets   int
		firstTime string
		ifIndex   int
	}{
		{"real-implementations/smb2_ntlmv2_unsigned.pcap", layers.LinkTypeEthernet, 38, "1795614829.827398000", 0},
		{"public/zeek/testing/btest/Traces/smb/smb_many_open_files_500.pcap.gz", layers.LinkTypeEthernet, 500, "1659460970.430587000", 0},
		{"public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap", layers.LinkTypeLinuxSLL, 23, "1583864566.069271000", 0},
		{"public/suricata-verify/tests/smb-length-5770/input.pcap", layers.LinkTypeNull, 3519, "1672167351.731494000", 0},
		{"public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng", layers.LinkTypeEthernet, 314, "1634816944.134711000", 0},
		// 126 interfaces, some microsecond, some nanosecond; every packet on #48.
		{"public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng", layers.LinkTypeEthernet, 18, "1725966494.956327000", 48},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.rel), func(t *testing.T) {
			s, err := OpenFile(capturePath(tt.rel))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Name() != capturePath(tt.rel) {
				t.Errorf("Name() = %q", s.Name())
			}
			n := 0
			for {
				data, ci, err := s.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				if len(data) != ci.CaptureLength || ci.Length < ci.CaptureLength && ci.Length != 0 {
					t.Fatalf("packet %d: %d bytes, ci %+v", n, len(data), ci)
				}
				if s.LinkType() != tt.lt || ci.InterfaceIndex != tt.ifIndex {
					t.Fatalf("packet %d: link type %v interface %d, want %v %d", n, s.LinkType(), ci.InterfaceIndex, tt.lt, tt.ifIndex)
				}
				if n == 1 {
					if got := epoch(ci.Timestamp); got != tt.firstTime {
						t.Errorf("first timestamp %s, want %s", got, tt.firstTime)
					}
				}
			}
			if n != tt.packets {
				t.Errorf("%d packets, want %d", n, tt.packets)
			}
			if _, _, err := s.ReadPacket(); err != io.EOF {
				t.Errorf("after the end: %v, want io.EOF", err)
			}
		})
	}
}

// epoch formats a time as tshark's frame.time_epoch.
func epoch(ts time.Time) string { return fmt.Sprintf("%d.%09d", ts.Unix(), ts.Nanosecond()) }

// rewritePcap re-encodes a little-endian microsecond pcap with another
// magic: byte order, nanosecond timestamps, or the 24-byte-record format.
func rewritePcap(tb testing.TB, raw []byte, order binary.AppendByteOrder, nanos, modified bool) []byte {
	tb.Helper()
	if binary.LittleEndian.Uint32(raw) != magicMicros {
		tb.Fatal("want a little-endian microsecond pcap")
	}
	var out []byte
	magic := uint32(magicMicros)
	switch {
	case nanos:
		magic = magicNanos
	case modified:
		magic = magicModified
	}
	out = order.AppendUint32(out, magic)
	for i := 4; i < 24; i += 4 {
		if i == 4 {
			out = order.AppendUint16(out, binary.LittleEndian.Uint16(raw[4:]))
			out = order.AppendUint16(out, binary.LittleEndian.Uint16(raw[6:]))
			continue
		}
		out = order.AppendUint32(out, binary.LittleEndian.Uint32(raw[i:]))
	}
	for r := raw[24:]; len(r) > 0; {
		caplen := binary.LittleEndian.Uint32(r[8:])
		frac := binary.LittleEndian.Uint32(r[4:])
		if nanos {
			frac *= 1000
		}
		out = order.AppendUint32(out, binary.LittleEndian.Uint32(r))
		out = order.AppendUint32(out, frac)
		out = order.AppendUint32(out, caplen)
		out = order.AppendUint32(out, binary.LittleEndian.Uint32(r[12:]))
		if modified {
			out = append(out, 1, 0, 0, 0, 0, 8, 0, 0)
		}
		out = append(out, r[16:16+caplen]...)
		r = r[16+caplen:]
	}
	return out
}

func readAllFrom(tb testing.TB, s Source) []frame {
	tb.Helper()
	var out []frame
	for {
		data, ci, err := s.ReadPacket()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, frame{s.LinkType(), bytes.Clone(data), ci})
	}
}

// Every pcap magic (draft-ietf-opsawg-pcap 4: micro/nano, either byte
// order; and the modified format) reads to the same packets.
func TestPcapMagics(t *testing.T) {
	rel := realV4Capture
	raw, err := os.ReadFile(capturePath(rel))
	if err != nil {
		t.Fatal(err)
	}
	want := readFrames(t, rel)
	variants := map[string][]byte{
		"micro-le":    raw,
		"micro-be":    rewritePcap(t, raw, binary.BigEndian, false, false),
		"nano-le":     rewritePcap(t, raw, binary.LittleEndian, true, false),
		"nano-be":     rewritePcap(t, raw, binary.BigEndian, true, false),
		"modified-le": rewritePcap(t, raw, binary.LittleEndian, false, true),
		"modified-be": rewritePcap(t, raw, binary.BigEndian, false, true),
	}
	for name, b := range variants {
		t.Run(name, func(t *testing.T) {
			s, err := NewReader(bytes.NewReader(b), name)
			if err != nil {
				t.Fatal(err)
			}
			got := readAllFrom(t, s)
			if len(got) != len(want) {
				t.Fatalf("%d packets, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i].data, want[i].data) || !got[i].ci.Timestamp.Equal(want[i].ci.Timestamp) ||
					got[i].ci.Length != want[i].ci.Length || got[i].lt != layers.LinkTypeEthernet {
					t.Fatalf("packet %d differs: %+v vs %+v", i+1, got[i].ci, want[i].ci)
				}
			}
			if epoch(got[0].ci.Timestamp) != "1795614829.827398000" {
				t.Errorf("first timestamp %s", epoch(got[0].ci.Timestamp))
			}
		})
	}
}

// recordOffsets returns the byte offset of each packet record of a pcap.
func recordOffsets(raw []byte) []int {
	var offs []int
	for off := 24; off+16 <= len(raw); {
		offs = append(offs, off)
		off += 16 + int(binary.LittleEndian.Uint32(raw[off+8:]))
	}
	return offs
}

func writeFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// readUntilError reads a source to its end and returns the packet count and
// the final error.
func readUntilError(s Source) (int, error) {
	n := 0
	for {
		_, _, err := s.ReadPacket()
		if err != nil {
			return n, err
		}
		n++
	}
}

// A capture cut mid-record delivers the good packets, then an error that
// names the file and says how many packets came before.
func TestTruncatedFile(t *testing.T) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(raw)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw[:offs[20]+16+30])
	zw.Close()
	ng, err := os.ReadFile(capturePath("public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
		good int
	}{
		{"cut-in-data.pcap", raw[:offs[10]+16+40], 10},
		{"cut-in-header.pcap", raw[:offs[7]+9], 7},
		{"cut-in-gzip.pcap.gz", gz.Bytes()[:gz.Len()-5], 20},
		{"cut-pcapng.pcapng", ng[:len(ng)/2], -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.name, tt.b)
			s, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n, err := readUntilError(s)
			if tt.good >= 0 && n != tt.good {
				t.Errorf("%d good packets, want %d", n, tt.good)
			}
			if n == 0 {
				t.Errorf("no packets before the error")
			}
			want := path + ": truncated packet record after " + fmt.Sprint(n) + " packets"
			if !errors.Is(err, ErrTruncatedFile) || err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if _, _, again := s.ReadPacket(); again != err {
				t.Errorf("error not sticky: %v", again)
			}
		})
	}
}

func TestNotACapture(t *testing.T) {
	readme, err := os.ReadFile(capturePath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"README.md":     readme,
		"empty.pcap":    nil,
		"short.pcap":    {0xd4, 0xc3},
		"header.pcap":   {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}, // magic, then the header is cut
		"fakeng.pcapng": {0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 'n', 'o', 'p', 'e'},
	} {
		path := writeFile(t, name, b)
		_, err := OpenFile(path)
		if want := path + ": not a pcap, pcapng, NetMon 2.x or ETL file"; err == nil || err.Error() != want || !errors.Is(err, ErrNotCapture) {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
}

func TestUnsupportedLinkType(t *testing.T) {
	// LINKTYPE_USER0 (147): a pcap and a pcapng with only such an interface.
	path := writePcap(t, 147, []byte{1, 2, 3})
	if _, err := OpenFile(path); err == nil || err.Error() != path+": unsupported link type 147" || !errors.Is(err, ErrUnsupportedLinkType) {
		t.Errorf("pcap: %v", err)
	}
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, 147)
	if err != nil {
		t.Fatal(err)
	}
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 3, Length: 3}, []byte{1, 2, 3})
	w.Flush()
	if _, err := NewReader(&b, "x.pcapng"); err == nil || err.Error() != "x.pcapng: unsupported link type 147" {
		t.Errorf("pcapng: %v", err)
	}
}

// A pcap holding only its file header is an empty capture.
func TestEmptyCapture(t *testing.T) {
	s, err := OpenFile(writePcap(t, layers.LinkTypeEthernet))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadPacket(); err != io.EOF {
		t.Errorf("got %v, want io.EOF", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestStdin(t *testing.T) {
	f, err := os.Open(capturePath("public/zeek/testing/btest/Traces/smb/smb_many_open_files_500.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	s, err := OpenFile("-")
	if err != nil {
		t.Fatal(err)
	}
	n, err := readUntilError(s)
	if n != 500 || err != io.EOF || s.Name() != "stdin" {
		t.Errorf("stdin: %d packets, %v, name %q", n, err, s.Name())
	}
}

// A pcapng mixing interfaces of different link types (and timestamp
// resolutions) wrapping real packets: LinkType follows each packet's interface.
func TestPcapngMixedLinkTypes(t *testing.T) {
	ip4, _ := realIPv4(t)
	ip6 := realIPv6(t)
	type pkt struct {
		lt   layers.LinkType
		res  uint8
		data []byte
		want func(testing.TB, *Packet)
	}
	pkts := []pkt{
		{layers.LinkTypeEthernet, 6, eth(etherTypeIPv4, ip4), wantCarol},
		{layers.LinkTypeLinuxSLL2, 9, cat(be16(etherTypeIPv6), make([]byte, 6), be16(1), []byte{4, 6}, macA, []byte{0, 0}, ip6), wantCharlie},
		{layers.LinkTypeRaw, 3, ip4, wantCarol},
		{layers.LinkTypeLoop, 0x80 | 20, cat([]byte{0, 0, 0, 24}, ip6), wantCharlie},
		{layers.LinkTypeIPv6, 6, ip6, wantCharlie},
		{layers.LinkTypeLinuxUSB, 6, []byte{1, 2, 3, 4}, nil},
	}
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{LinkType: pkts[0].lt, TimestampResolution: 6}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts[1:] {
		id, err := w.AddInterface(pcapgo.NgInterface{LinkType: p.lt, TimestampResolution: pcapgo.NgResolution(p.res)})
		if err != nil || id != i+1 {
			t.Fatal(id, err)
		}
	}
	ts := time.Unix(1700000001, 194000000)
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: i}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	file := bytes.Clone(b.Bytes())
	batchAgrees(t, "mixed", func() Source { s, _ := NewReader(bytes.NewReader(file), "mixed.pcapng"); return s })
	s, err := NewReader(&b, "mixed.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(FragmentLimits{})
	for i, want := range pkts {
		data, ci, err := s.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		if s.LinkType() != want.lt || ci.InterfaceIndex != i {
			t.Fatalf("packet %d: link type %v interface %d", i, s.LinkType(), ci.InterfaceIndex)
		}
		if !ci.Timestamp.Equal(ts) {
			t.Errorf("packet %d (tsresol %#x): time %v, want %v", i, want.res, ci.Timestamp, ts)
		}
		var p Packet
		r := d.Decode(s.LinkType(), data, ci, &p)
		if want.want == nil {
			if r != Skipped {
				t.Errorf("packet %d: %v, want skipped", i, r)
			}
			continue
		}
		if r != Decoded {
			t.Fatalf("packet %d (%v): %v", i, want.lt, r)
		}
		want.want(t, &p)
	}
	if _, _, err := s.ReadPacket(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	if st := d.Stats(); st.UnsupportedLink != 1 || st.Decoded != 5 {
		t.Errorf("stats %+v", st)
	}
}

// pcapng in big-endian byte order, with a Simple Packet Block and an
// obsolete Packet Block, built by hand (pcapgo writes neither).
func TestPcapngBigEndianAndOldBlocks(t *testing.T) {
	ip4, _ := realIPv4(t)
	be := binary.BigEndian
	block := func(typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b := be.AppendUint32(nil, typ)
		b = be.AppendUint32(b, n)
		b = append(b, body...)
		return be.AppendUint32(b, n)
	}
	shb := block(blockSHB, cat(be.AppendUint32(nil, byteOrderMagic), []byte{0, 1, 0, 0}, bytes.Repeat([]byte{0xff}, 8)))
	// IDB: raw IP, snaplen 0, if_tsresol = 3 (milliseconds), end of options.
	idb := block(blockIDB, cat(be16(uint16(layers.LinkTypeRaw)), be16(0), make([]byte, 4), be16(9), be16(1), []byte{3, 0, 0, 0}, make([]byte, 4)))
	spb := block(blockSPB, cat(be.AppendUint32(nil, uint32(len(ip4))), ip4))
	ts := uint64(1700000001194) // ms
	opb := block(blockObsoletPB, cat(be16(0), be16(0), be.AppendUint32(nil, uint32(ts>>32)), be.AppendUint32(nil, uint32(ts)),
		be.AppendUint32(nil, uint32(len(ip4))), be.AppendUint32(nil, uint32(len(ip4))), ip4))
	nrb := block(4, make([]byte, 8)) // name resolution block: skipped
	file := cat(shb, idb, nrb, spb, opb)
	s, err := NewReader(bytes.NewReader(file), "be.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(FragmentLimits{})
	for i := range 2 {
		data, ci, err := s.ReadPacket()
		if err != nil {
			t.Fatal(i, err)
		}
		var p Packet
		if r := d.Decode(s.LinkType(), data, ci, &p); r != Decoded {
			t.Fatalf("packet %d: %v", i, r)
		}
		wantCarol(t, &p)
		if i == 1 && !ci.Timestamp.Equal(time.Unix(1700000001, 194000000)) {
			t.Errorf("obsolete packet block time %v", ci.Timestamp)
		}
	}
	if _, _, err := s.ReadPacket(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	// A packet for an interface that was never described is an error.
	bad := cat(shb, idb, block(blockEPB, cat(be.AppendUint32(nil, 7), make([]byte, 16))))
	s, err = NewReader(bytes.NewReader(bad), "bad.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadPacket(); !errors.Is(err, ErrMalformedFile) || !strings.HasPrefix(err.Error(), "bad.pcapng: ") {
		t.Errorf("undeclared interface: %v", err)
	}
	for name, b := range map[string][]byte{"be.pcapng": file, "bad.pcapng": bad} {
		batchAgrees(t, name, func() Source { s, _ := NewReader(bytes.NewReader(b), name); return s })
	}
}

// A lying record length is refused without allocating it.
func TestHugeRecordLength(t *testing.T) {
	raw, err := os.ReadFile(capturePath(realV4Capture))
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(raw[:recordOffsets(raw)[2]+16])
	binary.LittleEndian.PutUint32(b[recordOffsets(raw)[1]+8:], 0x7fffffff)
	s, err := NewReader(bytes.NewReader(b), "huge.pcap")
	if err != nil {
		t.Fatal(err)
	}
	n, err := readUntilError(s)
	if n != 1 || !errors.Is(err, ErrMalformedFile) {
		t.Errorf("%d packets, %v", n, err)
	}
}
