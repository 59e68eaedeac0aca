package dcerpc_test

import (
	"encoding/binary"
	"testing"

	"ntlmsensor/decoders/dcerpc"
)

// spoolss is 12345678-1234-abcd-ef00-0123456789ab, the MS-RPRN interface.
var spoolss = [16]byte{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0xab, 0xcd, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}

// TestCoercingCall: Samba's real bind and request, the bind's interface
// made MS-RPRN and the request's opnum 65
// (RpcRemoteFindFirstPrinterChangeNotificationEx, MS-RPRN 3.1.4.10.4): the
// association reports the call as an observation, never a finding; opnum
// 64 is no coercing call.
func TestCoercingCall(t *testing.T) {
	bind := pdu(t, tcpNTLM, dcerpc.TypeBind, 16)
	// the first abstract syntax: the context list starts at byte 28, each
	// element with a 4-byte header; UUID fields little-endian on the wire
	binary.LittleEndian.PutUint32(bind[32:], 0x12345678)
	binary.LittleEndian.PutUint16(bind[36:], 0x1234)
	binary.LittleEndian.PutUint16(bind[38:], 0xabcd)
	copy(bind[40:48], spoolss[8:])
	h, _ := dcerpc.ParseHeader(bind)
	if b, err := dcerpc.ParseBind(bind, h); err != nil || b.FirstInterface != spoolss {
		t.Fatalf("patched bind: %v %x", err, b.FirstInterface)
	}
	req := pdu(t, tcpNTLM, dcerpc.TypeRequest, 21)
	binary.LittleEndian.PutUint16(req[22:], 65)
	var obs int
	for _, f := range run(t, bind, req) {
		if f.Observation() {
			obs++
			if f.Attack.CoercionCall != "MS-RPRN opnum 65" || f.Protocol != "dcerpc" || f.Server.Port() != 445 {
				t.Errorf("observation %+v", f)
			}
		}
	}
	if obs != 1 {
		t.Fatalf("%d observations, want 1", obs)
	}
	binary.LittleEndian.PutUint16(req[22:], 64)
	for _, f := range run(t, bind, req) {
		if f.Observation() {
			t.Errorf("opnum 64 observed: %+v", f)
		}
	}
	if dcerpc.Coercing(spoolss, 62) != "MS-RPRN" || dcerpc.Coercing(spoolss, 1) != "" {
		t.Error("Coercing table")
	}
}
