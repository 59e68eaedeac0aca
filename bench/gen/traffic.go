package gen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// filler is the pool bulk payload is cut from: pseudo-random bytes (as
// compressed or encrypted content looks), the same for every seed, with no
// NTLMSSP signature in it, raw or base64.
var filler = func() []byte {
	const size = 4 << 20
	r := rand.New(rand.NewPCG(0x6e746c6d, 0x73656e73))
	b := make([]byte, size)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for _, sig := range [][]byte{[]byte("NTLMSSP"), []byte("TlRMTVNT")} {
		for i := bytes.Index(b, sig); i >= 0; i = bytes.Index(b, sig) {
			b[i] ^= 0x20
		}
	}
	return b
}()

// logUniform draws from [lo, hi] with a uniform logarithm: many small,
// some large, as file and object sizes are.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return int64(math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

// us is a delay between lo and hi microseconds (log-uniform), in ns.
func us(r *rand.Rand, lo, hi float64) int64 {
	return int64(math.Exp(math.Log(lo)+r.Float64()*(math.Log(hi)-math.Log(lo))) * 1e3)
}

func body(r *rand.Rand, fromClient bool, head string, n int, think int64, cont bool) message {
	return message{fromClient: fromClient, head: []byte(head), bodyLen: n, bodyOff: r.IntN(len(filler)), think: think, cont: cont}
}

// httpScript is an HTTP/1.1 connection: one or more GETs, answered with
// Content-Length or chunked bodies, 304s and 404s.
type httpScript struct {
	queue
	host    string
	reqs    int
	size    func(r *rand.Rand) int64
	rtt     int64
	probe   bool // a health check: Connection: close, tiny body
	agent   string
	written bool
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Microsoft-CryptoAPI/10.0", "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.71",
	"curl/7.88.1", "Debian APT-HTTP/1.3 (2.6.1)", "python-requests/2.31.0", "Go-http-client/1.1",
}

var paths = []string{
	"/static/js/app.%x.js", "/images/banner-%x.jpg", "/downloads/setup-%x.exe", "/api/v2/items/%x",
	"/debian/pool/main/l/linux/linux-image-6.1.0-%x-amd64.deb", "/msdownload/update/v3/static/trustedr/en/%x.cab",
	"/video/segment-%x.m4s", "/reports/2026/%x.pdf",
}

func (s *httpScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		if s.reqs == 0 {
			return message{}, false
		}
		s.reqs--
		s.request(c)
	}
	return s.pop()
}

