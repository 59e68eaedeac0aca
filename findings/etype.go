package findings

import "strconv"

// EtypeName names a Kerberos encryption type by its RFC 3961 section 8 /
// RFC 8009 / IANA "Kerberos Encryption Type Numbers" registry
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
