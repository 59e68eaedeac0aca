package ldap_test

import (
	"bytes"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/internal/pcaptest"
	ldap "ntlmsensor/decoders/ldap"
	"ntlmsensor/findings"
)

// chunk is the payload of one segment of a connection.
type chunk struct {
	toServer bool
	data     []byte
	gap      bool // bytes lost before this chunk
}

// conversation returns the LDAP payloads of a single-connection capture in
// order (server port 389).
func conversation(t testing.TB, rel string) []chunk {
	t.Helper()
	var out []chunk
	for _, s := range pcaptest.Segments(t, rel) {
		if !s.UDP && (s.DstPort == 389 || s.SrcPort == 389) {
			out = append(out, chunk{toServer: s.DstPort == 389, data: s.Payload})
		}
	}
	return out
}

// driver feeds a handler the way the sensor's streams do: unconsumed bytes
// are presented again with more, over-consumption skips bytes unseen, and
// more than maxBuffer unconsumed bytes is a gap.
type driver struct {
	tb    testing.TB
	conn  *carrier.Conn
	h     carrier.Handler
	done  bool // the handler said Done and was closed, as the sensor does
	buf   [2][]byte
	skip  [2]int
	out   []*findings.Finding
	held  int // most bytes ever left unconsumed
	bytes int // bytes handed to Feed in all (copying cost)
}

const maxBuffer = 256 << 10

var (
	client = netip.MustParseAddrPort("192.0.2.1:50000")
	server = netip.MustParseAddrPort("192.0.2.2:389")
	t0     = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
)

func newDriver(tb testing.TB, udp bool) *driver {
	d := &driver{tb: tb}
	d.conn = carrier.NewConn(client, server, udp, ldap.Carrier.Protocol, "", func(f *findings.Finding) { d.out = append(d.out, f) })
	d.h = ldap.Carrier.New(d.conn)
	return d
}

func dirOf(toServer bool) int {
	if toServer {
		return 0
	}
	return 1
}

func (d *driver) gap(toServer bool, ts time.Time) {
	if d.done {
		return
	}
	i := dirOf(toServer)
	d.buf[i], d.skip[i] = nil, 0
	d.h.Gap(toServer, ts)
}

func (d *driver) feed(toServer bool, b []byte, ts time.Time) {
	if d.done {
		return
	}
	i := dirOf(toServer)
	if s := min(d.skip[i], len(b)); s > 0 {
		d.skip[i] -= s
		b = b[s:]
	}
	if len(b) == 0 {
		return
	}
	in := b
	if len(d.buf[i]) > 0 {
		if len(d.buf[i])+len(b) > maxBuffer {
			d.gap(toServer, ts)
		} else {
			in = append(d.buf[i], b...)
		}
	}
	d.bytes += len(in)
	n := d.h.Feed(toServer, in, ts)
	if n < 0 {
		d.tb.Fatalf("Feed returned %d", n)
	}
	if d.conn.IsDone() {
		d.h.Close(ts)
		d.done = true
		return
	}
	if n >= len(in) {
		d.buf[i], d.skip[i] = nil, n-len(in)
		return
	}
	d.buf[i] = append([]byte(nil), in[n:]...)
	d.held = max(d.held, len(d.buf[i]))
}

// run feeds chunks, the i-th at t0+i seconds, in pieces of at most size
// bytes (0: whole), and closes the connection.
func (d *driver) run(cs []chunk, size int, rng *rand.Rand) []*findings.Finding {
	for i, c := range cs {
		ts := t0.Add(time.Duration(i) * time.Second)
		if c.gap {
			d.gap(c.toServer, ts)
		}
		b := c.data
		for len(b) > 0 {
			n := len(b)
			if size > 0 {
				n = min(n, size)
				if rng != nil {
					n = min(len(b), 1+rng.Intn(size))
				}
			}
			d.feed(c.toServer, b[:n], ts)
			b = b[n:]
		}
	}
	if !d.done {
		d.h.Close(t0.Add(time.Hour))
	}
	return d.out
}

