// Package carrier is the seam between the sensor and the protocols that
// carry authentication: a Carrier registers a protocol (ports, Detect, New),
// its Handler is fed one connection's reassembled bytes, and an Exchange
// follows the SPNEGO / NTLMSSP / Kerberos tokens of one attempt until it
// becomes a findings.Finding, emitted through Conn.
package carrier

import (
	"net/netip"
	"time"

	"ntlmsensor/findings"
)

// Conn is what a carrier knows of its connection, and where its findings go.
type Conn struct {
	Client, Server netip.AddrPort
	UDP            bool
	protocol       findings.Protocol
	emit           func(*findings.Finding)
	observer       string
	communityID    string
	done           bool
	clientAt       time.Time // when the client last sent bytes
	file           string    // the capture file of the last bytes fed
	closing        bool
}

// Fed is told by the sensor when bytes of one direction reach the
// handler, before Feed; file is the capture file they were read from
// ("" live): a finding names the file of its last packet.
func (c *Conn) Fed(toServer bool, ts time.Time, file string) {
	if c.closing {
		return
	}
	c.file = file
	if toServer {
		c.clientAt = ts
	}
}

// Closing is told by the sensor before it closes the handler (end of
// input, idle timeout, eviction, trace break). An attempt the handler
// then emits with outcome unknown is stamped with the time the client
// last sent bytes — its AUTHENTICATE or AP-REQ, still waiting for an
// answer — not with the time of the close, which after an idle timeout or
// at the end of a trace says nothing of the logon.
func (c *Conn) Closing() { c.closing = true }

// Done says the handler has nothing more to learn from this connection
// (TLS begins, or the stream is not worth scanning further): the sensor
// closes the handler at once and passes the rest of the flow over unseen.
func (c *Conn) Done() { c.done = true }

// IsDone reports whether the handler called Done.
func (c *Conn) IsDone() bool { return c.done }

// NewConn makes the connection context handed to a carrier of protocol.
func NewConn(client, server netip.AddrPort, udp bool, protocol findings.Protocol, observer string, emit func(*findings.Finding)) *Conn {
	return &Conn{Client: client, Server: server, UDP: udp, protocol: protocol, observer: observer, emit: emit}
}

// Emit completes a finding with the connection's facts, raises its flags and
// hands it to the sinks. network.protocol is the carrier's, unless the
// finding names its own (DCE/RPC inside an SMB named pipe).
func (c *Conn) Emit(f *findings.Finding, ts time.Time) {
	if c.closing && f.Outcome == findings.Unknown && !c.clientAt.IsZero() && c.clientAt.Before(ts) {
		// no answer came: the attempt is as old as the client's last bytes
		// (a held answer keeps its own time)
		ts = c.clientAt
	}
	f.Time = ts
	f.File = c.file
	f.Client, f.Server = c.Client, c.Server
	f.Transport = "tcp"
	if c.UDP {
		f.Transport = "udp"
	}
	if f.Protocol == "" {
		f.Protocol = c.protocol
	}
	if c.communityID == "" {
		c.communityID = findings.CommunityID(c.Client, c.Server, c.UDP)
	}
	f.CommunityID = c.communityID
	f.Observer = c.observer
	f.Evaluate()
	if c.emit != nil {
		c.emit(f)
	}
}

// Side numbers the two directions of a connection, for handlers that keep
// per-direction state in a [2] array: 0 for the client's bytes, 1 for the
// server's.
func Side(toServer bool) int {
	if toServer {
		return 0
	}
	return 1
}

// Handler consumes the reassembled bytes of one connection. One handler
// serves one connection and is driven by one goroutine.
type Handler interface {
	// Feed is given the next in-order bytes of one direction. It returns how
	// many it consumed; the rest is presented again with more data. A result
	// larger than len(b) asks the stream to skip that many bytes in all, the
	// excess unseen: bulk payloads are passed over without being copied.
	Feed(toServer bool, b []byte, ts time.Time) int
	// Gap says bytes were lost in one direction before the next Feed; the
	// handler resynchronises or gives up on that direction.
	Gap(toServer bool, ts time.Time)
	// Close ends the connection: attempts still waiting for an outcome are
	// emitted with outcome unknown.
	Close(ts time.Time)
}

// Verdict is a carrier's answer to "is this stream yours?".
type Verdict uint8

const (
	No    Verdict = iota
	Maybe         // not enough bytes yet to say
	Yes
)

// Carrier is the registration of one protocol that carries authentication.
type Carrier struct {
	// Protocol is network.protocol of the carrier's findings.
	Protocol findings.Protocol
	// Ports the protocol is usually served on: a hint for telling client
	// from server in captures that begin mid-connection, not a filter.
	Ports []uint16
	// UDP: the carrier also reads UDP datagrams; the others are asked
	// about TCP streams only.
	UDP bool
	// Detect looks at the first bytes the client (toServer) or the server
	// sent and says whether the stream is this protocol.
	Detect func(toServer bool, first []byte) Verdict
	// New makes the handler for one connection.
	New func(c *Conn) Handler
}
