package spnego

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"ntlmsensor/decoders/internal/pcaptest"
)

const realImpl = "real-implementations/"

// smb2Blob returns the security buffer of an SMB2 NEGOTIATE response or
// SESSION_SETUP request/response found in one NetBIOS-framed TCP payload.
//
// MS-SMB2 2.2.1 header (64 bytes): Command at 12, Flags at 16 (0x1 response).
// Buffer offsets are from the start of the SMB2 header:
// NEGOTIATE response (2.2.4) SecurityBufferOffset/Length at body+56/58,
// SESSION_SETUP request (2.2.5) at body+12/14, response (2.2.6) at body+4/6.
func smb2Blob(p []byte) ([]byte, bool) {
	const nb, hdrLen = 4, 64
	if len(p) < nb+hdrLen || !bytes.Equal(p[nb:nb+4], []byte("\xfeSMB")) {
		return nil, false
	}
	h := p[nb:]
	cmd := binary.LittleEndian.Uint16(h[12:])
	resp := binary.LittleEndian.Uint32(h[16:])&1 != 0
	var at int
	switch {
	case cmd == 0 && resp:
		at = hdrLen + 56
	case cmd == 1 && !resp:
		at = hdrLen + 12
	case cmd == 1 && resp:
		at = hdrLen + 4
	default:
		return nil, false
	}
	if len(h) < at+4 {
		return nil, false
	}
	off := int(binary.LittleEndian.Uint16(h[at:]))
	n := int(binary.LittleEndian.Uint16(h[at+2:]))
	if n == 0 || off+n > len(h) {
		return nil, false
	}
	return h[off : off+n], true
}

// frameBlobs returns the SMB2 security blob of every frame that has one.
func frameBlobs(tb testing.TB, rel string) map[int][]byte {
	tb.Helper()
	out := map[int][]byte{}
	for _, s := range pcaptest.Segments(tb, rel) {
		if b, ok := smb2Blob(s.Payload); ok {
			out[s.Frame] = b
		}
	}
	return out
}

// ldapSASL returns the SASL credentials of an LDAP BindRequest or the
// serverSaslCreds of a BindResponse [RFC 4511 4.2, 4.2.2]:
//
//	LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE {
//	  bindRequest [APPLICATION 0] { version, name, authentication CHOICE {
//	    sasl [3] { mechanism OCTET STRING, credentials OCTET STRING } } },
//	  bindResponse [APPLICATION 1] { resultCode, matchedDN, diagnosticMessage,
//	    referral [3] OPTIONAL, serverSaslCreds [7] OPTIONAL } } }
func ldapSASL(p []byte) ([]byte, bool) {
	s := cryptobyte.String(p)
	tag, msg, err := readElement(&s)
	if err != nil || tag != 0x30 {
		return nil, false
	}
	if _, _, err := readElement(&msg); err != nil { // messageID
		return nil, false
	}
	tag, op, err := readElement(&msg)
	if err != nil || (tag != 0x60 && tag != 0x61) {
		return nil, false
	}
	for !op.Empty() {
		t, v, err := readElement(&op)
		if err != nil {
			return nil, false
		}
		switch t {
		case 0xa3: // sasl
			if _, _, err := readElement(&v); err != nil { // mechanism
				return nil, false
			}
			if t, c, err := readElement(&v); err == nil && t == 0x04 {
				return c, true
			}
			return nil, false
		case 0x87: // serverSaslCreds
			return v, true
		}
	}
	return nil, false
}

func frameLDAP(tb testing.TB, rel string) map[int][]byte {
	tb.Helper()
	out := map[int][]byte{}
	for _, s := range pcaptest.Segments(tb, rel) {
		if b, ok := ldapSASL(s.Payload); ok {
			out[s.Frame] = b
		}
	}
	return out
}

// frameHTTP returns the base64-decoded token of each HTTP Authorization or
// WWW-Authenticate "Negotiate" header.
func frameHTTP(tb testing.TB, rel string) map[int][]byte {
	tb.Helper()
	out := map[int][]byte{}
	for _, s := range pcaptest.Segments(tb, rel) {
		i := bytes.Index(s.Payload, []byte("Negotiate "))
		if i < 0 {
			continue
		}
		line := s.Payload[i+len("Negotiate "):]
		if j := bytes.IndexByte(line, '\r'); j >= 0 {
			line = line[:j]
		}
		tok, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			tb.Fatalf("%s frame %d: %v", rel, s.Frame, err)
		}
		out[s.Frame] = tok
	}
	return out
}

// oracleRow is an SMB2 SESSION_SETUP frame of a tshark dump that carries
// NTLMSSP or Kerberos.
type oracleRow struct {
	frame    int
	ntlmType int    // ntlmssp.messagetype, 0 if none
	krbType  string // kerberos.msg_type
}

// oracleRows reads the single-command SMB2 SESSION_SETUP rows of the tshark
// dump beside a public capture.
func oracleRows(tb testing.TB, rel string) []oracleRow {
	tb.Helper()
	raw, err := os.ReadFile(pcaptest.Path(rel + ".tshark.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 2 {
		return nil
	}
	ix := map[string]int{}
	for i, h := range strings.Split(lines[1], "\t") {
		ix[h] = i
	}
	var out []oracleRow
	for _, l := range lines[2:] {
		r := strings.Split(l, "\t")
		if len(r) < len(ix) || r[ix["smb2.cmd"]] != "1" {
			continue
		}
		nt, kt := r[ix["ntlmssp.messagetype"]], r[ix["kerberos.msg_type"]]
		if nt == "" && kt == "" || strings.Contains(nt, ",") {
			continue
		}
		row := oracleRow{krbType: kt}
		row.frame, _ = strconv.Atoi(r[ix["frame.number"]])
		if nt != "" {
			v, err := strconv.ParseUint(strings.TrimPrefix(nt, "0x"), 16, 32)
			if err != nil {
				tb.Fatalf("%s: messagetype %q", rel, nt)
			}
			row.ntlmType = int(v)
		}
		out = append(out, row)
	}
	return out
}

// publicWithSMB2Auth lists the public captures whose tshark dump has an
// authenticated SMB2 SESSION_SETUP.
func publicWithSMB2Auth(tb testing.TB) []string {
	tb.Helper()
	root := pcaptest.Path("public")
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".tshark.tsv") {
			return err
		}
		rel, _ := filepath.Rel(pcaptest.Path(""), strings.TrimSuffix(path, ".tshark.tsv"))
		if len(oracleRows(tb, rel)) > 0 {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
