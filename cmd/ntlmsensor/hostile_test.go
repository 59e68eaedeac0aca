//go:build linux

package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"ntlmsensor/capture"
)

// hostile generates a capture no sensor should choke on, with the real
// captures' frames woven into it, and writes it as pcap to w:
//   - a flood: one connection per step (a SYN and an SMB NEGOTIATE that
//     is never answered), never seen again;
//   - endless out-of-order data: connections whose every other segment is
//     missing, so early segments pile up and never become in-order;
//   - never-ending messages: HTTP requests whose header never ends, and one
//     SMB connection whose NetBIOS message announces 16 MiB and goes on
//     for ever;
//   - one frame of the real captures every few steps, on a clock shared
//     with the rest, so their connections live through the flood.
type hostile struct {
	steps      int // SYN flood connections; every kind sends one packet per step
	oooConns   int
	httpConns  int
	segment    int // payload bytes of a data segment
	realFrames []realFrame
	// floodPayload, when set, follows each flood SYN (an SMB NEGOTIATE:
	// the SMB carrier then follows every connection of the flood)
	floodPayload []byte
}

type realFrame struct {
	data   []byte
	length int
}

func (h *hostile) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	bw.Write(hdr[:])
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var rec [16]byte
	emit := func(frame []byte, length int) error {
		clock = clock.Add(20 * time.Microsecond)
		binary.LittleEndian.PutUint32(rec[0:], uint32(clock.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(clock.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(length))
		bw.Write(rec[:])
		_, err := bw.Write(frame)
		return err
	}
	var buf []byte
	pkt := func(src, dst [4]byte, sport, dport uint16, seq uint32, flags byte, payload []byte) error {
		buf = tcpFrame(buf[:0], src, dst, sport, dport, seq, flags, payload)
		return emit(buf, len(buf))
	}
	server := [4]byte{192, 0, 2, 10}
	fill := make([]byte, h.segment)
	for i := range fill {
		fill[i] = 'a'
	}
	oooStarted := make([]bool, h.oooConns)
	oooNext := make([]int, h.oooConns)
	httpNext := make([]int, h.httpConns)
	smbSeq := uint32(1)
	realEvery := max(1, h.steps/(len(h.realFrames)+1))
	nextReal := 0
	for i := 0; i < h.steps; i++ {
		// the flood: 10.x.y.z, a new connection every step
		src := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		if err := pkt(src, server, uint16(1024+i%60000), 445, uint32(i)*7919, capture.FlagSYN, nil); err != nil {
			return err
		}
		if h.floodPayload != nil {
			pkt(src, server, uint16(1024+i%60000), 445, uint32(i)*7919+1, capture.FlagACK|capture.FlagPSH, h.floodPayload)
		}
		// out of order: segment 2k+1 arrives, 2k never does
		c := i % h.oooConns
		osrc := [4]byte{198, 51, 100, byte(c % 250)}
		oport := uint16(20000 + c/250)
		if !oooStarted[c] {
			oooStarted[c] = true
			pkt(osrc, server, oport, 445, 0, capture.FlagSYN, nil)
		}
		seq := uint32(1 + h.segment*(2*oooNext[c]+1))
		oooNext[c]++
		pkt(osrc, server, oport, 445, seq, capture.FlagACK|capture.FlagPSH, fill)
		// a request header that never ends
		c = i % h.httpConns
		hsrc := [4]byte{203, 0, 113, byte(c % 250)}
		hport := uint16(30000 + c/250)
		switch n := httpNext[c]; n {
		case 0:
			pkt(hsrc, server, hport, 80, 0, capture.FlagSYN, nil)
			pkt(hsrc, server, hport, 80, 1, capture.FlagACK|capture.FlagPSH, []byte("POST /upload HTTP/1.1\r\nHost: victim\r\nX-Fill: "))
			httpNext[c] = len("POST /upload HTTP/1.1\r\nHost: victim\r\nX-Fill: ")
		default:
			pkt(hsrc, server, hport, 80, uint32(1+n), capture.FlagACK|capture.FlagPSH, fill)
			httpNext[c] += len(fill)
		}
		// one SMB message that never ends
		ssrc := [4]byte{192, 0, 2, 99}
		if i == 0 {
			pkt(ssrc, server, 49999, 445, 0, capture.FlagSYN, nil)
			msg := append([]byte{0, 0xff, 0xff, 0xff, 0xfe, 'S', 'M', 'B', 64, 0}, make([]byte, 54)...)
			pkt(ssrc, server, 49999, 445, smbSeq, capture.FlagACK|capture.FlagPSH, msg)
			smbSeq += uint32(len(msg))
		}
		pkt(ssrc, server, 49999, 445, smbSeq, capture.FlagACK|capture.FlagPSH, fill)
		smbSeq += uint32(len(fill))
		// the real connections
		if i%realEvery == realEvery/2 && nextReal < len(h.realFrames) {
			f := h.realFrames[nextReal]
			nextReal++
			if err := emit(f.data, f.length); err != nil {
				return err
			}
		}
	}
	for ; nextReal < len(h.realFrames); nextReal++ {
		f := h.realFrames[nextReal]
		if err := emit(f.data, f.length); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// tcpFrame builds Ethernet + IPv4 + TCP around payload.
func tcpFrame(b []byte, src, dst [4]byte, sport, dport uint16, seq uint32, flags byte, payload []byte) []byte {
	b = append(b, 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00)
	total := 40 + len(payload)
	b = append(b, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, 6, 0, 0)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, byte(sport>>8), byte(sport), byte(dport>>8), byte(dport))
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	return append(b, payload...)
}

// readReal loads the frames of captures, in order, all Ethernet.
func readReal(t *testing.T, files []string) []realFrame {
	t.Helper()
	var out []realFrame
	for _, f := range files {
		src, err := capture.OpenFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if src.LinkType() != 1 {
			t.Fatalf("%s: link type %v, the hostile capture is Ethernet", f, src.LinkType())
		}
		for {
			data, ci, err := src.ReadPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, realFrame{append([]byte(nil), data...), ci.Length})
		}
		src.Close()
	}
	return out
}

// firstPayloadTo returns the first TCP payload sent to port in a capture.
func firstPayloadTo(t *testing.T, file string, port uint16) []byte {
	t.Helper()
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.DefaultFragmentLimits)
	var p capture.Packet
	for {
		data, ci, err := src.ReadPacket()
		if err != nil {
			t.Fatalf("%s: no payload to port %d: %v", file, port, err)
		}
		if dec.Decode(src.LinkType(), data, ci, &p) == capture.Decoded && p.DstPort == port && len(p.Payload) > 0 {
			return append([]byte(nil), p.Payload...)
		}
	}
}

