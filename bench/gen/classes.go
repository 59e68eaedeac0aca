package gen

import (
	"math/rand/v2"
)

// class is one kind of traffic. Connections arrive at perGiB per GiB the
// link carries at Config.LinkRate (Poisson arrivals in capture time). The
// numbers give about 100 000 connections per GiB (a 10 GiB capture holds
// about a million) and about these shares of the bytes: SMB2 file I/O
// 35 %, TLS 30 %, HTTP 13 %, SSH and databases 10 %, QUIC 6 %; DNS, NTP,
// syslog, ARP and refused connections are many but small.
type class struct {
	name   string
	perGiB float64
	bulk   bool // flows last long: some are under way when the capture begins
	spawn  func(g *Gen, r *rand.Rand, t int64, st *classStats) source
}

var classes = []*class{
	{"smb2-file-io", 42, true, spawnSMB},
	{"http-download", 35, true, spawnHTTP},
	{"http-short", 18500, false, spawnHTTPShort},
	{"tls-bulk", 68, true, spawnTLSBulk},
	{"tls-short", 27600, false, spawnTLSShort},
	{"ssh", 25, true, spawnSSH},
	{"postgres", 11500, false, spawnPG},
	{"redis", 9200, false, spawnRedis},
	{"quic", 77, true, spawnQUIC},
	{"dns", 115000, false, spawnDNS},
	{"ntp", 4600, false, spawnNTP},
	{"syslog", 4600, false, spawnSyslog},
	{"refused", 13800, false, spawnRefused},
	{"arp", 7000, false, spawnARP},
}

func newTCP(g *Gen, r *rand.Rand, t int64, st *classStats, cli host, cport uint16, srv host, sport uint16) *tcpConn {
	c := &tcpConn{at: t, stats: st}
	c.init(g, r, cli, srv, cport, sport, nil)
	return c
}

func spawnSMB(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	v6 := g.v6(r, 10)
	cli, cport := g.client(r, v6)
	c := newTCP(g, r, t, st, cli, cport, lan(0, byte(10+r.IntN(20)), v6), 445)
	c.ts = false // Windows
	c.mss = 1460
	if v6 {
		c.mss = 1440
	}
	c.rtt = lanRTT(r)
	c.nsPerB = lanRate(r)
	scr := newSMBScript(c, int64(r.ExpFloat64()*float64(16<<20))+256<<10)
	if g.mix != nil && g.mix.SMBSec && !scr.signed && !scr.encrypted {
		if r.IntN(4) == 0 {
			scr.encrypted = true
		} else {
			scr.signed = true
		}
	}
	c.scr = scr
	// a long-lived session: the capture begins after its logon, between
	// two messages or (one in five) in the middle of one
	c.state = stData
	c.ready = t
	if r.IntN(5) == 0 {
		c.hidden = 1 + r.IntN(40)
	}
	c.end = ends(r, 75, 5)
	return c
}

func spawnHTTP(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	v6 := g.v6(r, 8)
	cli, cport := g.client(r, v6)
	srv, port, rtt, pace := internetHost(r, v6), uint16(80), wanRTT(r), wanRate(r)
	if r.IntN(3) == 0 {
		srv, port, rtt, pace = lan(2, byte(1+r.IntN(60)), v6), 8080, lanRTT(r), lanRate(r)
	}
	c := newTCP(g, r, t, st, cli, cport, srv, port)
	c.rtt = rtt
	c.nsPerB = pace
	c.scr = &httpScript{host: hostName(r, srv), reqs: 1 + r.IntN(3), rtt: rtt, agent: userAgents[r.IntN(len(userAgents))],
		size: func(r *rand.Rand) int64 { return logUniform(r, 16<<10, 32<<20) }}
	c.end = ends(r, 90, 10)
	return c
}

func spawnHTTPShort(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	v6 := g.v6(r, 8)
	cli, cport := g.client(r, v6)
	srv := lan(2, byte(1+r.IntN(60)), v6)
	c := newTCP(g, r, t, st, cli, cport, srv, 8080)
	c.rtt = lanRTT(r)
	c.nsPerB = lanRate(r)
	s := &httpScript{host: hostName(r, srv), reqs: 1, rtt: c.rtt, agent: userAgents[r.IntN(len(userAgents))],
		size: func(r *rand.Rand) int64 { return logUniform(r, 200, g.mix.shortMax(16<<10)) }}
	s.probe = r.IntN(2) == 0
	c.scr = s
	c.end = ends(r, 95, 5)
	return c
}

func hostName(r *rand.Rand, h host) string {
	if h.ip.IsPrivate() {
		return []string{"intranet.corp.example.com", "wiki.corp.example.com", "jenkins.corp.example.com:8080", h.ip.String() + ":8080"}[r.IntN(4)]
	}
	return []string{"deb.debian.org", "download.windowsupdate.com", "ctldl.windowsupdate.com", "cdn.example.net", "images.example.org"}[r.IntN(5)]
}

