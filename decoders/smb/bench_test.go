package smb

import "testing"

func benchMsg(b *testing.B, rel string, frame int) []byte {
	b.Helper()
	return byFrame(b, messages(b, rel), frame)
}

func BenchmarkParseHeader2(b *testing.B) {
	msg := benchMsg(b, capSigned, 12)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHeader2(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNegotiateResponse2(b *testing.B) {
	msg := benchMsg(b, capSigned, 6)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNegotiateResponse2(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// The AUTHENTICATE-carrying request, the message a sensor must see.
func BenchmarkParseSessionSetupRequest2(b *testing.B) {
	msg := benchMsg(b, capSigned, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSessionSetupRequest2(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSessionSetupResponse2(b *testing.B) {
	msg := benchMsg(b, capSigned, 9)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSessionSetupResponse2(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTreeConnectRequest2(b *testing.B) {
	msg := benchMsg(b, capSigned, 13)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTreeConnectRequest2(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTransformHeader(b *testing.B) {
	msg := benchMsg(b, capSMB3, 14)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTransformHeader(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNegotiateResponse1(b *testing.B) {
	msg := benchMsg(b, capNonExt, 6)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNegotiateResponse1(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Non-extended: LM/NT responses plus four Unicode strings.
func BenchmarkParseSessionSetupRequest1(b *testing.B) {
	msg := benchMsg(b, capNonExt, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSessionSetupRequest1(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Extended security, ASCII strings.
func BenchmarkParseSessionSetupRequest1Extended(b *testing.B) {
	msg := benchMsg(b, capArkime, 12)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSessionSetupRequest1(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSessionSetupResponse1(b *testing.B) {
	msg := benchMsg(b, capSMB1v1, 9)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSessionSetupResponse1(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAndXCommands(b *testing.B) {
	msg := benchMsg(b, "public/suricata-verify/tests/smb-eicar-andx/smbandx.pcap", 22)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := AndXCommands(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTreeConnectAndXRequest1(b *testing.B) {
	msg := benchMsg(b, capNonExt, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTreeConnectAndXRequest1(msg, Header1Len); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStatusName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = StatusName(0xc000006d)
	}
}
