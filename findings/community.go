package findings

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// CommunityID is the Community ID v1 flow hash (seed 0) of a TCP or UDP
// connection: "1:" + base64(sha1(seed, ordered endpoints, proto, ports)).
func CommunityID(a, b netip.AddrPort, udp bool) string {
	proto := byte(6)
	if udp {
		proto = 17
	}
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	// the smaller endpoint goes first, so both directions hash alike
	if c := aa.Compare(ba); c > 0 || (c == 0 && a.Port() > b.Port()) {
		a, b, aa, ba = b, a, ba, aa
	}
	buf := make([]byte, 0, 2+16+16+2+4)
	buf = append(buf, 0, 0) // seed
	buf = append(buf, aa.AsSlice()...)
	buf = append(buf, ba.AsSlice()...)
	buf = append(buf, proto, 0)
	buf = binary.BigEndian.AppendUint16(buf, a.Port())
	buf = binary.BigEndian.AppendUint16(buf, b.Port())
	sum := sha1.Sum(buf)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}