func TestDetect(t *testing.T) {
	simple := conversation(t, "real-implementations/ldap_simple_bind_success.pcap")
	for _, tc := range []struct {
		toServer bool
		b        []byte
		want     carrier.Verdict
	}{
		{true, simple[0].data, carrier.Yes},  // bindRequest
		{false, simple[1].data, carrier.Yes}, // bindResponse
		{false, simple[0].data, carrier.No},  // a request from the server
		{true, simple[1].data, carrier.No},   // a response from the client
		{true, simple[0].data[:1], carrier.Maybe},
		{true, simple[0].data[:5], carrier.Maybe},
		{true, simple[0].data[:6], carrier.Yes},
		{true, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), carrier.No},                  // LDAPS: TLS ClientHello
		{true, []byte("\x30\x84\x00\x00\x00\x10\x02\x01\x01\x63\x84\x00\x00\x00\x0a"), carrier.Yes}, // Windows 4-octet lengths
		{true, []byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x89\x00"), carrier.Yes},     // Sicily discovery
		{true, []byte("\x30\x05\x02\x01\x01\x30\x00"), carrier.No},                                  // op not APPLICATION
		{true, []byte("\x30\x05\x02\x01\xff\x42\x00"), carrier.No},                                  // negative id
		{true, []byte("\x30\x80\x02\x01\x01\x42\x00"), carrier.No},                                  // indefinite length
		{true, []byte("\x00\x00\x00\x81\x05\x04\x00\xff"), carrier.No},                              // SASL-wrapped mid-stream
		{true, []byte("GET / HTTP/1.1\r\n"), carrier.No},
		{true, []byte("\x30\x05\x02\x01\x01\x7f\x00"), carrier.No}, // high tag number form
	} {
		if got := ldap.Carrier.Detect(tc.toServer, tc.b); got != tc.want {
			t.Errorf("Detect(%v, % x) = %v, want %v", tc.toServer, tc.b, got, tc.want)
		}
	}
	if !slices.Contains(ldap.Carrier.Ports, 389) || !slices.Contains(ldap.Carrier.Ports, 3268) || ldap.Carrier.Protocol != "ldap" {
		t.Errorf("carrier %+v", ldap.Carrier)
	}
}

// TestSegmentation: the findings do not depend on how the bytes are cut.
func TestSegmentation(t *testing.T) {
	for _, rel := range []string{
		"real-implementations/ldap_simple_bind_wrong_pw.pcap",
		"real-implementations/ldap_spnego_ntlm_sealed.pcap",
		"real-implementations/ldap_spnego_ntlm_no_signseal.pcap",
		"real-implementations/ldap_sasl_gssapi_kerberos.pcap",
		"public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap",
		"public/zeek/testing/btest/Traces/ldap/aduser1-ntlm.pcap",
		"public/zeek/testing/btest/Traces/ldap/ldap_invalid_credentials.pcap",
	} {
		t.Run(rel, func(t *testing.T) {
			cs := conversation(t, rel)
			want := newDriver(t, false).run(cs, 0, nil)
			if len(want) == 0 {
				t.Fatal("no findings")
			}
			rng := rand.New(rand.NewSource(1))
			for _, size := range []int{1, 3, 7, 100} {
				got := newDriver(t, false).run(cs, size, rng)
				if dump(got) != dump(want) {
					t.Errorf("pieces of %d:\n%s\nwhole:\n%s", size, dump(got), dump(want))
				}
			}
		})
	}
}

// BER building blocks (X.690 definite lengths).
func tlv(tag byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	b := []byte{tag}
	switch n := len(body); {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, body...)
}

func msg(id byte, op []byte) []byte { return tlv(0x30, tlv(0x02, []byte{id}), op) }

func simpleBind(id byte, name, pw string) []byte {
	return msg(id, tlv(0x60, tlv(0x02, []byte{3}), tlv(0x04, []byte(name)), tlv(0x80, []byte(pw))))
}

func bindResp(id, code byte) []byte {
	return msg(id, tlv(0x61, tlv(0x0a, []byte{code}), tlv(0x04), tlv(0x04)))
}

func search(id byte) []byte {
	return msg(id, tlv(0x63, tlv(0x04, []byte("dc=example,dc=com")), tlv(0x0a, []byte{2})))
}

func searchEntry(id byte, size int) []byte {
	return msg(id, tlv(0x64, tlv(0x04, bytes.Repeat([]byte("a"), size))))
}

