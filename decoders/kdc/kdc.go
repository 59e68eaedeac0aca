// Package kdc is the carrier of Kerberos exchanges with a KDC [RFC 4120
// 7.2]: AS and TGS requests and their replies or errors on port 88, over
// UDP and TCP. (Kerberos inside SPNEGO, in SMB or HTTP, is read by the
// carriers of those protocols through decoders/carrier.) One finding is
// made per exchange. KDC_ERR_PREAUTH_REQUIRED and KRB_ERR_RESPONSE_TOO_BIG
// are steps of it, answered by a new request, often on a new connection:
// the handler emits them as observations awaiting that retry
// (findings.Finding.AwaitsRetry), and the audit stage, which sees every
// connection, makes a finding of one the client never retries
// (audit.RetryWindow).
//
// This file is the pure part: the framing of KDC messages on UDP and TCP
// [RFC 4120 7.2.1, 7.2.2] and their classification by APPLICATION tag
// [RFC 4120 5.10]. The messages themselves are decoded by
// decoders/kerberos.
package kdc

import (
	"errors"

	"ntlmsensor/decoders/internal/ber"
	"ntlmsensor/decoders/kerberos"
)

// MaxRecord: a KDC message larger than this is not followed. RFC 4120
// 7.2.2 sets no limit; real replies (a ticket with a PAC) stay within a
// few KiB, 64 KiB leaves a wide margin.
const MaxRecord = 64 << 10

var (
	errShort = errors.New("kdc: short")
	errBad   = errors.New("kdc: not DER")
	der      = ber.Reader{Truncated: errShort, Malformed: func(string) error { return errBad }}
)

// DERLength is the length of the DER element at b (identifier, length
// octets and content) [X.690 8.1], or -1 when the length octets are not
// there, not definite, or longer than three octets (16 MiB, far beyond
// MaxRecord).
func DERLength(b []byte) int {
	_, hdr, n, err := der.Header(b)
	if err != nil || hdr > 2+3 {
		return -1
	}
	return hdr + int(n)
}

// Kind is which side sends a KDC message.
type Kind uint8

const (
	NotKDC  Kind = iota // not a message of the KDC exchanges
	Request             // AS-REQ, TGS-REQ [RFC 4120 5.4.1]: from the client
	Reply               // AS-REP, TGS-REP [RFC 4120 5.4.2], KRB-ERROR [5.9.1]: from the KDC
)

// Classify names the KDC message that begins pdu by its identifier octet,
// [APPLICATION n] constructed [RFC 4120 5.10], before any of it is
// decoded: a cut datagram is still named.
func Classify(pdu []byte) (kerberos.MsgType, Kind) {
	if len(pdu) == 0 || pdu[0]&0xe0 != 0x60 {
		return 0, NotKDC
	}
	t := kerberos.MsgType(pdu[0] & 0x1f)
	switch t {
	case kerberos.ASReq, kerberos.TGSReq:
		return t, Request
	case kerberos.ASRep, kerberos.TGSRep, kerberos.KRBError:
		return t, Reply
	}
	return t, NotKDC
}

// RecordStart: b begins with a TCP record mark [RFC 4120 7.2.2] whose
// length is that of the DER element after it, a Kerberos message
// ([APPLICATION n] constructed) [RFC 4120 5.10]. A direction that lost its
// place resynchronises only where this holds.
func RecordStart(b []byte) bool {
	n, ok := kerberos.TCPRecordLength(b)
	return ok && len(b) >= 6 && b[4]&0xe0 == 0x60 && DERLength(b[4:]) == n
}

// Frame finds the KDC message in the first bytes of a connection: behind a
// TCP record mark whose length agrees with the DER length of the message
// it frames [RFC 4120 7.2.2] (pdu is then as much of the message as b
// holds), or a whole datagram [RFC 4120 7.2.1]. ok is false when b is
// neither.
func Frame(b []byte) (pdu []byte, ok bool) {
	if n, ok := kerberos.TCPRecordLength(b); ok && n <= MaxRecord && DERLength(b[4:]) == n {
		return b[4:min(len(b), 4+n)], true
	}
	if DERLength(b) == len(b) {
		return b, true
	}
	return nil, false
}
