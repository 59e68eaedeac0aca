package pcaptest

import "testing"

func TestSegmentsReadsRealCaptures(t *testing.T) {
	segs := Segments(t, "real-implementations/smb2_wrong_password.pcap")
	if len(segs) == 0 {
		t.Fatal("no payloads")
	}
	if got := len(Find(t, "real-implementations/smb2_wrong_password.pcap", []byte("NTLMSSP\x00"))); got != 3 {
		t.Fatalf("NTLMSSP messages = %d, want 3", got)
	}
	if len(Segments(t, "public/zeek/testing/btest/Traces/smb/smb_many_open_files_500.pcap.gz")) == 0 {
		t.Fatal("gzip capture gave no payloads")
	}
}