func searchDone(id byte) []byte {
	return msg(id, tlv(0x65, tlv(0x0a, []byte{0}), tlv(0x04), tlv(0x04)))
}

func startTLS(id byte) []byte { return msg(id, tlv(0x77, tlv(0x80, []byte(ldap.StartTLSOID)))) }

func startTLSResp(id, code byte) []byte {
	return msg(id, tlv(0x78, tlv(0x0a, []byte{code}), tlv(0x04), tlv(0x04), tlv(0x8a, []byte(ldap.StartTLSOID))))
}

var tlsHello = []byte("\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03")

func cli(b []byte) chunk { return chunk{toServer: true, data: b} }
func srv(b []byte) chunk { return chunk{data: b} }

func TestSimpleBinds(t *testing.T) {
	fs := newDriver(t, false).run([]chunk{
		cli(simpleBind(1, "", "")), srv(bindResp(1, 0)), // anonymous: no attempt
		cli(simpleBind(2, "cn=bob,dc=example,dc=com", "secret")), srv(bindResp(2, 49)),
		cli(search(3)), srv(searchDone(3)),
		cli(simpleBind(4, "cn=carol", "pw")), // never answered
	}, 0, nil)
	if len(fs) != 2 {
		t.Fatalf("%d findings:\n%s", len(fs), dump(fs))
	}
	if f := fs[0]; f.UserName != "cn=bob,dc=example,dc=com" || !f.HasUser || f.Outcome != findings.Failure ||
		f.Reason != "invalidCredentials" || f.LDAP.ResultCode != 49 || !f.LDAP.HasResult || f.LDAP.Bind != "simple" ||
		f.Mechanism != "simple" || !f.Time.Equal(t0.Add(3*time.Second)) || !slices.Equal(f.Flags, []findings.Flag{"ldap_cleartext"}) ||
		f.Client != client || f.Server != server {
		t.Errorf("failed bind:\n%s", dump(fs[:1]))
	}
	if f := fs[1]; f.UserName != "cn=carol" || f.Outcome != findings.Unknown || f.Reason != "" || f.LDAP.HasResult ||
		!f.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("unanswered bind:\n%s", dump(fs[1:]))
	}
	for _, f := range fs {
		if bytes.Contains(f.AppendJSON(nil), []byte("secret")) {
			t.Error("password in the finding")
		}
	}
}

// A re-bind before the last bind was answered (the answer was lost): the
// first attempt's outcome is unknown.
func TestRebindWithoutAnswer(t *testing.T) {
	fs := newDriver(t, false).run([]chunk{
		cli(simpleBind(1, "cn=a", "x")), cli(simpleBind(2, "cn=b", "y")), srv(bindResp(2, 0)),
	}, 0, nil)
	if len(fs) != 2 || fs[0].UserName != "cn=a" || fs[0].Outcome != findings.Unknown || !fs[0].Time.Equal(t0.Add(time.Second)) ||
		fs[1].UserName != "cn=b" || fs[1].Outcome != findings.Success {
		t.Errorf("\n%s", dump(fs))
	}
}

