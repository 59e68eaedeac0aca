#!/bin/bash
# krb_cyrillic_principal_mit.pcap: MIT kinit and kvno for principals with Cyrillic names
# (KerberosString is UTF-8 in practice, RFC 4120 5.2.1, RFC 6806 11) against a standalone
# MIT krb5kdc 1.20 (Debian 12), loopback only: AS-REQ answered KDC_ERR_PREAUTH_REQUIRED,
# again with PA-ENC-TIMESTAMP, AS-REP; TGS-REQ for host/сервер.lab.test, TGS-REP. Over TCP
# (udp_preference_limit = 1), as the lab's captures. Run as root; everything it starts is
# stopped by PID, its files are under $TMPDIR/gen-utf8.
#
# usage: scen_utf8.sh [OUTDIR]       (default: ../real-implementations/utf8)
set -eu
GEN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$GEN/../real-implementations/utf8}
G=${TMPDIR:-/tmp}/gen-utf8
REALM=LAB.TEST; KDCIP=127.0.0.10; U='алиса'; P='Alice#Pass1'; SPN='host/сервер.lab.test'
rm -rf "$G"; mkdir -p "$G" "$OUT"
cat > "$G/kdc.conf" <<CONF
[kdcdefaults]
	kdc_listen = $KDCIP:88
	kdc_tcp_listen = $KDCIP:88
[realms]
	$REALM = {
		database_name = $G/principal
		key_stash_file = $G/stash
		acl_file = $G/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$G/kdc.log
CONF
cat > "$G/krb5.conf" <<CONF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
[realms]
	$REALM = {
		kdc = $KDCIP
	}
CONF
: > "$G/kadm5.acl"
export KRB5_CONFIG=$G/krb5.conf KRB5_KDC_PROFILE=$G/kdc.conf KRB5CCNAME=FILE:$G/cc
kdb5_util create -s -r $REALM -P 'Master#Pass0' >/dev/null
kadmin.local -r $REALM -q "addprinc -pw $P +requires_preauth $U" >/dev/null
kadmin.local -r $REALM -q "addprinc -randkey $SPN" >/dev/null
krb5kdc -n -r $REALM & KDC=$!
sleep 1
tcpdump -i lo -U -w "$OUT/krb_cyrillic_principal_mit.pcap" "host $KDCIP and port 88" 2>/dev/null & DUMP=$!
sleep 1
echo "$P" | kinit "$U@$REALM" >/dev/null
kvno "$SPN@$REALM"
sleep 1
kill $DUMP; wait $DUMP || true
kill $KDC; wait $KDC || true
kdestroy 2>/dev/null || true
