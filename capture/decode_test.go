package capture

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tsharkCounts reads testdata/tshark_counts.txt: capture -> frames, TCP, UDP.
func tsharkCounts(tb testing.TB) map[string][3]int {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "tshark_counts.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][3]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var n [3]int
		for i := range n {
			if n[i], err = strconv.Atoi(fields[i+1]); err != nil {
				tb.Fatal(err)
			}
		}
		out[fields[0]] = n
	}
	return out
}

// Decode every capture below pcaps/ and compare its TCP and UDP counts with
// tshark's (testdata/tshark_counts.txt). Covers Ethernet, Linux SLL, BSD
// null, VLAN, GRE/ERSPAN with real IPv4 fragments, pcapng, gzip and IPv6.
func TestDecodeEveryCapture(t *testing.T) {
	want := tsharkCounts(t)
	// Where the decoder and tshark rightly differ.
	known := map[string][3]int{
		// Frames 290, 305, 306, 514, 527 are VXLAN, GTP-U and Geneve carrying
		// ICMP: tshark's !icmp drops them; the decoder does not open UDP
		// tunnels and delivers the outer UDP datagram.
		"public/arkime/tests/pcap/arkime_synthetic.pcap": {918, 733, 146},
	}
	root := filepath.Join("..", "pcaps")
	seen := 0
	err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".pcap") && !strings.HasSuffix(path, ".pcapng") && !strings.HasSuffix(path, ".pcap.gz") {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		exp, ok := known[rel]
		if !ok {
			exp, ok = want[rel]
		}
		if !ok {
			t.Errorf("%s: not in testdata/tshark_counts.txt", rel)
			return nil
		}
		seen++
		rs, ps, d := decodeFile(t, path, FragmentLimits{})
		var tcp, udp int
		for i, r := range rs {
			if r != Decoded {
				continue
			}
			switch ps[i].Proto {
			case ProtoTCP:
				tcp++
			case ProtoUDP:
				udp++
			default:
				t.Errorf("%s frame %d: decoded protocol %d", rel, i+1, ps[i].Proto)
			}
		}
		st := d.Stats()
		if got := [3]int{len(rs), tcp, udp}; got != exp {
			t.Errorf("%s: frames/TCP/UDP %v, tshark %v", rel, got, exp)
		}
		if st.Malformed != 0 || st.Packets != st.Decoded+st.Skipped+st.Held+st.Malformed {
			t.Errorf("%s: stats %+v", rel, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("decoded %d captures, testdata lists %d", seen, len(want))
	}
}

// Header fields of real frames, as tshark shows them (ip/ipv6.src/dst,
// tcp/udp ports, tcp.seq_raw, tcp.ack_raw, tcp.flags, tcp.len, vlan.id).
func TestDecodeRealFields(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name, rel  string
		frame      int
		want       header
		payloadLen int
		vlan       uint16
		truncated  bool
		prefix     string
	}{
		{"ethernet SYN", realV4Capture, 1,
			header{a("127.0.0.5"), a("127.0.0.20"), 46724, 445, 6, FlagSYN, 3629395442, 0}, 0, 0, false, ""},
		{"ethernet NTLMSSP", realV4Capture, 10,
			header{a("127.0.0.5"), a("127.0.0.20"), 46724, 445, 6, FlagPSH | FlagACK, 3629395845, 2338328974}, 492, 0, false, "\x00\x00\x01\xe8\xfeSMB"},
		{"802.1Q", "public/arkime/tests/pcap/smb-smb1-ascii.pcap", 4,
			header{a("10.10.0.2"), a("10.10.0.3"), 445, 2204, 6, FlagSYN | FlagACK, 2054503475, 2695773311}, 0, 1113, false, ""},
		{"802.1Q UDP", "public/arkime/tests/pcap/krb5-udp.pcap", 1,
			header{a("10.172.10.172"), a("10.150.10.150"), 58412, 88, 17, 0, 0, 0}, 251, 300, false, "\x6a\x81\xf8\x30"},
		{"linux SLL", "public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap", 1,
			header{a("192.168.1.100"), a("192.168.1.3"), 55768, 445, 6, FlagSYN, 2629020104, 0}, 0, 0, false, ""},
		{"BSD null IPv4", "public/suricata-verify/tests/smb-length-5770/input.pcap", 1,
			header{a("127.0.0.1"), a("127.0.0.1"), 49754, 4445, 6, FlagSYN, 3968663435, 0}, 0, 0, false, ""},
		{"BSD null IPv6 (AF 30)", "public/suricata-verify/tests/smb-length-5770/input.pcap", 2589,
			header{a("fe80::1"), a("ff02::fb"), 5353, 5353, 17, 0, 0, 0}, 111, 0, false, ""},
		{"IPv6", realV6Capture, 36,
			header{a("2001:db8:10::100"), a("2001:db8:10::1"), 50003, 445, 6, FlagPSH | FlagACK, 1415, 2215}, 336, 0, false, ""},
		{"pcapng VLAN IPv6", "public/zeek/testing/btest/Traces/ldap/gap-data-missing.pcapng", 4,
			header{a("2a00:6020:ad0b:8381:fd70:e2f9:f031:9dc4"), a("2a00:6020:ad0b:8380::10"), 49980, 389, 6, FlagACK, 3763538960, 4054966678}, 1440, 81, false, ""},
		{"pcapng TSO", "public/zeek/testing/btest/Traces/krb/kerberos_tso.pcapng", 20,
			header{a("172.16.0.100"), a("172.16.0.211"), 88, 49813, 6, FlagPSH | FlagACK, 969065912, 424009545}, 1577, 0, false, ""},
		// Snaplen cut: 10014 of 12018 bytes captured; tshark's tcp.len (11964) is what the IP header claims.
		{"snaplen cut", "public/zeek/testing/btest/Traces/krb/smb2_krb.pcap", 43,
			header{a("172.19.23.143"), a("10.10.34.184"), 445, 56493, 6, FlagPSH | FlagACK, 1580877423, 3629642874}, 10014 - 14 - 20 - 20, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := frameNo(t, tt.rel, tt.frame)
			var p Packet
			d := NewDecoder(FragmentLimits{})
			if r := d.Decode(f.lt, f.data, f.ci, &p); r != Decoded {
				t.Fatalf("result %v", r)
			}
			if got := headerOf(&p); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if len(p.Payload) != tt.payloadLen || p.VLAN != tt.vlan || p.Truncated != tt.truncated || !bytes.HasPrefix(p.Payload, []byte(tt.prefix)) {
				t.Errorf("payload %d bytes (want %d), VLAN %d (want %d), truncated %v", len(p.Payload), tt.payloadLen, p.VLAN, tt.vlan, p.Truncated)
			}
			if !p.Time.Equal(f.ci.Timestamp) {
				t.Errorf("time %v", p.Time)
			}
			if st := d.Stats(); st.Truncated != map[bool]uint64{false: 0, true: 1}[tt.truncated] {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// zeek's erspan.pcap: a SPAN session over GRE (transparent Ethernet
// bridging, key 0x02000000) whose outer IPv4 datagrams are fragmented.
// Frames 153-155 are one GRE datagram: 153 and 154 are held, 155 completes
// it and yields the mirrored HTTP response (tshark: tcp.len 2920).
func TestDecodeERSPANReassembly(t *testing.T) {
	rel := "public/zeek/testing/btest/Traces/erspan.pcap"
	rs, ps, d := decodeFile(t, capturePath(rel), FragmentLimits{})
	if rs[152] != Held || rs[153] != Held || rs[154] != Decoded {
		t.Fatalf("frames 153-155: %v %v %v", rs[152], rs[153], rs[154])
	}
	p := ps[154]
	want := header{netip.MustParseAddr("192.168.69.2"), netip.MustParseAddr("192.168.69.10"), 80, 49162, 6, FlagACK, 2287433453, 3959219239}
	if got := headerOf(&p); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if len(p.Payload) != 2920 || !bytes.HasPrefix(p.Payload, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Errorf("payload %d bytes %q", len(p.Payload), p.Payload[:min(20, len(p.Payload))])
	}
	if epoch(p.Time) != "1442310055.819629000" {
		t.Errorf("time %s", epoch(p.Time))
	}
	// 55 fragments (tshark: ip.flags.mf==1 || ip.frag_offset>0) make 16 datagrams.
	st := d.Stats()
	if st.Fragments != 55 || st.Reassembled != 16 || st.Held != 39 || st.FragmentsDropped != 0 {
		t.Errorf("stats %+v", st)
	}
	// The NTLM exchanges mirrored in this session (tshark http.authorization:
	// frames 100, 102, 175, 176, 177; 102 is administrator's AUTHENTICATE).
	var frames []int
	for i, r := range rs {
		if r == Decoded && bytes.Contains(ps[i].Payload, []byte("Authorization: NTLM ")) {
			frames = append(frames, i+1)
		}
	}
	if !slices.Equal(frames, []int{100, 102, 175, 176, 177}) {
		t.Errorf("NTLM authorization in frames %v", frames)
	}
	if !bytes.Contains(ps[101].Payload, []byte("NTLM TlRMTVNTUAADAAAAGAAYAIYAAAAYARgBngAAAAQABABYAAAAGgA")) {
		t.Errorf("frame 102 lacks the AUTHENTICATE message")
	}
}

// Synthetic captures, written with pcapgo, for encapsulations no real
// capture here has. Each wraps a real packet (carol's or charlie's
// NTLMSSP AUTHENTICATE) and must decode to exactly its real values.
func TestDecodeSynthetic(t *testing.T) {
	ip4, _ := realIPv4(t)
	ip6 := realIPv6(t)
	tcp4Seg := ip4[20:]
	tcp6Seg := ip6[40:]
	const src4, dst4 = "127.0.0.5", "127.0.0.20"
	const src6, dst6 = "2001:db8:10::100", "2001:db8:10::1"
	outer := func(payload []byte) []byte { return ipv4("10.200.0.3", "10.200.0.224", ipProtoGRE, payload) }
	gre := func(flags, proto uint16, extra, payload []byte) []byte {
		return cat(be16(flags), be16(proto), extra, payload)
	}
	erspan3 := func(ft byte, o bool, payload []byte) []byte {
		h := []byte{0x20, 0x64, 0x00, 0x01, 0, 0, 0, 0, 0, 0, ft << 2, 0}
		if o {
			h[11] |= 1
			h = append(h, make([]byte, 8)...)
		}
		return cat(h, payload)
	}
	ipv4opts := cat(ipv4Header(src4, dst4, ipProtoTCP, 1, 0x4000, len(tcp4Seg), []byte{1, 1, 1, 0}), tcp4Seg)
	tests := []struct {
		name string
		lt   layers.LinkType
		data []byte
		want func(testing.TB, *Packet) // nil: want result r
		r    Result
		vlan uint16
	}{
		{"SLL2", layers.LinkTypeLinuxSLL2, cat(be16(etherTypeIPv4), make([]byte, 6), be16(772), []byte{0, 6}, macA, []byte{0, 0}, ip4), wantCarol, Decoded, 0},
		{"SLL netlink", layers.LinkTypeLinuxSLL, cat(be16(4), be16(arphrdNetlink), be16(0), make([]byte, 8), be16(0), make([]byte, 20)), nil, Skipped, 0},
		{"raw 101 v4", layers.LinkTypeRaw, ip4, wantCarol, Decoded, 0},
		{"raw 101 v6", layers.LinkTypeRaw, ip6, wantCharlie, Decoded, 0},
		{"raw 12", linkTypeRawBSD, ip4, wantCarol, Decoded, 0},
		{"raw 14", linkTypeRawOpenBSD, ip6, wantCharlie, Decoded, 0},
		{"IPv4 228", layers.LinkTypeIPv4, ip4, wantCarol, Decoded, 0},
		{"IPv6 229", layers.LinkTypeIPv6, ip6, wantCharlie, Decoded, 0},
		{"IPv4 228 holding IPv6", layers.LinkTypeIPv4, ip6, nil, Malformed, 0},
		{"OpenBSD loop v4", layers.LinkTypeLoop, cat([]byte{0, 0, 0, 2}, ip4), wantCarol, Decoded, 0},
		{"OpenBSD loop v6", layers.LinkTypeLoop, cat([]byte{0, 0, 0, 24}, ip6), wantCharlie, Decoded, 0},
		{"null big-endian host", layers.LinkTypeNull, cat([]byte{0, 0, 0, 2}, ip4), wantCarol, Decoded, 0},
		{"null FreeBSD v6", layers.LinkTypeNull, cat([]byte{28, 0, 0, 0}, ip6), wantCharlie, Decoded, 0},
		{"null Npcap v6", layers.LinkTypeNull, cat([]byte{23, 0, 0, 0}, ip6), wantCharlie, Decoded, 0},
		{"null unknown family", layers.LinkTypeNull, cat([]byte{7, 0, 0, 0}, ip4), nil, Skipped, 0},
		{"QinQ 88a8+8100", layers.LinkTypeEthernet, eth(etherTypeQinQ, vlan(100, etherTypeDot1Q, vlan(200, etherTypeIPv4, ip4))), wantCarol, Decoded, 100},
		{"QinQ 9100+8100 v6", layers.LinkTypeEthernet, eth(etherTypeQinQOld, vlan(7, etherTypeDot1Q, vlan(8, etherTypeIPv6, ip6))), wantCharlie, Decoded, 7},
		{"4 tags", layers.LinkTypeEthernet, eth(etherTypeQinQ, vlan(1, etherTypeDot1Q, vlan(2, etherTypeDot1Q, vlan(3, etherTypeDot1Q, vlan(4, etherTypeIPv4, ip4))))), wantCarol, Decoded, 1},
		{"5 tags", layers.LinkTypeEthernet, eth(etherTypeQinQ, vlan(1, etherTypeDot1Q, vlan(2, etherTypeDot1Q, vlan(3, etherTypeDot1Q, vlan(4, etherTypeDot1Q, vlan(5, etherTypeIPv4, ip4)))))), nil, Malformed, 1},
		{"SLL + VLAN", layers.LinkTypeLinuxSLL, cat(be16(0), be16(1), be16(6), macA, []byte{0, 0}, be16(etherTypeDot1Q), vlan(42, etherTypeIPv4, ip4)), wantCarol, Decoded, 42},
		{"IPv4 options", layers.LinkTypeRaw, ipv4opts, wantCarol, Decoded, 0},
		{"IPv4 AH", layers.LinkTypeRaw, ipv4(src4, dst4, ipProtoAH, cat([]byte{ipProtoTCP, 4, 0, 0}, make([]byte, 20), tcp4Seg)), wantCarol, Decoded, 0},
		{"IPv6 hop-by-hop, routing, dstopts, AH", layers.LinkTypeRaw, ipv6(src6, dst6, ipProtoHopByHop, cat(
			extHeader(ipProtoRouting, 1), extHeader(ipProtoDstOpts, 1), extHeader(ipProtoAH, 2),
			[]byte{ipProtoTCP, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, // AH: (1+2)*4 bytes
			tcp6Seg)), wantCharlie, Decoded, 0},
		{"IPv6 no next header", layers.LinkTypeRaw, ipv6(src6, dst6, ipProtoNoNext, nil), nil, Skipped, 0},
		{"IPv6 atomic fragment", layers.LinkTypeRaw, ipv6(src6, dst6, ipProtoFragment, cat([]byte{ipProtoTCP, 0, 0, 0, 0, 0, 0, 9}, tcp6Seg)), wantCharlie, Decoded, 0},
		{"IP-in-IP", layers.LinkTypeRaw, ipv4("192.0.2.1", "192.0.2.2", ipProtoIPIP, ip4), wantCarol, Decoded, 0},
		{"6in4", layers.LinkTypeRaw, ipv4("192.0.2.1", "192.0.2.2", ipProtoIPv6, ip6), wantCharlie, Decoded, 0},
		{"4in6", layers.LinkTypeRaw, ipv6("2001:db8::1", "2001:db8::2", ipProtoIPIP, ip4), wantCarol, Decoded, 0},
		{"GRE IPv4 with checksum, key, sequence", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0xb000, etherTypeIPv4, make([]byte, 12), ip4))), wantCarol, Decoded, 0},
		{"GRE IPv6", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0, etherTypeIPv6, nil, ip6))), wantCharlie, Decoded, 0},
		{"GRE routing (RFC 1701)", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x4000, etherTypeIPv4, cat(make([]byte, 4), []byte{0, 1, 0, 4, 1, 2, 3, 4}, make([]byte, 4)), ip4))), wantCarol, Decoded, 0},
		{"GRE TEB with inner VLAN", layers.LinkTypeEthernet, eth(etherTypeDot1Q, vlan(10, etherTypeIPv4, outer(gre(0x2000, etherTypeTEB, make([]byte, 4), eth(etherTypeDot1Q, vlan(20, etherTypeIPv4, ip4)))))), wantCarol, Decoded, 10},
		{"GRE inner VLAN only", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0, etherTypeTEB, nil, eth(etherTypeDot1Q, vlan(20, etherTypeIPv4, ip4))))), wantCarol, Decoded, 20},
		{"GRE version 1 (PPTP)", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x3081, 0x880b, make([]byte, 12), ip4))), nil, Skipped, 0},
		{"ERSPAN type I", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0, etherTypeERSPAN2, nil, eth(etherTypeIPv4, ip4)))), wantCarol, Decoded, 0},
		{"ERSPAN type II", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x1000, etherTypeERSPAN2, be32(7), cat([]byte{0x10, 0x64, 0x00, 0x64, 0, 0, 0, 1}, eth(etherTypeIPv6, ip6))))), wantCharlie, Decoded, 0},
		{"ERSPAN type III", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x1000, etherTypeERSPAN3, be32(7), erspan3(0, false, eth(etherTypeIPv4, ip4))))), wantCarol, Decoded, 0},
		{"ERSPAN type III platform subheader", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x1000, etherTypeERSPAN3, be32(7), erspan3(0, true, eth(etherTypeDot1Q, vlan(9, etherTypeIPv4, ip4)))))), wantCarol, Decoded, 9},
		{"ERSPAN type III IP frame", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x1000, etherTypeERSPAN3, be32(7), erspan3(2, false, ip6)))), wantCharlie, Decoded, 0},
		{"ERSPAN type III unknown frame type", layers.LinkTypeEthernet, eth(etherTypeIPv4, outer(gre(0x1000, etherTypeERSPAN3, be32(7), erspan3(5, false, ip4)))), nil, Skipped, 0},
		{"ERSPAN over IPv6", layers.LinkTypeEthernet, eth(etherTypeIPv6, ipv6("2001:db8::1", "2001:db8::2", ipProtoGRE, gre(0x1000, etherTypeERSPAN2, be32(1), cat(make([]byte, 8), eth(etherTypeIPv4, ip4))))), wantCarol, Decoded, 0},
		{"TSO: IPv4 total length 0", layers.LinkTypeRaw, cat(ip4[:2], []byte{0, 0}, ip4[4:]), wantCarol, Decoded, 0},
		{"Ethernet padding trimmed", layers.LinkTypeEthernet, eth(etherTypeIPv4, cat(ipv4(src4, dst4, ipProtoUDP, cat(be16(1), be16(2), be16(10), be16(0), []byte("hi"))), make([]byte, 20))),
			func(tb testing.TB, p *Packet) {
				if string(p.Payload) != "hi" || p.Proto != ProtoUDP || p.SrcPort != 1 || p.DstPort != 2 {
					tb.Errorf("got %+v", p)
				}
			}, Decoded, 0},
		{"ARP", layers.LinkTypeEthernet, eth(0x0806, make([]byte, 28)), nil, Skipped, 0},
		{"802.3 LLC", layers.LinkTypeEthernet, eth(38, make([]byte, 38)), nil, Skipped, 0},
		{"ICMP", layers.LinkTypeRaw, ipv4(src4, dst4, 1, make([]byte, 8)), nil, Skipped, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, ps, _ := decodeFile(t, writePcap(t, tt.lt, tt.data), FragmentLimits{})
			if rs[0] != tt.r {
				t.Fatalf("result %v, want %v", rs[0], tt.r)
			}
			if tt.want != nil {
				tt.want(t, &ps[0])
			}
			if ps[0].VLAN != tt.vlan {
				t.Errorf("VLAN %d, want %d", ps[0].VLAN, tt.vlan)
			}
		})
	}
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// Malformed headers: each is counted, none panics.
func TestDecodeMalformed(t *testing.T) {
	ip4, _ := realIPv4(t)
	ip6 := realIPv6(t)
	set := func(b []byte, i int, v byte) []byte { b = bytes.Clone(b); b[i] = v; return b }
	udp := func(length uint16) []byte {
		return ipv4("10.0.0.1", "10.0.0.2", ipProtoUDP, cat(be16(1), be16(2), be16(length), be16(0), []byte("abcd")))
	}
	nest := ip4
	for range maxEncapsulation + 1 {
		nest = ipv4("192.0.2.1", "192.0.2.2", ipProtoGRE, cat(be16(0), be16(etherTypeIPv4), nest))
	}
	tests := []struct {
		name string
		lt   layers.LinkType
		data []byte
	}{
		{"empty ethernet", layers.LinkTypeEthernet, nil},
		{"short ethernet", layers.LinkTypeEthernet, eth(etherTypeIPv4, nil)[:13]},
		{"short SLL", layers.LinkTypeLinuxSLL, make([]byte, 15)},
		{"short SLL2", layers.LinkTypeLinuxSLL2, make([]byte, 19)},
		{"short null", layers.LinkTypeNull, []byte{2, 0}},
		{"empty raw", layers.LinkTypeRaw, nil},
		{"raw version 5", layers.LinkTypeRaw, set(ip4, 0, 0x55)},
		{"IPv4 IHL 4", layers.LinkTypeRaw, set(ip4, 0, 0x44)},
		{"IPv4 IHL past the end", layers.LinkTypeRaw, set(ip4[:30], 0, 0x4f)},
		{"IPv4 total length < IHL", layers.LinkTypeRaw, set(set(ip4, 2, 0), 3, 12)},
		{"IPv4 19 bytes", layers.LinkTypeRaw, ip4[:19]},
		{"IPv6 39 bytes", layers.LinkTypeRaw, ip6[:39]},
		{"TCP data offset 4", layers.LinkTypeRaw, set(ip4, 20+12, 0x40)},
		{"TCP data offset past the end", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoTCP, set(ip4[20:40], 12, 0xf0))},
		{"TCP 19 bytes", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoTCP, ip4[20:39])},
		{"UDP 7 bytes", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoUDP, make([]byte, 7))},
		{"UDP length 7", layers.LinkTypeRaw, udp(7)},
		{"UDP length past the datagram", layers.LinkTypeRaw, udp(100)},
		{"IPv6 ext header past the end", layers.LinkTypeRaw, ipv6("::1", "::2", ipProtoDstOpts, []byte{6, 3, 0, 0, 0, 0, 0, 0})},
		{"IPv6 ext header 7 bytes", layers.LinkTypeRaw, ipv6("::1", "::2", ipProtoHopByHop, make([]byte, 7))},
		{"IPv6 AH past the end", layers.LinkTypeRaw, ipv6("::1", "::2", ipProtoAH, []byte{6, 9, 0, 0, 0, 0, 0, 0})},
		{"IPv6 17 extension headers", layers.LinkTypeRaw, ipv6("::1", "::2", ipProtoDstOpts, bytes.Repeat(extHeader(ipProtoDstOpts, 1), 17))},
		{"IPv4 AH in AH", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoAH, cat([]byte{ipProtoAH, 1}, make([]byte, 10)))},
		{"GRE 3 bytes", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, []byte{0, 0, 8})},
		{"GRE key missing", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0x2000), be16(etherTypeIPv4)))},
		{"GRE routing without end", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0x4000), be16(etherTypeIPv4), make([]byte, 4), []byte{0, 1, 0, 8}))},
		{"ERSPAN II header cut", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0x1000), be16(etherTypeERSPAN2), make([]byte, 4), make([]byte, 7)))},
		{"ERSPAN III subheader cut", layers.LinkTypeRaw, ipv4("10.0.0.1", "10.0.0.2", ipProtoGRE, cat(be16(0x1000), be16(etherTypeERSPAN3), make([]byte, 4), []byte{0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 7)))},
		{"encapsulation too deep", layers.LinkTypeRaw, nest},
		{"IPv6 fragment header cut", layers.LinkTypeRaw, ipv6("::1", "::2", ipProtoFragment, make([]byte, 7))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(FragmentLimits{})
			var p Packet
			if r := d.Decode(tt.lt, tt.data, gopacket.CaptureInfo{Timestamp: time.Unix(1, 0)}, &p); r != Malformed {
				t.Errorf("result %v, want malformed", r)
			}
			if st := d.Stats(); st.Malformed != 1 || st.Packets != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A snaplen-cut UDP datagram: the UDP length says more than was captured;
// the packet is still delivered, marked Truncated.
func TestDecodeTruncatedUDP(t *testing.T) {
	f := frameNo(t, "public/arkime/tests/pcap/krb5-udp.pcap", 1)
	cut := f.data[:len(f.data)-100]
	ci := f.ci
	ci.CaptureLength = len(cut)
	var p Packet
	d := NewDecoder(FragmentLimits{})
	if r := d.Decode(f.lt, cut, ci, &p); r != Decoded || !p.Truncated || len(p.Payload) != 151 || p.DstPort != 88 || p.VLAN != 300 {
		t.Errorf("%v truncated=%v payload %d port %d", r, p.Truncated, len(p.Payload), p.DstPort)
	}
	if d.Stats().Truncated != 1 {
		t.Errorf("stats %+v", d.Stats())
	}
}

// Decode allocates nothing, over every frame of real captures of each link type.
func TestDecodeZeroAllocs(t *testing.T) {
	var frames []frame
	for _, rel := range []string{
		realV4Capture, realV6Capture,
		"public/zeek/testing/btest/Traces/erspan.pcap", // GRE and reassembly
		"public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap",
		"public/suricata-verify/tests/smb-length-5770/input.pcap",
		"public/arkime/tests/pcap/smb-smb1-ascii.pcap",
		"public/arkime/tests/pcap/arkime_synthetic.pcap",
	} {
		frames = append(frames, readFrames(t, rel)...)
	}
	d := NewDecoder(FragmentLimits{})
	var p Packet
	run := func() {
		for _, f := range frames {
			d.Decode(f.lt, f.data, f.ci, &p)
		}
	}
	run() // warm up: reassembly buffers and the datagram free list
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per pass over %d frames", n, len(frames))
	}
}

func TestSupportedLinkType(t *testing.T) {
	ip4, _ := realIPv4(t)
	d := NewDecoder(FragmentLimits{})
	var p Packet
	if r := d.Decode(layers.LinkTypeLinuxUSB, ip4, gopacket.CaptureInfo{}, &p); r != Skipped || d.Stats().UnsupportedLink != 1 || d.Stats().Skipped != 1 {
		t.Errorf("USB frame: %v, stats %+v", r, d.Stats())
	}
	for _, lt := range []layers.LinkType{0, 1, 12, 14, 101, 108, 113, 228, 229, 276} {
		if !SupportedLinkType(lt) {
			t.Errorf("%d not supported", lt)
		}
	}
	for _, lt := range []layers.LinkType{9, 105, 127, 147, 220} {
		if SupportedLinkType(lt) {
			t.Errorf("%d supported", lt)
		}
	}
}
