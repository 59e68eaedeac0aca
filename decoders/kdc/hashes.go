package kdc

import (
	"encoding/hex"
	"strconv"
	"strings"

	"ntlmsensor/decoders/carrier"
	"ntlmsensor/decoders/kerberos"
)

// Kerberos lines of the opt-in hash export (carrier.SetHashes), in the
// formats of hashcat's Kerberos modes. Etype 23 is RC4-HMAC [RFC 4757],
// whose cipher is checksum(16) || edata; etypes 17 and 18 are
// AES128/256-CTS-HMAC-SHA1-96 [RFC 3962], whose cipher is
// confounder-led CTS ciphertext || HMAC-SHA1-96(12). hashcat derives the
// AES key with the salt REALM || user [RFC 3962 4, MS-KILE 3.1.1.2], so
// the user and realm of a line must be those the KDC salts with.

const (
	etypeAES128 = 17
	etypeAES256 = 18
	etypeRC4    = 23
	rc4Checksum = 16 // HMAC-MD5 [RFC 4757 3]
	aesChecksum = 12 // HMAC-SHA1-96 [RFC 3962 6]
)

// fieldSafe: a name the '$', '*', ':' and '@' separated formats can carry.
// Machine accounts (NAME$) are left out: their random passwords are not
// worth cracking, and a '$' would break the line.
func fieldSafe(s ...string) bool {
	for _, v := range s {
		if v == "" || strings.ContainsAny(v, "$*:@\r\n") {
			return false
		}
	}
	return true
}

// preauthLine: the AS-REQ PA-ENC-TIMESTAMP (key usage 1) of user@realm.
//
//	7500:        $krb5pa$23$user$realm$salt$edata(36)checksum(16)
//	19800/19900: $krb5pa$17|18$user$realm$cipher
func preauthLine(user, realm string, e kerberos.EncryptedData) carrier.Crack {
	if !fieldSafe(user, realm) {
		return carrier.Crack{}
	}
	c := e.Cipher
	switch e.Etype {
	case etypeRC4:
		if len(c) != rc4Checksum+36 { // confounder(8) + PA-ENC-TS-ENC with usec: hashcat's fixed size
			return carrier.Crack{}
		}
		return carrier.Crack{Mode: carrier.ModeKrbPARC4, Line: "$krb5pa$23$" + user + "$" + realm + "$" +
			strings.ToUpper(realm) + user + "$" + hex.EncodeToString(c[rc4Checksum:]) + hex.EncodeToString(c[:rc4Checksum])}
	case etypeAES128, etypeAES256:
		if len(c) <= 16+aesChecksum {
			return carrier.Crack{}
		}
		return carrier.Crack{Mode: aesMode(e.Etype, carrier.ModeKrbPAAES128, carrier.ModeKrbPAAES256), Line: "$krb5pa$" + strconv.Itoa(int(e.Etype)) + "$" + user + "$" + realm + "$" + hex.EncodeToString(c)}
	}
	return carrier.Crack{}
}

// asRepLine: the AS-REP enc-part (key usage 3) of an AS-REQ sent without
// pre-authentication (AS-REP roasting).
//
//	18200:       $krb5asrep$23$user@realm:checksum(16)$edata
//	32100/32200: $krb5asrep$17|18$user$realm$checksum(12)$edata
func asRepLine(user, realm string, e kerberos.EncryptedData) carrier.Crack {
	if !fieldSafe(user, realm) {
		return carrier.Crack{}
	}
	chk, data, ok := cipherParts(e)
	switch {
	case !ok:
		return carrier.Crack{}
	case e.Etype == etypeRC4:
		return carrier.Crack{Mode: carrier.ModeKrbASRepRC4, Line: "$krb5asrep$23$" + user + "@" + realm + ":" + chk + "$" + data}
	}
	return carrier.Crack{Mode: aesMode(e.Etype, carrier.ModeKrbASRep128, carrier.ModeKrbASRep256),
		Line: "$krb5asrep$" + strconv.Itoa(int(e.Etype)) + "$" + user + "$" + realm + "$" + chk + "$" + data}
}