// summaryCount reads "N what" from the exit summary.
func summaryCount(t *testing.T, summary, what string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) ` + regexp.QuoteMeta(what)).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("summary has no %q: %s", what, summary)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestHostileTrafficStaysBounded: a connection flood, endless out-of-order
// segments and never-ending messages, streamed through the sensor (-r -,
// two workers, small bounds), keep its resident memory under the bound
// the README predicts from the settings; every bound hit is counted; and
// the real connections woven into the flood give exactly their offline
// findings.
func TestHostileTrafficStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a few hundred MiB through the sensor")
	}
	files := realCaptures(t)
	want := offline(t, files)
	h := &hostile{steps: 150_000, oooConns: 1000, httpConns: 300, segment: 1000, realFrames: readReal(t, files),
		floodPayload: firstPayloadTo(t, filepath.Join(realDir, "smb2_ntlmv2_by_ip.pcap"), 445)}

	const (
		maxFlows        = 20_000
		maxBuffered     = 16 << 20
		maxStreamBuffer = 64 << 10
		workers         = 2
	)
	bound, _ := memoryBound(maxFlows, maxBuffered, workers, 1, 0) // what the README's formula says

	bin := sensorBinary(t)
	out := filepath.Join(t.TempDir(), "findings.jsonl")
	cmd := exec.Command(bin, "-r", "-", "-w", out, "-observer", "test", "-workers", strconv.Itoa(workers),
		"-max-flows", strconv.Itoa(maxFlows), "-max-buffered", strconv.Itoa(maxBuffered), "-max-stream-buffer", strconv.Itoa(maxStreamBuffer))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	genErr := make(chan error, 1)
	go func() {
		err := h.write(stdin)
		stdin.Close()
		genErr <- err
	}()
	err = cmd.Wait()
	if gerr := <-genErr; gerr != nil {
		t.Fatalf("generator: %v\n%s", gerr, stderr.String())
	}
	if err != nil {
		t.Fatalf("ntlmsensor: %v\n%s", err, stderr.String())
	}
	summary := stderr.String()
	t.Logf("%s", summary)

	peak := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // KiB on Linux
	t.Logf("peak resident memory %d MiB, bound predicted from the settings %d MiB", peak>>20, bound>>20)
	if peak > bound {
		t.Errorf("peak resident memory %d MiB over the predicted bound %d MiB", peak>>20, bound>>20)
	}
	if n := summaryCount(t, summary, "evicted"); n < h.steps-maxFlows {
		t.Errorf("%d flows evicted; the flood alone should evict %d", n, h.steps-maxFlows)
	}
	if n := summaryCount(t, summary, "memory limit hits"); n == 0 {
		t.Errorf("no memory limit hit counted")
	}
	if n := summaryCount(t, summary, "buffer limit hits"); n == 0 {
		t.Errorf("no buffer limit hit counted")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(t, b)
	diffFindings(t, want, got, "offline", "in the flood")
	// the repeated lab traffic: bob's AES AS-REQ of one repetition, then
	// his RC4-only one of the next, is an RC4 downgrade, raised once (an
	// account's alert is not repeated within the Kerberos window)
	if ids := ruleIDs(t, string(b)); !slices.Equal(ids, []string{"kerberos_downgrade_request"}) {
		t.Errorf("alerts %v, want the one RC4 downgrade", ids)
	}

}

// safeBuffer is a bytes.Buffer for a child's output.
type safeBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
