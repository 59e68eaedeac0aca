package kerberos

import "golang.org/x/crypto/cryptobyte"

// EncryptedData is one RFC 4120 5.2.9 EncryptedData: its etype and cipher
// (aliasing the input). Cipher is nil when the element was not there.
type EncryptedData struct {
	Etype  int32
	Cipher []byte
}

// Ciphers are the encrypted parts of a KDC message that are sealed with a
// key derived from a password, for the opt-in hash export only (Parse never
// looks at them, and they never reach a finding):
//
//   - Timestamp: an AS-REQ's PA-ENC-TIMESTAMP [RFC 4120 5.2.7.2], sealed
//     with the client's key (key usage 1);
//   - EncPart: an AS-REP's enc-part, sealed with the client's key (key
//     usage 3) [RFC 4120 5.4.2];
//   - Ticket: a KDC-REP's ticket enc-part, sealed with the service's key
//     (key usage 2) [RFC 4120 5.3]: for a TGS-REP, the service account's.
type Ciphers struct {
	Timestamp, EncPart, Ticket EncryptedData
}

// paEncTimestamp is PA-ENC-TIMESTAMP [RFC 4120 7.5.2].
const paEncTimestamp = 2

// ParseCiphers reads the Ciphers of a bare AS-REQ, AS-REP or TGS-REP;
// other messages give none. Like Parse it checks every length and never
// panics; what it cannot read is left empty.
func ParseCiphers(b []byte) Ciphers {
	var c Ciphers
	if len(b) == 0 {
		return c
	}
	typ := MsgType(b[0] & tagNumberMask)
	if b[0]&(classMask|constructed) != classApplication|constructed {
		return c
	}
	s := cryptobyte.String(b)
	_, body, err := readElement(&s)
	if err != nil {
		return c
	}
	seq, err := expect(&body, tagSequence, "PDU")
	if err != nil {
		return c
	}
	for !seq.Empty() {
		n, v, err := field(&seq)
		if err != nil {
			return c
		}
		switch {
		case typ == ASReq && n == 3:
			c.Timestamp = encTimestamp(v)
		case (typ == ASRep || typ == TGSRep) && n == 5:
			c.Ticket = ticketCipher(v)
		case (typ == ASRep || typ == TGSRep) && n == 6:
			c.EncPart = encryptedData(v)
		}
	}
	return c
}

// encTimestamp finds PA-ENC-TIMESTAMP in a padata list; its value is the
// DER of an EncryptedData [RFC 4120 5.2.7.2].
func encTimestamp(v cryptobyte.String) EncryptedData {
	list, err := expect(&v, tagSequence, "padata")
	if err != nil {
		return EncryptedData{}
	}
	for !list.Empty() {
		pa, err := expect(&list, tagSequence, "PA-DATA")
		if err != nil {
			return EncryptedData{}
		}
		var typ int32
		var val cryptobyte.String
		for !pa.Empty() {
			n, fv, err := field(&pa)
			if err != nil {
				return EncryptedData{}
			}
			switch n {
			case 1:
				typ, _ = integer(fv, "padata-type")
			case 2:
				val, _ = expect(&fv, tagOctetString, "padata-value")
			}
		}
		if typ == paEncTimestamp {
			return encryptedData(val)
		}
	}
	return EncryptedData{}
}

// ticketCipher is the enc-part of a Ticket [RFC 4120 5.3].
func ticketCipher(v cryptobyte.String) EncryptedData {
	app, err := expect(&v, tagTicket, "Ticket")
	if err != nil {
		return EncryptedData{}
	}
	seq, err := expect(&app, tagSequence, "Ticket")
	if err != nil {
		return EncryptedData{}
	}
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return EncryptedData{}
		}
		if n == 3 {
			return encryptedData(fv)
		}
	}
	return EncryptedData{}
}

// encryptedData reads EncryptedData ::= SEQUENCE { etype [0] Int32,
// kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING } [RFC 4120 5.2.9].
func encryptedData(v cryptobyte.String) EncryptedData {
	seq, err := expect(&v, tagSequence, "EncryptedData")
	if err != nil {
		return EncryptedData{}
	}
	var e EncryptedData
	haveEtype := false
	for !seq.Empty() {
		n, fv, err := field(&seq)
		if err != nil {
			return EncryptedData{}
		}
		switch n {
		case 0:
			e.Etype, err = integer(fv, "etype")
			haveEtype = err == nil
		case 2:
			var c cryptobyte.String
			c, err = expect(&fv, tagOctetString, "cipher")
			if err == nil {
				e.Cipher = c
			}
		}
	}
	if !haveEtype || len(e.Cipher) == 0 {
		return EncryptedData{}
	}
	return e
}