func (s *httpScript) request(c *tcpConn) {
	r := c.rng
	conn := "keep-alive"
	if s.reqs == 0 {
		conn = "close"
	}
	if s.probe {
		s.push(body(r, true, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\nConnection: close\r\n\r\n", s.host), 0, us(r, 50, 500), false))
		s.push(body(r, false, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", 0, us(r, 100, 3000), false))
		return
	}
	path := fmt.Sprintf(paths[r.IntN(len(paths))], r.Uint32())
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: %s\r\n\r\n", path, s.host, s.agent, conn)
	think := us(r, 100, 20000)
	if !s.written {
		think = us(r, 10, 200)
		s.written = true
	}
	s.push(body(r, true, req, 0, think, false))
	lat := s.rtt + us(r, 100, 30000)
	date := "Date: Mon, 12 Jan 2026 09:00:00 GMT\r\nServer: nginx/1.22.1\r\n"
	switch x := r.IntN(20); {
	case x == 0:
		s.push(body(r, false, "HTTP/1.1 304 Not Modified\r\n"+date+"ETag: \"5f3a-61b2\"\r\nConnection: "+conn+"\r\n\r\n", 0, lat, false))
	case x == 1:
		page := "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\r\n"
		s.push(body(r, false, fmt.Sprintf("HTTP/1.1 404 Not Found\r\n%sContent-Type: text/html\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n%s", date, len(page), conn, page), 0, lat, false))
	case x < 6:
		// chunked [RFC 9112 7.1]
		n := s.size(r)
		s.push(body(r, false, "HTTP/1.1 200 OK\r\n"+date+"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: "+conn+"\r\n\r\n", 0, lat, false))
		for n > 0 {
			k := min(n, int64(1024+r.IntN(31*1024)))
			m := body(r, false, fmt.Sprintf("%x\r\n", k), int(k), 0, true)
			m.tail = []byte("\r\n")
			s.push(m)
			n -= k
		}
		s.push(body(r, false, "0\r\n\r\n", 0, 0, true))
	default:
		n := s.size(r)
		s.push(body(r, false, fmt.Sprintf("HTTP/1.1 200 OK\r\n%sContent-Type: application/octet-stream\r\nContent-Length: %d\r\nLast-Modified: Sat, 10 Jan 2026 17:12:03 GMT\r\nETag: \"%x\"\r\nAccept-Ranges: bytes\r\nConnection: %s\r\n\r\n", date, n, r.Uint64(), conn), int(n), lat, false))
	}
}

// tlsScript is a TLS 1.3 connection as it looks on the wire: ClientHello
// with SNI, ServerHello, then application data records both ways.
type tlsScript struct {
	queue
	sni       string
	exchanges int
	size      func(r *rand.Rand) int64
	rtt       int64
	stage     int
}

func (s *tlsScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		r := c.rng
		switch {
		case s.stage == 0:
			s.push(message{fromClient: true, head: clientHello(r, s.sni), think: us(r, 10, 200)})
			s.push(message{fromClient: false, head: serverHello(r), think: s.rtt + us(r, 100, 2000)})
			s.records(r, false, int64(2000+r.IntN(3000)), 0, true)
			s.push(message{fromClient: true, head: []byte{0x14, 3, 3, 0, 1, 1}, think: s.rtt / 2})
			s.records(r, true, 53, 0, true)
		case s.exchanges > 0:
			s.exchanges--
			s.records(r, true, int64(200+r.IntN(1800)), us(r, 50, 5000), false)
			s.records(r, false, s.size(r), s.rtt+us(r, 100, 20000), false)
		default:
			return message{}, false
		}
		s.stage++
	}
	return s.pop()
}

// records queues n bytes of application data in records of at most 16 KiB
// of plaintext (+17 bytes of AEAD tag and content type) [RFC 8446 5.2].
func (s *tlsScript) records(r *rand.Rand, fromClient bool, n int64, think int64, cont bool) {
	for first := true; n > 0; first = false {
		k := min(n, 16384)
		l := int(k) + 17
		m := message{fromClient: fromClient, head: []byte{0x17, 3, 3, byte(l >> 8), byte(l)}, bodyLen: l, bodyOff: r.IntN(len(filler)), cont: cont || !first}
		if first {
			m.think = think
		}
		s.push(m)
		n -= k
	}
}

func clientHello(r *rand.Rand, sni string) []byte {
	var ext []byte
	u16 := func(b []byte, v int) []byte { return append(b, byte(v>>8), byte(v)) }
	// server_name [RFC 6066 3]
	ext = u16(ext, 0)
	ext = u16(ext, len(sni)+5)
	ext = u16(ext, len(sni)+3)
	ext = append(ext, 0)
	ext = u16(ext, len(sni))
	ext = append(ext, sni...)
	// supported_groups, ec_point_formats, signature_algorithms, ALPN, supported_versions, key_share
	ext = append(ext, 0, 10, 0, 8, 0, 6, 0, 0x1d, 0, 0x17, 0, 0x18)
	ext = append(ext, 0, 13, 0, 8, 0, 6, 4, 3, 8, 4, 4, 1)
	ext = append(ext, 0, 16, 0, 14, 0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1')
	ext = append(ext, 0, 43, 0, 5, 4, 3, 4, 3, 3)
	ext = append(ext, 0, 51, 0, 38, 0, 36, 0, 0x1d, 0, 32)
	for i := 0; i < 32; i++ {
		ext = append(ext, byte(r.Uint32()))
	}
	var h []byte
	h = append(h, 3, 3)
	for i := 0; i < 32; i++ {
		h = append(h, byte(r.Uint32()))
	}
	h = append(h, 32)
	for i := 0; i < 32; i++ {
		h = append(h, byte(r.Uint32()))
	}
	h = append(h, 0, 8, 0x13, 1, 0x13, 2, 0x13, 3, 0xc0, 0x2f)
	h = append(h, 1, 0)
	h = u16(h, len(ext))
	h = append(h, ext...)
	hs := append([]byte{1, 0, byte(len(h) >> 8), byte(len(h))}, h...)
	return append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

func serverHello(r *rand.Rand) []byte {
	h := []byte{3, 3}
	for i := 0; i < 32; i++ {
		h = append(h, byte(r.Uint32()))
	}
	h = append(h, 32)
	for i := 0; i < 32; i++ {
		h = append(h, byte(r.Uint32()))
	}
	h = append(h, 0x13, 1, 0)
	ext := []byte{0, 43, 0, 2, 3, 4, 0, 51, 0, 36, 0, 0x1d, 0, 32}
	for i := 0; i < 32; i++ {
		ext = append(ext, byte(r.Uint32()))
	}
	h = append(h, byte(len(ext)>>8), byte(len(ext)))
	h = append(h, ext...)
	hs := append([]byte{2, 0, byte(len(h) >> 8), byte(len(h))}, h...)
	rec := append([]byte{0x16, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	return append(rec, 0x14, 3, 3, 0, 1, 1) // change_cipher_spec for middleboxes
}

// sshScript is an SSH connection: banners, key exchange, then encrypted
// packets, interactive or a bulk copy (scp, rsync, git).
type sshScript struct {
	queue
	stage int
	bulk  int64
	rtt   int64
}

func (s *sshScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		r := c.rng
		switch s.stage {
		case 0:
			s.push(body(r, true, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 0, us(r, 10, 200), false))
			s.push(body(r, false, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 0, s.rtt, false))
			s.push(sshPacket(r, true, 1500, s.rtt/2, false))
			s.push(sshPacket(r, false, 1100, s.rtt/2, false))
			s.push(sshPacket(r, true, 44, s.rtt/2, false))
			s.push(sshPacket(r, false, 1000, s.rtt+us(r, 200, 2000), false))
		case 1:
			for i := 0; i < 4+r.IntN(8); i++ { // authentication, channel setup
				s.push(sshPacket(r, i%2 == 0, 36+r.IntN(600), s.rtt/2+us(r, 50, 2000), false))
			}
		case 2:
			for n := s.bulk; n > 0; n -= 32768 {
				s.push(sshPacket(r, false, int(min(n, 32768)), 0, n != s.bulk))
			}
		default:
			return message{}, false
		}
		s.stage++
	}
	return s.pop()
}

func sshPacket(r *rand.Rand, fromClient bool, n int, think int64, cont bool) message {
	h := make([]byte, 4)
	binary.BigEndian.PutUint32(h, uint32(n))
	return message{fromClient: fromClient, head: h, bodyLen: n + 16, bodyOff: r.IntN(len(filler)), think: think, cont: cont}
}

// pgScript is a PostgreSQL session: startup, then simple queries with
// result rows [PostgreSQL protocol 3.0].
type pgScript struct {
	queue
	queries int
	stage   int
	rtt     int64
}

func (s *pgScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		r := c.rng
		switch {
		case s.stage == 0:
			p := []byte("\x00\x00\x00\x00\x00\x03\x00\x00user\x00app\x00database\x00orders\x00application_name\x00api\x00\x00")
			binary.BigEndian.PutUint32(p, uint32(len(p)))
			s.push(message{fromClient: true, head: p, think: us(r, 10, 200)})
			s.push(body(r, false, "R\x00\x00\x00\x08\x00\x00\x00\x00S\x00\x00\x00\x19server_version\x0015.10\x00Z\x00\x00\x00\x05I", 0, s.rtt+us(r, 100, 2000), false))
		case s.queries > 0:
			s.queries--
			q := fmt.Sprintf("SELECT id, customer_id, total, status FROM orders WHERE customer_id = %d ORDER BY created_at DESC LIMIT 50\x00", r.IntN(1000000))
			h := append([]byte{'Q', 0, 0, 0, 0}, q...)
			binary.BigEndian.PutUint32(h[1:], uint32(len(h)-1))
			s.push(message{fromClient: true, head: h, think: us(r, 100, 50000)})
			n := int(logUniform(r, 100, 8<<10))
			rows := []byte{'T', 0, 0, 0, 6, 0, 0, 'D', 0, 0, 0, 0}
			binary.BigEndian.PutUint32(rows[8:], uint32(n+4))
			m := message{fromClient: false, head: rows, bodyLen: n, bodyOff: r.IntN(len(filler)), think: s.rtt + us(r, 50, 5000)}
			m.tail = []byte("C\x00\x00\x00\x0dSELECT 50\x00Z\x00\x00\x00\x05I")
			s.push(m)
		default:
			return message{}, false
		}
		s.stage++
	}
	return s.pop()
}

// redisScript is a few RESP commands and replies.
type redisScript struct {
	queue
	cmds int
	rtt  int64
}

func (s *redisScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		if s.cmds == 0 {
			return message{}, false
		}
		s.cmds--
		r := c.rng
		key := fmt.Sprintf("session:%016x", r.Uint64())
		s.push(body(r, true, fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key), 0, us(r, 20, 2000), false))
		n := int(logUniform(r, 16, 4096))
		m := body(r, false, fmt.Sprintf("$%d\r\n", n), n, s.rtt+us(r, 20, 300), false)
		m.tail = []byte("\r\n")
		s.push(m)
	}
	return s.pop()
}

// DNS [RFC 1035 4.1].
var dnsNames = []string{
	"fs01.corp.example.com", "fs02.corp.example.com", "dc1.corp.example.com", "_ldap._tcp.dc._msdcs.corp.example.com",
	"_kerberos._tcp.corp.example.com", "wpad.corp.example.com", "intranet.corp.example.com", "mail.corp.example.com",
	"www.google.com", "outlook.office365.com", "login.microsoftonline.com", "settings-win.data.microsoft.com",
	"ctldl.windowsupdate.com", "deb.debian.org", "github.com", "api.github.com", "slack.com", "zoom.us",
	"cdn.jsdelivr.net", "fonts.gstatic.com", "s3.amazonaws.com", "teams.microsoft.com", "time.windows.com",
}

type dnsScript struct {
	stage int
	name  string
	qtype uint16
	id    uint16
	rtt   int64
}

func (s *dnsScript) next(c *udpConn) (message, bool) {
	r := c.rng
	switch s.stage {
	case 0:
		s.stage++
		return message{fromClient: true, head: s.packet(r, false)}, true
	case 1:
		s.stage++
		return message{fromClient: false, head: s.packet(r, true), think: s.rtt + us(r, 30, 20000)}, true
	}
	return message{}, false
}

func (s *dnsScript) packet(r *rand.Rand, resp bool) []byte {
	b := make([]byte, 12, 512)
	binary.BigEndian.PutUint16(b[0:], s.id)
	flags := uint16(0x0100)
	nx := strings.HasPrefix(s.name, "wpad")
	an := 0
	if resp {
		flags = 0x8180
		if nx {
			flags = 0x8183
		} else {
			an = 1 + r.IntN(3)
		}
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	for _, l := range strings.Split(s.name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	b = append(b, 0, byte(s.qtype>>8), byte(s.qtype), 0, 1)
	for i := 0; i < an; i++ {
		b = append(b, 0xc0, 12, byte(s.qtype>>8), byte(s.qtype), 0, 1, 0, 0, 1, 0x2c)
		switch s.qtype {
		case 28:
			b = append(b, 0, 16, 0x26, 0x06, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x12, byte(r.Uint32()), byte(r.Uint32()))
		case 33:
			b = append(b, 0, 8, 0, 0, 0, 100, 1, 0x85, 0xc0, 12)
		default:
			b = append(b, 0, 4, 10, 0, byte(r.IntN(8)), byte(r.Uint32()))
		}
	}
	return b
}

// ntpScript is one client request and the server's reply [RFC 5905 7.3].
type ntpScript struct{ stage int }

func (s *ntpScript) next(c *udpConn) (message, bool) {
	if s.stage == 2 {
		return message{}, false
	}
	s.stage++
	b := make([]byte, 48)
	b[0] = 0x23
	if s.stage == 2 {
		b[0], b[1] = 0x24, 2
	}
	for i := 24; i < 48; i++ {
		b[i] = byte(c.rng.Uint32())
	}
	think := int64(0)
	if s.stage == 2 {
		think = us(c.rng, 200, 5000)
	}
	return message{fromClient: s.stage == 1, head: b, think: think}, true
}

// syslogScript sends a few log lines to a collector [RFC 5424].
type syslogScript struct {
	n    int
	host string
}

var syslogLines = []string{
	`nginx 811 - - 10.1.%d.%d - - "GET /api/v2/items/%x HTTP/1.1" 200 5123 "-" "okhttp/4.12.0"`,
	`sshd 2291 - - Accepted publickey for deploy from 10.1.%d.%d port %d ssh2: ED25519 SHA256:%x`,
	`kernel - - - [UFW BLOCK] IN=eth0 OUT= SRC=10.1.%d.%d DST=10.0.2.7 PROTO=TCP SPT=%d DPT=23 SYN`,
	`CRON 4410 - - (root) CMD (/usr/local/bin/backup --incremental %x)`,
}

func (s *syslogScript) next(c *udpConn) (message, bool) {
	if s.n == 0 {
		return message{}, false
	}
	s.n--
	r := c.rng
	line := fmt.Sprintf(syslogLines[r.IntN(len(syslogLines))], r.IntN(16), r.IntN(256), r.IntN(65536), r.Uint32())
	msg := fmt.Sprintf("<134>1 2026-01-12T09:00:%02d.%06dZ %s %s", r.IntN(60), r.IntN(1000000), s.host, line)
	return message{fromClient: true, head: []byte(msg), think: us(r, 1000, 400000)}, true
}

// quicScript is an HTTP/3 download as QUIC shows it: long-header Initial
// and Handshake packets, then short-header packets, the client
// acknowledging every few [RFC 9000 17].
type quicScript struct {
	stage  int
	left   int64
	dcid   [8]byte
	nsPerB float64
	rtt    int64
	since  int
}

func (s *quicScript) next(c *udpConn) (message, bool) {
	r := c.rng
	long := func(fromClient bool, typ byte, n int, think int64) message {
		h := []byte{0xc0 | typ<<4 | 3, 0, 0, 0, 1, 8}
		h = append(h, s.dcid[:]...)
		h = append(h, 0)
		return message{fromClient: fromClient, head: h, bodyLen: n - len(h), bodyOff: r.IntN(len(filler)), think: think}
	}
	switch {
	case s.stage == 0:
		s.stage++
		return long(true, 0, 1252, 0), true
	case s.stage < 4:
		s.stage++
		return long(false, 2, 1252, s.rtt/2+us(r, 50, 500)), true
	case s.stage == 4:
		s.stage++
		return long(true, 2, 120, s.rtt/2), true
	case s.left > 0:
		if s.since >= 2+r.IntN(8) {
			s.since = 0
			h := append([]byte{0x40 | byte(r.IntN(32))}, s.dcid[:]...)
			return message{fromClient: true, head: h, bodyLen: 30, bodyOff: r.IntN(len(filler)), think: us(r, 5, 50)}, true
		}
		s.since++
		n := int(min(s.left, 1252))
		s.left -= int64(n)
		h := append([]byte{0x40 | byte(r.IntN(32))}, s.dcid[:]...)
		return message{fromClient: false, head: h, bodyLen: n - len(h), bodyOff: r.IntN(len(filler)), think: int64(float64(n+42) * s.nsPerB)}, true
	}
	return message{}, false
}
