// Package crackcheck recomputes, from a known password, what the lines of
// the hash export (carrier.SetHashes) must verify against, so tests of the
// export fail on a wrong field, a wrong byte order or a wrong split. It is
// for tests only: the sensor never holds a password.
//
//   - NTLM [MS-NLMP 3.3.1, 3.3.2]: NT hash = MD4(UTF-16LE(password));
//     NTLMv1 response = DES of the challenge (or, with ESS, of
//     MD5(serverChallenge||clientChallenge)[:8]) under the three 7-byte
//     thirds of the NT hash; NTLMv2: NTProofStr =
//     HMAC-MD5(NTOWFv2, serverChallenge||blob), NTOWFv2 =
//     HMAC-MD5(NT hash, UTF-16LE(Upper(user)||domain)).
//   - Kerberos RC4-HMAC [RFC 4757 3]: key = NT hash, K1 = HMAC-MD5(key,
//     T), K3 = HMAC-MD5(K1, checksum), plaintext = RC4(K3, edata),
//     checksum = HMAC-MD5(K1, plaintext).
//   - Kerberos AES-CTS-HMAC-SHA1-96 [RFC 3962, RFC 3961 5.3]: base key =
//     DK(PBKDF2-HMAC-SHA1(password, salt, 4096), "kerberos"), Ke/Ki =
//     DK(base, usage||0xAA / 0x55), plaintext = CBC-CTS decryption under
//     Ke with a zero IV, checksum = HMAC-SHA1(Ki, plaintext)[:12].
package crackcheck

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rc4"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"

	//lint:ignore SA1019 the NT hash and the RC4-HMAC key are MD4 by definition [MS-NLMP 3.3.1, RFC 4757 2]
	"golang.org/x/crypto/md4"
)

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// NTHash is MD4(UTF-16LE(password)) [MS-NLMP 3.3.1 NTOWFv1], also the
// RC4-HMAC Kerberos key [RFC 4757 2].
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return h.Sum(nil)
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// NTProofStr is the first 16 bytes an NTLMv2 response must carry
// [MS-NLMP 3.3.2].
func NTProofStr(password, user, domain string, challenge, blob []byte) []byte {
	owf := hmacMD5(NTHash(password), utf16le(strings.ToUpper(user)+domain))
	return hmacMD5(owf, challenge, blob)
}

// NTLMv1Response is DESL(NT hash, challenge) [MS-NLMP 3.3.1, 6]; with ESS
// (clientChallenge not nil) the DES input is
// MD5(serverChallenge||clientChallenge)[:8].
func NTLMv1Response(password string, challenge, clientChallenge []byte) []byte {
	in := challenge
	if clientChallenge != nil {
		s := md5.Sum(append(append([]byte{}, challenge...), clientChallenge...))
		in = s[:8]
	}
	k := append(NTHash(password), 0, 0, 0, 0, 0)
	var out []byte
	for i := 0; i < 3; i++ {
		c, _ := des.NewCipher(desKey(k[7*i : 7*i+7]))
		b := make([]byte, 8)
		c.Encrypt(b, in)
		out = append(out, b...)
	}
	return out
}

// desKey spreads 56 key bits over 8 bytes (the parity bits are ignored).
func desKey(k []byte) []byte {
	return []byte{
		k[0],
		k[0]<<7 | k[1]>>1,
		k[1]<<6 | k[2]>>2,
		k[2]<<5 | k[3]>>3,
		k[3]<<4 | k[4]>>4,
		k[4]<<3 | k[5]>>5,
		k[5]<<2 | k[6]>>6,
		k[6] << 1,
	}
}

// rc4Usage maps an RFC 4120 key usage to the RC4-HMAC message type T
// [RFC 4757 3]: the AS-REP enc-part (3) is 8, the others are themselves.
func rc4Usage(usage int) uint32 {
	if usage == 3 {
		return 8
	}
	return uint32(usage)
}

// ErrChecksum: the cipher does not verify under the password's key.
var ErrChecksum = errors.New("crackcheck: checksum does not match")

// DecryptRC4 decrypts an RC4-HMAC cipher (checksum(16)||edata) with the
// NT hash of password, checks its checksum and returns the plaintext
// without its 8-byte confounder [RFC 4757 3].
func DecryptRC4(password string, usage int, c []byte) ([]byte, error) {
	if len(c) < 24 {
		return nil, ErrChecksum
	}
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], rc4Usage(usage))
	k1 := hmacMD5(NTHash(password), t[:])
	sum, edata := c[:16], c[16:]
	k3 := hmacMD5(k1, sum)
	r, _ := rc4.NewCipher(k3)
	p := make([]byte, len(edata))
	r.XORKeyStream(p, edata)
	if !hmac.Equal(hmacMD5(k1, p), sum) {
		return nil, ErrChecksum
	}
	return p[8:], nil
}