// RFC 4511 4.14: after a successful StartTLS nothing is read; a refused one
// leaves the connection in the clear.
func TestStartTLS(t *testing.T) {
	d := newDriver(t, false)
	fs := d.run([]chunk{
		cli(startTLS(1)), srv(startTLSResp(1, 0)),
		cli(append(slices.Clip(tlsHello), simpleBind(2, "cn=hidden", "pw")...)),
		srv(bindResp(2, 0)),
	}, 0, nil)
	if len(fs) != 0 || !d.conn.IsDone() || !d.done {
		t.Errorf("bind inside TLS reported (done %v):\n%s", d.conn.IsDone(), dump(fs))
	}
	if n := d.h.Feed(true, simpleBind(3, "cn=x", "y"), t0); n != len(simpleBind(3, "cn=x", "y")) {
		t.Errorf("Feed after StartTLS consumed %d", n)
	}

	fs = newDriver(t, false).run([]chunk{
		cli(startTLS(1)), srv(startTLSResp(1, 2)), // protocolError: stays cleartext
		cli(simpleBind(2, "cn=clear", "pw")), srv(bindResp(2, 0)),
	}, 0, nil)
	if len(fs) != 1 || fs[0].UserName != "cn=clear" || fs[0].Outcome != findings.Success || !slices.Contains(fs[0].Flags, "ldap_cleartext") {
		t.Errorf("refused StartTLS:\n%s", dump(fs))
	}

	// The response was lost: the client's TLS handshake says TLS began.
	fs = newDriver(t, false).run([]chunk{
		cli(startTLS(1)), cli(append(slices.Clip(tlsHello), simpleBind(2, "cn=hidden", "pw")...)), srv(bindResp(2, 0)),
	}, 0, nil)
	if len(fs) != 0 {
		t.Errorf("bind after TLS handshake reported:\n%s", dump(fs))
	}

	// A successful SASL bind waiting for the next PDU is emitted when TLS
	// starts, at its own time.
	cs := conversation(t, "public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap")[:4]
	cs = append(cs, cli(startTLS(3)), srv(startTLSResp(3, 0)), cli(tlsHello))
	fs = newDriver(t, false).run(cs, 0, nil)
	if len(fs) != 1 || fs[0].UserName != "sasladmin@slapd.ldap" || fs[0].Outcome != findings.Success ||
		!fs[0].Time.Equal(t0.Add(3*time.Second)) || fs[0].SASLWrapped {
		t.Errorf("held bind at StartTLS:\n%s", dump(fs))
	}
}

func TestSASLLifecycle(t *testing.T) {
	cs := conversation(t, "public/zeek/testing/btest/Traces/ldap/sasl-ntlm.pcap")
	if len(cs) != 16 {
		t.Fatalf("%d segments", len(cs))
	}
	// No PDU after the successful bind: emitted at Close, at the bind
	// response's time, not known to be wrapped.
	fs := newDriver(t, false).run(cs[:4], 0, nil)
	if len(fs) != 1 || fs[0].Outcome != findings.Success || !fs[0].Time.Equal(t0.Add(3*time.Second)) || fs[0].SASLWrapped ||
		fs[0].LDAP.SASLMechanism != "NTLM" || fs[0].LDAP.Bind != "sasl" || fs[0].LDAP.ResultCode != 0 {
		t.Errorf("held until close:\n%s", dump(fs))
	}

	// The answer to AUTHENTICATE is lost; the client binds again: the
	// attempt is reported unknown when the new bind begins.
	lost := slices.Clone(cs[:3])
	lost = append(lost, cli(simpleBind(3, "", "")), srv(bindResp(3, 0)))
	fs = newDriver(t, false).run(lost, 0, nil)
	if len(fs) != 1 || fs[0].UserName != "sasladmin@slapd.ldap" || fs[0].Outcome != findings.Unknown ||
		fs[0].LDAP.HasResult || !fs[0].Time.Equal(t0.Add(3*time.Second)) || fs[0].LDAP.Bind != "sasl" {
		t.Errorf("lost answer:\n%s", dump(fs))
	}

	// Server bytes lost in the middle of the search results: the
	// direction resynchronises and a later bind is seen.
	resync := slices.Clone(cs[:7])
	resync = append(resync, chunk{data: cs[7].data[10:], gap: true})
	resync = append(resync, cs[8:14]...)
	resync = append(resync, cli(simpleBind(5, "cn=after", "pw")), srv(bindResp(5, 0)))
	fs = newDriver(t, false).run(resync, 0, nil)
	if len(fs) != 2 || fs[0].Outcome != findings.Success || fs[1].UserName != "cn=after" || fs[1].Outcome != findings.Success {
		t.Errorf("after gap:\n%s", dump(fs))
	}
}

