package sensor

import (
	"ntlmsensor/decoders/dcerpc"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/kdc"
	"ntlmsensor/decoders/ldap"
	"ntlmsensor/decoders/ntlmscan"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/decoders/tds"
	"ntlmsensor/sensor/auth"
)

// Carriers are the protocols the sensor follows, in the order they are
// asked to recognise a new connection. A new carrier is one line here.
func Carriers() []*auth.Carrier {
	return []*auth.Carrier{
		smb.Carrier,
		http.Carrier,
		ldap.Carrier,
		kdc.Carrier,
		dcerpc.Carrier,
		tds.Carrier,
		ntlmscan.Carrier, // last: whatever no decoder claimed
	}
}
