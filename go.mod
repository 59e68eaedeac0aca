module ntlmsensor

go 1.26.0

require github.com/gopacket/gopacket v1.7.7

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
