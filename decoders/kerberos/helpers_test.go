package kerberos

import (
	"bytes"
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"

	"ntlmsensor/decoders/internal/pcaptest"
)

// pdu is one Kerberos PDU seen on port 88, at the frame that completed it.
type pdu struct {
	frame int
	b     []byte
}

// portPDUs returns the Kerberos PDUs of a capture's port-88 traffic: UDP
// datagrams as they are, TCP streams cut at the record marks [RFC 4120
// 7.2.2]. The TCP side is a naive per-direction concatenation (no
// retransmission handling), enough for these captures.
func portPDUs(tb testing.TB, rel string) []pdu {
	tb.Helper()
	type flow struct{ src, dst uint16 }
	bufs := map[flow][]byte{}
	var out []pdu
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.SrcPort != 88 && s.DstPort != 88 {
			continue
		}
		if s.UDP {
			out = append(out, pdu{s.Frame, s.Payload})
			continue
		}
		f := flow{s.SrcPort, s.DstPort}
		buf := append(bufs[f], s.Payload...)
		for {
			n, ok := TCPRecordLength(buf)
			if !ok {
				if len(buf) >= 4 {
					buf = nil // not a record mark: resynchronise on the next segment
				}
				break
			}
			if len(buf)-4 < n {
				break
			}
			out = append(out, pdu{s.Frame, buf[4 : 4+n]})
			buf = buf[4+n:]
		}
		bufs[f] = append([]byte(nil), buf...)
	}
	return out
}

// pduAt returns the PDU completed at frame.
func pduAt(tb testing.TB, rel string, frame int) []byte {
	tb.Helper()
	for _, p := range portPDUs(tb, rel) {
		if p.frame == frame {
			return p.b
		}
	}
	tb.Fatalf("%s: no Kerberos PDU at frame %d", rel, frame)
	return nil
}

// Kerberos OIDs as they appear in a GSS token, followed by a TOK_ID.
var (
	gssKRB5APReq = []byte("\x06\x09" + oidKRB5 + "\x01\x00")
	gssKRB5APRep = []byte("\x06\x09" + oidKRB5 + "\x02\x00")
)

// gssTokens returns the complete GSS-API krb5 tokens (0x60 ... OID TOK_ID
// PDU) found in a capture, located by their OID and TOK_ID.
func gssTokens(tb testing.TB, payloads [][]byte, sig []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range payloads {
		for i := bytes.Index(p, sig); i >= 0; {
			// The 0x60 header is 2 to 6 octets before the OID.
			for h := 2; h <= 6 && i-h >= 0; h++ {
				if p[i-h] == 0x60 {
					out = append(out, p[i-h:])
					break
				}
			}
			j := bytes.Index(p[i+1:], sig)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return out
}

// httpNegotiate returns the base64-decoded Negotiate tokens of the HTTP
// Authorization / WWW-Authenticate headers in a capture.
func httpNegotiate(tb testing.TB, rel string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range pcaptest.Find(tb, rel, []byte("Negotiate ")) {
		line := p[len("Negotiate "):]
		if i := bytes.IndexByte(line, '\r'); i >= 0 {
			line = line[:i]
		}
		tok, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			tb.Fatalf("%s: base64: %v", rel, err)
		}
		out = append(out, tok)
	}
	return out
}

// oracleRow is one tshark-decoded Kerberos message of a FILE.tshark.tsv.
type oracleRow struct {
	frame                       int
	msgType                     string // first kerberos.msg_type (outer PDU)
	cname, crealm, realm, sname string // as tshark prints them (name parts joined with ",")
	errorCode                   string
	port88                      bool
}

// oracle reads the Kerberos rows of a tshark dump beside a public capture.
func oracle(tb testing.TB, rel string) []oracleRow {
	tb.Helper()
	raw, err := os.ReadFile(pcaptest.Path(rel + ".tshark.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 2 {
		tb.Fatalf("%s: short oracle", rel)
	}
	ix := map[string]int{}
	for i, h := range strings.Split(lines[1], "\t") {
		ix[h] = i
	}
	var out []oracleRow
	for _, l := range lines[2:] {
		r := strings.Split(l, "\t")
		if len(r) < len(ix) || r[ix["kerberos.msg_type"]] == "" {
			continue
		}
		frame, _ := strconv.Atoi(r[ix["frame.number"]])
		ports := []string{r[ix["tcp.srcport"]], r[ix["tcp.dstport"]], r[ix["udp.srcport"]], r[ix["udp.dstport"]]}
		out = append(out, oracleRow{
			frame:     frame,
			msgType:   strings.Split(r[ix["kerberos.msg_type"]], ",")[0],
			cname:     r[ix["kerberos.CNameString"]],
			crealm:    r[ix["kerberos.crealm"]],
			realm:     r[ix["kerberos.realm"]],
			sname:     r[ix["kerberos.SNameString"]],
			errorCode: r[ix["kerberos.error_code"]],
			port88:    ports[0] == "88" || ports[1] == "88" || ports[2] == "88" || ports[3] == "88",
		})
	}
	return out
}

// payloadsWith returns the whole payloads that contain sig.
func payloadsWith(tb testing.TB, rel string, sig []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, s := range pcaptest.Segments(tb, rel) {
		if bytes.Contains(s.Payload, sig) {
			out = append(out, s.Payload)
		}
	}
	return out
}

func bytesIndex(b, sub []byte) int { return bytes.Index(b, sub) }

// pcapSegment returns the transport payload of one frame.
func pcapSegment(tb testing.TB, rel string, frame int) []byte {
	tb.Helper()
	for _, s := range pcaptest.Segments(tb, rel) {
		if s.Frame == frame {
			return s.Payload
		}
	}
	tb.Fatalf("%s: no payload at frame %d", rel, frame)
	return nil
}

func joinParts(p Principal) string { return strings.Join(p.Parts[:p.NumParts], ",") }

func lastOf(list string) string {
	if i := strings.LastIndexByte(list, ','); i >= 0 {
		return list[i+1:]
	}
	return list
}
