package kerberos

import "strconv"

// String gives the RFC 4120 name: "AS-REQ", "KRB-ERROR", ...
func (t MsgType) String() string {
	switch t {
	case ASReq:
		return "AS-REQ"
	case ASRep:
		return "AS-REP"
	case TGSReq:
		return "TGS-REQ"
	case TGSRep:
		return "TGS-REP"
	case APReq:
		return "AP-REQ"
	case APRep:
		return "AP-REP"
	case KRBSafe:
		return "KRB-SAFE"
	case KRBPriv:
		return "KRB-PRIV"
	case KRBCred:
		return "KRB-CRED"
	case KRBError:
		return "KRB-ERROR"
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// errorNames are the error-code names of RFC 4120 7.5.9, with the PKINIT
// (RFC 4556 3.1.3), FAST (RFC 6113 5.4.3) and PKINIT-KDF (RFC 8636) additions.
var errorNames = [...]string{
	0:   "KDC_ERR_NONE",
	1:   "KDC_ERR_NAME_EXP",
	2:   "KDC_ERR_SERVICE_EXP",
	3:   "KDC_ERR_BAD_PVNO",
	4:   "KDC_ERR_C_OLD_MAST_KVNO",
	5:   "KDC_ERR_S_OLD_MAST_KVNO",
	6:   "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	7:   "KDC_ERR_S_PRINCIPAL_UNKNOWN",
	8:   "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
	9:   "KDC_ERR_NULL_KEY",
	10:  "KDC_ERR_CANNOT_POSTDATE",
	11:  "KDC_ERR_NEVER_VALID",
	12:  "KDC_ERR_POLICY",
	13:  "KDC_ERR_BADOPTION",
	14:  "KDC_ERR_ETYPE_NOSUPP",
	15:  "KDC_ERR_SUMTYPE_NOSUPP",
	16:  "KDC_ERR_PADATA_TYPE_NOSUPP",
	17:  "KDC_ERR_TRTYPE_NOSUPP",
	18:  "KDC_ERR_CLIENT_REVOKED",
	19:  "KDC_ERR_SERVICE_REVOKED",
	20:  "KDC_ERR_TGT_REVOKED",
	21:  "KDC_ERR_CLIENT_NOTYET",
	22:  "KDC_ERR_SERVICE_NOTYET",
	23:  "KDC_ERR_KEY_EXPIRED",
	24:  "KDC_ERR_PREAUTH_FAILED",
	25:  "KDC_ERR_PREAUTH_REQUIRED",
	26:  "KDC_ERR_SERVER_NOMATCH",
	27:  "KDC_ERR_MUST_USE_USER2USER",
	28:  "KDC_ERR_PATH_NOT_ACCEPTED",
	29:  "KDC_ERR_SVC_UNAVAILABLE",
	31:  "KRB_AP_ERR_BAD_INTEGRITY",
	32:  "KRB_AP_ERR_TKT_EXPIRED",
	33:  "KRB_AP_ERR_TKT_NYV",
	34:  "KRB_AP_ERR_REPEAT",
	35:  "KRB_AP_ERR_NOT_US",
	36:  "KRB_AP_ERR_BADMATCH",
	37:  "KRB_AP_ERR_SKEW",
	38:  "KRB_AP_ERR_BADADDR",
	39:  "KRB_AP_ERR_BADVERSION",
	40:  "KRB_AP_ERR_MSG_TYPE",
	41:  "KRB_AP_ERR_MODIFIED",
	42:  "KRB_AP_ERR_BADORDER",
	44:  "KRB_AP_ERR_BADKEYVER",
	45:  "KRB_AP_ERR_NOKEY",
	46:  "KRB_AP_ERR_MUT_FAIL",
	47:  "KRB_AP_ERR_BADDIRECTION",
	48:  "KRB_AP_ERR_METHOD",
	49:  "KRB_AP_ERR_BADSEQ",
	50:  "KRB_AP_ERR_INAPP_CKSUM",
	51:  "KRB_AP_PATH_NOT_ACCEPTED",
	52:  "KRB_ERR_RESPONSE_TOO_BIG",
	60:  "KRB_ERR_GENERIC",
	61:  "KRB_ERR_FIELD_TOOLONG",
	62:  "KDC_ERROR_CLIENT_NOT_TRUSTED",
	63:  "KDC_ERROR_KDC_NOT_TRUSTED",
	64:  "KDC_ERROR_INVALID_SIG",
	65:  "KDC_ERR_KEY_TOO_WEAK",
	66:  "KDC_ERR_CERTIFICATE_MISMATCH",
	67:  "KRB_AP_ERR_NO_TGT",
	68:  "KDC_ERR_WRONG_REALM",
	69:  "KRB_AP_ERR_USER_TO_USER_REQUIRED",
	70:  "KDC_ERR_CANT_VERIFY_CERTIFICATE",
	71:  "KDC_ERR_INVALID_CERTIFICATE",
	72:  "KDC_ERR_REVOKED_CERTIFICATE",
	73:  "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
	74:  "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
	75:  "KDC_ERR_CLIENT_NAME_MISMATCH",
	76:  "KDC_ERR_KDC_NAME_MISMATCH",
	77:  "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
	78:  "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
	79:  "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
	80:  "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
	81:  "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
	90:  "KDC_ERR_PREAUTH_EXPIRED",
	91:  "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
	92:  "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
	93:  "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
	100: "KDC_ERR_NO_ACCEPTABLE_KDF",
}

// ErrorName names a KRB-ERROR error-code [RFC 4120 7.5.9]
// ("KDC_ERR_PREAUTH_REQUIRED"); unassigned codes give "KRB_ERR_<n>".
func ErrorName(code int32) string {
	if code >= 0 && int(code) < len(errorNames) && errorNames[code] != "" {
		return errorNames[code]
	}
	return "KRB_ERR_" + strconv.Itoa(int(code))
}

// EtypeName names an encryption type by its RFC 3961 8 / IANA registry
// name, as MIT, Heimdal and Zeek print them ("aes256-cts-hmac-sha1-96",
// "rc4-hmac"); Microsoft's private negative numbers are included. Unknown
// numbers give "etype-<n>".
func EtypeName(e int32) string {
	switch e {
	case 1:
		return "des-cbc-crc"
	case 2:
		return "des-cbc-md4"
	case 3:
		return "des-cbc-md5"
	case 5:
		return "des3-cbc-md5"
	case 7:
		return "des3-cbc-sha1"
	case 9:
		return "dsaWithSHA1-CmsOID"
	case 10:
		return "md5WithRSAEncryption-CmsOID"
	case 11:
		return "sha1WithRSAEncryption-CmsOID"
	case 12:
		return "rc2CBC-EnvOID"
	case 13:
		return "rsaEncryption-EnvOID"
	case 14:
		return "rsaES-OAEP-ENV-OID"
	case 15:
		return "des-ede3-cbc-Env-OID"
	case 16:
		return "des3-cbc-sha1-kd"
	case 17:
		return "aes128-cts-hmac-sha1-96"
	case 18:
		return "aes256-cts-hmac-sha1-96"
	case 19:
		return "aes128-cts-hmac-sha256-128"
	case 20:
		return "aes256-cts-hmac-sha384-192"
	case 23:
		return "rc4-hmac"
	case 24:
		return "rc4-hmac-exp"
	case 25:
		return "camellia128-cts-cmac"
	case 26:
		return "camellia256-cts-cmac"
	case 65:
		return "subkey-keymaterial"
	// Microsoft private etypes (Windows kerberos.h KERB_ETYPE_*).
	case -128:
		return "rc4-md4"
	case -129:
		return "rc4-plain2"
	case -130:
		return "rc4-lm"
	case -131:
		return "rc4-sha"
	case -132:
		return "des-plain"
	case -133:
		return "rc4-hmac-old"
	case -134:
		return "rc4-plain-old"
	case -135:
		return "rc4-hmac-old-exp"
	case -136:
		return "rc4-plain-old-exp"
	case -140:
		return "rc4-plain"
	case -141:
		return "rc4-plain-exp"
	}
	return "etype-" + strconv.Itoa(int(e))
}
