package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The Windows samples (pcaps/README.md, "windows-formats"): NetMon 2.3
// files from Microsoft's protocol documentation, the ETL of a netsh trace
// and the ETL and etl2pcap pcapng of a pktmon capture.
const (
	winDir            = "public/windows-formats/"
	netmonKerberos    = winDir + "microsoft__prot-od-netcaps/[MS-AUTHSOD]-captureALL/MS-AUTHSOD_Example2-1_Win2016_X64_Win2016_X64_Domain.cap"
	netmonMixed       = winDir + "microsoft__prot-od-netcaps/MS-GPOD_Example3_Win2016_X64_Win10_X64.cap"
	etlNetsh          = winDir + "mlgualtieri__NTLMRawUnHide/examples/capture.etl"
	etlPktmon         = winDir + "microsoft__demikernel/PktMon.etl"
	etlPktmonPcapng   = winDir + "microsoft__demikernel/PktMon.cap"
	netmonFirstFrameT = 1470649439059683900 // tshark frame.time_epoch of frame 1
)

// readAll reads every packet of a capture, copied, with the error that
// ended it.
func readAll(t *testing.T, rel string) ([]frame, Source) {
	t.Helper()
	s, err := OpenFile(capturePath(rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var out []frame
	for {
		data, ci, err := s.ReadPacket()
		if err == io.EOF {
			return out, s
		}
		if err != nil {
			t.Fatalf("%s: after %d packets: %v", rel, len(out), err)
		}
		out = append(out, frame{lt: s.LinkType(), data: bytes.Clone(data), ci: ci})
	}
}

func skipped(s Source) uint64 {
	r, ok := s.(interface{ SkippedRecords() uint64 })
	if !ok {
		return 0
	}
	return r.SkippedRecords()
}

// TestNetmonPlainFrames: a NetMon 2.3 file reads as tshark 4.0 reads it:
// 15 Ethernet frames (7 of them with a NetMon comment, which changes
// nothing in the frame), with the per-frame UTC FILETIME.
func TestNetmonPlainFrames(t *testing.T) {
	frames, s := readAll(t, netmonKerberos)
	if len(frames) != 15 || skipped(s) != 0 {
		t.Fatalf("%d frames, %d skipped; tshark reads 15 frames", len(frames), skipped(s))
	}
	f := frames[0]
	if f.lt != layers.LinkTypeEthernet || len(f.data) != 307 || f.ci.Length != 307 || f.ci.Timestamp.UnixNano() != netmonFirstFrameT {
		t.Errorf("frame 1: link %v, %d bytes (on the wire %d), at %d; tshark: Ethernet, 307 bytes, at %d",
			f.lt, len(f.data), f.ci.Length, f.ci.Timestamp.UnixNano(), netmonFirstFrameT)
	}
	// every frame decodes to TCP or UDP to the KDC on port 88
	d := NewDecoder(DefaultFragmentLimits)
	var p Packet
	for i, f := range frames {
		if r := d.Decode(f.lt, f.data, f.ci, &p); r != Decoded || (p.SrcPort != 88 && p.DstPort != 88) {
			t.Errorf("frame %d: %v, ports %d -> %d", i+1, r, p.SrcPort, p.DstPort)
		}
	}
}

// TestNetmonSkipsEvents: in a file that mixes Ethernet frames with ETW
// "network event" frames (media type 0xFFE0: kernel Process and EventTrace
// events, no packet), the 721 frames tshark shows as Ethernet are read
// and the 66 events are skipped and counted.
func TestNetmonSkipsEvents(t *testing.T) {
	frames, s := readAll(t, netmonMixed)
	if len(frames) != 721 || skipped(s) != 66 {
		t.Fatalf("%d frames, %d skipped; tshark: 721 frames not netmon_event, 66 events", len(frames), skipped(s))
	}
	// tshark frames 67 (the first that is not an event) and 787 (the last)
	first, last := frames[0], frames[len(frames)-1]
	if len(first.data) != 86 || first.ci.Timestamp.UnixNano() != 1472630331518477300 ||
		len(last.data) != 290 || last.ci.Timestamp.UnixNano() != 1472630385684130300 {
		t.Errorf("first %d bytes at %d, last %d bytes at %d", len(first.data), first.ci.Timestamp.UnixNano(), len(last.data), last.ci.Timestamp.UnixNano())
	}
}

// TestETLNetshTrace: the ETL of `netsh trace start capture=yes` holds 44
// NDIS-PacketCapture frames among 49 other events; one SMB2 session of
// them carries the NTLM CHALLENGE with server challenge 49bd1195aec076f4.
func TestETLNetshTrace(t *testing.T) {
	frames, s := readAll(t, etlNetsh)
	if len(frames) != 44 || skipped(s) != 49 {
		t.Fatalf("%d frames, %d skipped; the file holds 44 NDIS 1001 events", len(frames), skipped(s))
	}
	challenge := []byte{0x49, 0xbd, 0x11, 0x95, 0xae, 0xc0, 0x76, 0xf4}
	found := -1
	for i, f := range frames {
		if f.lt != layers.LinkTypeEthernet {
			t.Errorf("frame %d: link type %v", i, f.lt)
		}
		if i := bytes.Index(f.data, []byte("NTLMSSP\x00\x02\x00\x00\x00")); i >= 0 && bytes.Contains(f.data[i:], challenge) {
			found = i
		}
	}
	if found < 0 {
		t.Error("no frame holds the CHALLENGE")
	}
	want := time.Date(2020, 6, 9, 16, 54, 0, 173350300, time.UTC)
	if got := frames[0].ci.Timestamp; !got.Equal(want) {
		t.Errorf("first frame at %v, want %v", got.UTC(), want)
	}
}

// TestETLMatchesPktmonPcapng is a differential test: pktmon's ETL (its
// data buffers XPRESS-compressed) and the pcapng that `pktmon etl2pcap`
// made of it hold the same 114 frames, byte for byte, in the same order,
// at the same times (the pcapng keeps microseconds, the ETL 100 ns).
func TestETLMatchesPktmonPcapng(t *testing.T) {
	etl, s := readAll(t, etlPktmon)
	ng, _ := readAll(t, etlPktmonPcapng)
	if len(etl) != 114 || len(ng) != 114 {
		t.Fatalf("ETL %d frames, pcapng %d; both hold 114", len(etl), len(ng))
	}
	if skipped(s) != 351 {
		t.Errorf("%d events skipped, want 351 (289 PktMon component, counter and filter events, 62 others)", skipped(s))
	}
	for i := range etl {
		a, b := etl[i], ng[i]
		if a.lt != b.lt || !bytes.Equal(a.data, b.data) || a.ci.Length != b.ci.Length ||
			a.ci.Timestamp.Truncate(time.Microsecond) != b.ci.Timestamp {
			t.Fatalf("frame %d: ETL %v %d bytes (%d) at %v; pcapng %v %d bytes (%d) at %v", i,
				a.lt, len(a.data), a.ci.Length, a.ci.Timestamp.UTC(), b.lt, len(b.data), b.ci.Length, b.ci.Timestamp.UTC())
		}
	}
}

// TestWindowsFormatsCutShort: a NetMon or ETL file cut anywhere gives an
// error that names the file, or the frames before the cut, never a panic.
func TestWindowsFormatsCutShort(t *testing.T) {
	for _, rel := range []string{netmonKerberos, etlNetsh, etlPktmon} {
		raw, err := os.ReadFile(capturePath(rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{200, len(raw) / 3, len(raw) / 2, len(raw) - 100} {
			path := writeFile(t, "cut", raw[:n])
			s, err := OpenFile(path)
			if err != nil {
				if !strings.HasPrefix(err.Error(), path+": ") {
					t.Errorf("%s cut at %d: %v", rel, n, err)
				}
				continue
			}
			for {
				_, _, err := s.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !strings.HasPrefix(err.Error(), path+": ") || !(errors.Is(err, ErrTruncatedFile) || errors.Is(err, ErrMalformedFile)) {
						t.Errorf("%s cut at %d: %v", rel, n, err)
					}
					break
				}
			}
			s.Close()
		}
	}
	// the NetMon frame table is near the end: cut in it, the file says so
	// at once
	raw, _ := os.ReadFile(capturePath(netmonKerberos))
	table := int(binary.LittleEndian.Uint32(raw[24:]))
	path := writeFile(t, "cut.cap", raw[:table+6])
	if _, err := OpenFile(path); !errors.Is(err, ErrMalformedFile) || !strings.Contains(err.Error(), "frame table") {
		t.Errorf("NetMon without its frame table: %v", err)
	}
}

// TestNetmonThroughGzip: a NetMon file read through gzip (not seekable)
// is held in memory and gives the same frames.
func TestNetmonThroughGzip(t *testing.T) {
	raw, err := os.ReadFile(capturePath(netmonKerberos))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewReader(bytes.NewReader(gzipped(raw)), "k.cap.gz")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		if _, _, err := s.ReadPacket(); err != nil {
			break
		}
	}
	if n != 15 {
		t.Errorf("%d frames through gzip, want 15", n)
	}
}

// TestLZ77 decodes the examples of MS-XCA section 3.1 (plain LZ77) and
// refuses streams that reach before their start or beyond their bound.
func TestLZ77(t *testing.T) {
	alphabet := []byte{0x3f, 0, 0, 0}
	alphabet = append(alphabet, "abcdefghijklmnopqrstuvwxyz"...)
	if got, err := lz77Decompress(nil, alphabet, 100); err != nil || string(got) != "abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("alphabet: %q %v", got, err)
	}
	abc := []byte{0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01}
	if got, err := lz77Decompress(nil, abc, 300); err != nil || string(got) != strings.Repeat("abc", 100) {
		t.Errorf("abc x 100: %d bytes %v", len(got), err)
	}
	if _, err := lz77Decompress(nil, abc, 299); err == nil {
		t.Error("300 bytes out of a bound of 299")
	}
	if _, err := lz77Decompress(nil, []byte{0, 0, 0, 0x80, 0x17, 0x00}, 100); err == nil {
		t.Error("a match before the start of the output")
	}
}