var snis = []string{"www.google.com", "outlook.office365.com", "login.microsoftonline.com", "teams.microsoft.com",
	"github.com", "api.github.com", "slack.com", "zoom.us", "s3.amazonaws.com", "www.youtube.com", "update.googleapis.com"}

func spawnTLSBulk(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	return spawnTLS(g, r, t, st, 1+r.IntN(2), func(r *rand.Rand) int64 { return logUniform(r, 64<<10, 16<<20) })
}

func spawnTLSShort(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	return spawnTLS(g, r, t, st, 1, func(r *rand.Rand) int64 { return logUniform(r, 500, 32<<10) })
}

func spawnTLS(g *Gen, r *rand.Rand, t int64, st *classStats, n int, size func(*rand.Rand) int64) source {
	v6 := g.v6(r, 5)
	cli, cport := g.client(r, v6)
	c := newTCP(g, r, t, st, cli, cport, internetHost(r, v6), 443)
	c.rtt = wanRTT(r)
	c.nsPerB = wanRate(r)
	c.scr = &tlsScript{sni: snis[r.IntN(len(snis))], exchanges: n, size: size, rtt: c.rtt}
	c.end = ends(r, 85, 10)
	return c
}

func spawnSSH(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	cli, cport := g.client(r, false)
	c := newTCP(g, r, t, st, cli, cport, lan(4, byte(1+r.IntN(30)), false), 22)
	c.rtt = lanRTT(r)
	c.nsPerB = lanRate(r)
	c.scr = &sshScript{bulk: logUniform(r, 256<<10, 16<<20), rtt: c.rtt}
	c.end = ends(r, 95, 5)
	return c
}

func spawnPG(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	cli, cport := g.client(r, false)
	c := newTCP(g, r, t, st, cli, cport, lan(5, byte(1+r.IntN(10)), false), 5432)
	c.rtt = lanRTT(r)
	c.nsPerB = lanRate(r)
	c.scr = &pgScript{queries: 1 + r.IntN(8), rtt: c.rtt}
	c.end = ends(r, 90, 5)
	return c
}

func spawnRedis(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	cli, cport := g.client(r, false)
	c := newTCP(g, r, t, st, cli, cport, lan(6, byte(1+r.IntN(6)), false), 6379)
	c.rtt = lanRTT(r)
	c.nsPerB = lanRate(r)
	c.scr = &redisScript{cmds: 1 + r.IntN(6), rtt: c.rtt}
	c.end = ends(r, 95, 5)
	return c
}

func spawnRefused(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	cli, cport := g.client(r, false)
	ports := []uint16{23, 135, 139, 3389, 5985, 8443, 9100, 1433, 3306, 21}
	c := newTCP(g, r, t, st, cli, cport, lan(byte(r.IntN(8)), byte(1+r.IntN(254)), false), ports[r.IntN(len(ports))])
	c.rtt = lanRTT(r)
	c.end = endRefused
	if r.IntN(3) == 0 {
		c.end = endSilent
	}
	return c
}

func spawnQUIC(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	v6 := g.v6(r, 4)
	cli, cport := g.client(r, v6)
	c := &udpConn{at: t, stats: st}
	s := &quicScript{left: logUniform(r, 64<<10, 8<<20), nsPerB: wanRate(r), rtt: wanRTT(r)}
	for i := range s.dcid {
		s.dcid[i] = byte(r.Uint32())
	}
	c.init(r, cli, internetHost(r, v6), cport, 443, s)
	return primed(c)
}

func spawnDNS(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	v6 := g.v6(r, 8)
	cli, cport := g.client(r, v6)
	c := &udpConn{at: t, stats: st}
	s := &dnsScript{name: dnsNames[r.IntN(len(dnsNames))], qtype: 1, id: uint16(r.Uint32()), rtt: us(r, 100, 2000)}
	switch {
	case s.name[0] == '_':
		s.qtype = 33
	case r.IntN(3) == 0:
		s.qtype = 28
	}
	c.init(r, cli, lan(0, byte(2+r.IntN(2)), v6), cport, 53, s)
	return primed(c)
}

func spawnNTP(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	cli, cport := g.client(r, false)
	c := &udpConn{at: t, stats: st}
	c.init(r, cli, lan(0, 4, false), cport, 123, &ntpScript{})
	return primed(c)
}

func spawnSyslog(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	n := byte(1 + r.IntN(60))
	c := &udpConn{at: t, stats: st}
	c.init(r, lan(2, n, false), lan(0, 50, false), uint16(32768+r.IntN(28000)), 514, &syslogScript{n: 1 + r.IntN(10), host: "web" + string(rune('0'+n%10))})
	return primed(c)
}

func spawnARP(g *Gen, r *rand.Rand, t int64, st *classStats) source {
	who, _ := g.client(r, false)
	target, _ := g.client(r, false)
	return &arp{at: t, who: who, target: target, answer: r.IntN(5) != 0, stats: st}
}

// primed fetches a UDP conversation's first datagram, so that its time is
// known before it is scheduled.
func primed(c *udpConn) source {
	m, ok := c.scr.next(c)
	if !ok {
		return nil
	}
	c.m, c.have = m, true
	c.at += m.think
	return c
}
