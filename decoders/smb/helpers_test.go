package smb

import (
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// message is one SMB message (NetBIOS header stripped) from a capture.
type message struct {
	Frame    int  // frame completing the message, as tshark reports it
	ToServer bool // sent to port 445/139
	Msg      []byte
}

// messages reassembles each direction of each TCP flow of a capture and
// splits it at NetBIOS headers. The captures have no loss or retransmission,
// so concatenating payloads in capture order is exact.
func messages(tb testing.TB, rel string) []message {
	tb.Helper()
	type flow struct{ src, dst uint16 }
	bufs := map[flow][]byte{}
	var out []message
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.UDP {
			continue
		}
		if s.SrcPort != 445 && s.DstPort != 445 && s.SrcPort != 139 && s.DstPort != 139 {
			continue
		}
		k := flow{s.SrcPort, s.DstPort}
		buf := append(bufs[k], s.Payload...)
		for {
			typ, n, ok := NetBIOSHeader(buf)
			if !ok || len(buf) < 4+n {
				break
			}
			if typ == NBSessionMessage && n > 0 {
				out = append(out, message{Frame: s.Frame, ToServer: s.DstPort == 445 || s.DstPort == 139, Msg: buf[4 : 4+n : 4+n]})
			}
			buf = buf[4+n:]
		}
		bufs[k] = append([]byte(nil), buf...)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no SMB messages", rel)
	}
	return out
}

// byFrame returns the message completed in frame f.
func byFrame(tb testing.TB, msgs []message, f int) []byte {
	tb.Helper()
	for _, m := range msgs {
		if m.Frame == f {
			return m.Msg
		}
	}
	tb.Fatalf("no SMB message in frame %d", f)
	return nil
}

// smb2Of returns the SMB2 messages with command c in direction resp.
func smb2Of(tb testing.TB, msgs []message, c Command2, resp bool) []message {
	tb.Helper()
	var out []message
	for _, m := range msgs {
		if ProtocolOf(m.Msg) != ProtoSMB2 {
			continue
		}
		h, err := ParseHeader2(m.Msg)
		if err != nil {
			tb.Fatalf("frame %d: %v", m.Frame, err)
		}
		if h.Command == c && h.IsResponse() == resp {
			out = append(out, m)
		}
	}
	return out
}

// smb1Of returns the SMB1 messages whose first command is cmd in direction resp.
func smb1Of(tb testing.TB, msgs []message, cmd uint8, resp bool) []message {
	tb.Helper()
	var out []message
	for _, m := range msgs {
		if ProtocolOf(m.Msg) != ProtoSMB1 {
			continue
		}
		h, err := ParseHeader1(m.Msg)
		if err != nil {
			tb.Fatalf("frame %d: %v", m.Frame, err)
		}
		if h.Command == cmd && h.IsResponse() == resp {
			out = append(out, m)
		}
	}
	return out
}

// Captures used by the tests.
const (
	capSigned     = "real-implementations/smb2_ntlmv2_hostname_signed.pcap"
	capUnsigned   = "real-implementations/smb2_ntlmv2_unsigned.pcap"
	capImpacketSv = "real-implementations/smb2_to_impacket_server.pcap"
	capSMB3       = "real-implementations/smb3_impacket_client_ntlmv2.pcap"
	capWrongPW    = "real-implementations/smb2_wrong_password.pcap"
	capNonExt     = "real-implementations/smb1_nonextsec_lm_ntlmv1.pcap"
	capSMB1v1     = "real-implementations/smb1_ntlmv1.pcap"
	capSuricata   = "public/suricata-verify/tests/smb-named-pipe-ascii/input.pcap"
	capArkime     = "public/arkime/tests/pcap/smb-smb1-ascii.pcap"
	capZeek311    = "public/zeek/testing/btest/Traces/smb/smb311.pcap"
)

// allCaptures seeds fuzzing and benchmarks.
var allCaptures = []string{capSigned, capUnsigned, capImpacketSv, capSMB3, capWrongPW, capNonExt, capSMB1v1, capSuricata, capArkime, capZeek311}