// Search results are passed over by length, not buffered.
func TestLargeMessagesSkipped(t *testing.T) {
	entry := searchEntry(2, 4<<20)
	var cs []chunk
	cs = append(cs, cli(search(2)))
	for b := entry; len(b) > 0; {
		n := min(len(b), 1460)
		cs = append(cs, srv(b[:n]))
		b = b[n:]
	}
	cs = append(cs, srv(searchDone(2)), cli(simpleBind(3, "cn=late", "pw")), srv(bindResp(3, 0)))
	d := newDriver(t, false)
	fs := d.run(cs, 0, nil)
	if len(fs) != 1 || fs[0].UserName != "cn=late" {
		t.Errorf("\n%s", dump(fs))
	}
	if d.held > 16 || d.bytes > 8<<10 {
		t.Errorf("a 4 MiB entry cost %d bytes buffered, %d bytes fed", d.held, d.bytes)
	}
	// A huge bind is passed over too, not buffered past the limit.
	huge := msg(4, tlv(0x60, tlv(0x02, []byte{3}), tlv(0x04, []byte("cn=big")), tlv(0x80, bytes.Repeat([]byte("p"), 1<<20))))
	d = newDriver(t, false)
	fs = d.run([]chunk{cli(huge), srv(bindResp(4, 0)), cli(simpleBind(5, "cn=next", "pw")), srv(bindResp(5, 0))}, 1460, nil)
	if len(fs) != 1 || fs[0].UserName != "cn=next" || d.held > 16 {
		t.Errorf("huge bind (held %d):\n%s", d.held, dump(fs))
	}
}

// Garbage where a message should start: the direction resynchronises on
// the next LDAPMessage; SASL-wrapped framing is only believed after a bind
// that could have negotiated a security layer.
func TestGarbage(t *testing.T) {
	fs := newDriver(t, false).run([]chunk{
		cli(search(1)),
		cli([]byte("\x00\x00\x00\x08garbage!\x30\x30\x01")),
		cli(simpleBind(2, "cn=x", "y")), srv(bindResp(2, 0)),
	}, 0, nil)
	if len(fs) != 1 || fs[0].UserName != "cn=x" {
		t.Errorf("\n%s", dump(fs))
	}
}

func TestUDP(t *testing.T) {
	d := newDriver(t, true)
	b := simpleBind(1, "cn=x", "y")
	if n := d.h.Feed(true, b, t0); n != len(b) {
		t.Errorf("consumed %d", n)
	}
	d.h.Feed(false, bindResp(1, 0), t0)
	d.h.Close(t0)
	if len(d.out) != 0 || !d.conn.IsDone() {
		t.Errorf("CLDAP:\n%s", dump(d.out))
	}
}

// Messages that carry no authentication cost no allocation: plain ones,
// SASL-wrapped ones, and extended operations other than StartTLS.
func TestNoAllocsOffAuthPath(t *testing.T) {
	d := newDriver(t, false)
	d.run(conversation(t, "real-implementations/ldap_spnego_ntlm_sealed.pcap")[:7], 0, nil)
	h := d.h
	req := search(9)
	resp := slices.Concat(searchEntry(9, 3000), searchDone(9))
	whoami := msg(10, tlv(0x77, tlv(0x80, []byte("1.3.6.1.4.1.4203.1.11.3"))))
	wrapped := append([]byte{0, 0, 0, 40}, bytes.Repeat([]byte{0xaa}, 40)...)
	if n := testing.AllocsPerRun(100, func() {
		h.Feed(true, req, t0)
		h.Feed(false, resp, t0)
		h.Feed(true, whoami, t0)
		h.Feed(true, wrapped, t0)
		h.Feed(false, wrapped, t0)
	}); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}

// On a SASL-wrapped connection framing cannot be regained after a loss:
// the direction is given up, and with both given up the connection is done.
func TestWrappedGaps(t *testing.T) {
	cs := conversation(t, "real-implementations/ldap_spnego_ntlm_sealed.pcap")
	if len(cs) != 12 {
		t.Fatalf("%d segments", len(cs))
	}
	cs[8].gap = true // client, after the first wrapped PDUs
	d := newDriver(t, false)
	fs := d.run(cs[:10], 0, nil)
	if len(fs) != 1 || !fs[0].SASLWrapped || d.conn.IsDone() {
		t.Fatalf("one direction lost (done %v):\n%s", d.conn.IsDone(), dump(fs))
	}
	cs[9].gap = true // server too
	d = newDriver(t, false)
	fs = d.run(cs, 0, nil)
	if len(fs) != 1 || !fs[0].SASLWrapped || !d.conn.IsDone() {
		t.Errorf("both directions lost (done %v):\n%s", d.conn.IsDone(), dump(fs))
	}
}