// DecryptAES decrypts an AES128/256-CTS-HMAC-SHA1-96 cipher
// (CTS ciphertext||HMAC(12)) with the key of password and salt, checks its
// checksum and returns the plaintext without its 16-byte confounder
// [RFC 3962, RFC 3961 5.3].
func DecryptAES(password, salt string, keyLen, usage int, c []byte) ([]byte, error) {
	if len(c) < 16+12 {
		return nil, ErrChecksum
	}
	tkey, err := pbkdf2.Key(sha1.New, password, []byte(salt), 4096, keyLen)
	if err != nil {
		return nil, err
	}
	base := dk(tkey, []byte("kerberos"))
	var u [5]byte
	binary.BigEndian.PutUint32(u[:], uint32(usage))
	u[4] = 0xAA
	ke := dk(base, u[:])
	u[4] = 0x55
	ki := dk(base, u[:])
	ct, sum := c[:len(c)-12], c[len(c)-12:]
	p := ctsDecrypt(ke, ct)
	m := hmac.New(sha1.New, ki)
	m.Write(p)
	if !hmac.Equal(m.Sum(nil)[:12], sum) {
		return nil, ErrChecksum
	}
	return p[16:], nil
}

// dk is DK(key, constant) = random-to-key(DR(key, constant)) [RFC 3961
// 5.1]; for AES random-to-key is the identity [RFC 3962 4].
func dk(key, constant []byte) []byte {
	b, _ := aes.NewCipher(key)
	in := nfold(constant, 16)
	var out []byte
	for len(out) < len(key) {
		blk := make([]byte, 16)
		b.Encrypt(blk, in)
		out = append(out, blk...)
		in = blk
	}
	return out[:len(key)]
}

// nfold stretches in to n bytes [RFC 3961 5.1]: copies of in, each rotated
// 13 bits right of the one before, up to the least common multiple of the
// lengths, added in n-byte chunks with one's-complement addition.
func nfold(in []byte, n int) []byte {
	k := len(in)
	l := lcm(k, n)
	buf := make([]byte, 0, l)
	for i := 0; i < l/k; i++ {
		buf = append(buf, rotr(in, 13*i)...)
	}
	out := make([]byte, n)
	for i := 0; i < l/n; i++ {
		out = onesAdd(out, buf[i*n:(i+1)*n])
	}
	return out
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// rotr rotates the bit string b right by r bits.
func rotr(b []byte, r int) []byte {
	nb := len(b) * 8
	r %= nb
	out := make([]byte, len(b))
	for i := 0; i < nb; i++ {
		src := (i - r + nb) % nb
		if b[src/8]&(0x80>>(src%8)) != 0 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// onesAdd adds two big-endian numbers with end-around carry.
func onesAdd(a, b []byte) []byte {
	out := make([]byte, len(a))
	carry := 0
	for i := len(a) - 1; i >= 0; i-- {
		s := int(a[i]) + int(b[i]) + carry
		out[i], carry = byte(s), s>>8
	}
	for carry != 0 {
		for i := len(out) - 1; i >= 0 && carry != 0; i-- {
			s := int(out[i]) + carry
			out[i], carry = byte(s), s>>8
		}
	}
	return out
}

// ctsDecrypt is AES in CBC mode with ciphertext stealing, the last two
// blocks always swapped, zero IV [RFC 3962 5, RFC 2040 8].
func ctsDecrypt(key, c []byte) []byte {
	b, _ := aes.NewCipher(key)
	if len(c) == 16 {
		p := make([]byte, 16)
		b.Decrypt(p, c)
		return p
	}
	n := (len(c) + 15) / 16 // blocks, the last maybe partial
	d := len(c) - 16*(n-1)  // bytes of the last block
	iv := make([]byte, 16)
	head := c[:16*(n-2)]
	p := make([]byte, 0, len(c))
	if len(head) > 0 {
		ph := make([]byte, len(head))
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(ph, head)
		p = append(p, ph...)
		iv = head[len(head)-16:]
	}
	cn1, cn := c[16*(n-2):16*(n-1)], c[16*(n-1):]
	dn := make([]byte, 16)
	b.Decrypt(dn, cn1)
	x := append(append([]byte{}, cn...), dn[d:]...)
	last := make([]byte, d)
	for i := range last {
		last[i] = dn[i] ^ cn[i]
	}
	pn1 := make([]byte, 16)
	b.Decrypt(pn1, x)
	for i := range pn1 {
		pn1[i] ^= iv[i]
	}
	return append(append(p, pn1...), last...)
}

// HasKerberosTime reports whether plaintext holds a DER GeneralizedTime of
// the form YYYYMMDDHHMMSSZ (PA-ENC-TS-ENC patimestamp [RFC 4120 5.2.7.2]).
func HasKerberosTime(plaintext []byte) bool {
	i := bytes.Index(plaintext, []byte{0x18, 0x0f})
	return i >= 0 && len(plaintext) >= i+17 && plaintext[i+16] == 'Z' && plaintext[i+2] == '2'
}
