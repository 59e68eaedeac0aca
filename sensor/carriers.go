package sensor

import (
	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/dcerpc"
	"ntlmsensor/decoders/http"
	"ntlmsensor/decoders/imap"
	"ntlmsensor/decoders/kdc"
	"ntlmsensor/decoders/ldap"
	"ntlmsensor/decoders/nns"
	"ntlmsensor/decoders/ntlmscan"
	"ntlmsensor/decoders/pop3"
	"ntlmsensor/decoders/smb"
	"ntlmsensor/decoders/smtp"
	"ntlmsensor/decoders/tds"
)

// Carriers are the protocols the sensor follows, in the order they are
// asked to recognise a new connection: the first to say yes takes it,
// unless one before it still needs more bytes to tell. A new carrier is one
// line here.
func Carriers() []*carrier.Carrier {
	return []*carrier.Carrier{
		smb.Carrier,
		http.Carrier,
		ldap.Carrier,
		smtp.Carrier,
		imap.Carrier,
		pop3.Carrier,
		dcerpc.Carrier,
		tds.Carrier,
		nns.Carrier,
		kdc.Carrier,
		ntlmscan.Carrier, // last: whatever no decoder claimed
	}
}