// ticketLine: a TGS-REP's service ticket enc-part (key usage 2),
// Kerberoasting. The service account's own name is not on the wire (the
// KDC found it by SPN); the SPN stands in the user field, where RC4 does
// not read it. For AES lines the auditor puts the account's
// sAMAccountName there (the salt), as the README says. ':' in an SPN
// (MSSQLSvc/host:1433) becomes '~', as Impacket writes it.
//
//	13100:       $krb5tgs$23$*user$realm$spn*$checksum(16)$edata
//	19600/19700: $krb5tgs$17|18$user$realm$*spn*$checksum(12)$edata
func ticketLine(spn, realm string, e kerberos.EncryptedData) carrier.Crack {
	spn = strings.ReplaceAll(spn, ":", "~")
	if !fieldSafe(spn, realm) {
		return carrier.Crack{}
	}
	chk, data, ok := cipherParts(e)
	switch {
	case !ok:
		return carrier.Crack{}
	case e.Etype == etypeRC4:
		return carrier.Crack{Mode: carrier.ModeKrbTGSRC4, Line: "$krb5tgs$23$*" + spn + "$" + realm + "$" + spn + "*$" + chk + "$" + data}
	}
	return carrier.Crack{Mode: aesMode(e.Etype, carrier.ModeKrbTGS128, carrier.ModeKrbTGS256),
		Line: "$krb5tgs$" + strconv.Itoa(int(e.Etype)) + "$" + spn + "$" + realm + "$*" + spn + "*$" + chk + "$" + data}
}

// cipherParts splits an enc-part's cipher into its checksum and encrypted
// data, in hex: RC4 leads with its checksum, AES ends with it. ok is false
// for another etype, or a cipher too short to hold both.
func cipherParts(e kerberos.EncryptedData) (checksum, data string, ok bool) {
	c := e.Cipher
	switch e.Etype {
	case etypeRC4:
		if len(c) > rc4Checksum {
			return hex.EncodeToString(c[:rc4Checksum]), hex.EncodeToString(c[rc4Checksum:]), true
		}
	case etypeAES128, etypeAES256:
		if n := len(c) - aesChecksum; n > 16 {
			return hex.EncodeToString(c[n:]), hex.EncodeToString(c[:n]), true
		}
	}
	return "", "", false
}

// aesMode is the hashcat mode of an AES etype: AES128 or AES256.
func aesMode(etype int32, aes128, aes256 int) int {
	if etype == etypeAES128 {
		return aes128
	}
	return aes256
}

// requestCrack keeps the pre-authentication line of the request just
// opened, for when its reply says whether the password was right.
func (h *handler) requestCrack(m *kerberos.Message, pdu []byte) {
	if m.Type != kerberos.ASReq || m.CName.NumParts != 1 || len(h.pending) == 0 {
		return
	}
	r := &h.pending[len(h.pending)-1]
	r.crack = preauthLine(m.CName.String(), m.Realm, kerberos.ParseCiphers(pdu).Timestamp)
}

// replyCrack writes the lines of a reply about to close the oldest open
// exchange: the service ticket of a TGS-REP, the enc-part of an AS-REP
// answering a request without pre-authentication.
func (h *handler) replyCrack(m *kerberos.Message, pdu []byte) {
	if len(h.pending) == 0 {
		return
	}
	ex := carrier.HashExport()
	c := kerberos.ParseCiphers(pdu)
	var line carrier.Crack
	switch {
	case m.Type == kerberos.TGSRep:
		line = ticketLine(m.SName.String(), m.Realm, c.Ticket)
	case m.Type == kerberos.ASRep && !h.pending[0].f.Attack.Preauth && m.CName.NumParts == 1:
		line = asRepLine(m.CName.String(), m.CRealm, c.EncPart)
	}
	if line.Line != "" {
		ex.Hash(line.Mode, line.Line)
	}
}
