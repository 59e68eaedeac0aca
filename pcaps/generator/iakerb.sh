#!/bin/bash
# Real IAKerb captures on loopback: an MIT krb5kdc (realm MIT.TEST) and MIT's
# GSSAPI sample programs gss-client -iakerb / gss-server -iakerb (Debian
# krb5-gss-samples). The client never talks to the KDC (its krb5.conf names
# an address nothing answers on): its AS and TGS requests go to the server
# inside IAKerb tokens [draft-ietf-kitten-iakerb], which relays them, then
# the AP-REQ/AP-REP follow under the IAKerb OID.
#
# Not captured: IAKerb offered in SPNEGO. MIT's SPNEGO acquires a password
# credential for krb5 too (a TGT from the KDC at once) and then picks krb5,
# and python-gssapi cannot start an IAKerb context itself (it hands the
# first init_sec_context an empty token instead of none, which MIT's IAKerb
# initiator refuses).
#
# usage: iakerb.sh      -> ../real-implementations/iakerb/
# Debian 12, run as root. Loopback only; everything started is stopped by PID.
set -u
GEN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$GEN/../real-implementations/iakerb}
G=${TMPDIR:-/tmp}/gen-iakerb
REALM=MIT.TEST; KDCIP=127.0.0.50; WEBIP=127.0.0.51; WEBN=web.mit.test; DEADKDC=127.0.0.58
U1=alice; P1='Alice#Iak1'; BADPW='WrongPass!9'; MASTER='Master#Iak0'

pk="krb5-kdc krb5-user krb5-gss-samples tcpdump tshark"
miss=""; for p in $pk; do dpkg -s $p >/dev/null 2>&1 || miss="$miss $p"; done
if [ -n "$miss" ]; then apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $miss >/dev/null; fi

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sed -i '/# gen-iakerb-hosts/d' /etc/hosts; }
trap cleanup EXIT

rm -rf $G; mkdir -p $G/kdc $OUT
grep -q "$WEBN" /etc/hosts || echo "$WEBIP $WEBN # gen-iakerb-hosts" >> /etc/hosts
cat > $G/krb5.conf <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
[realms]
	$REALM = {
		kdc = $KDCIP
	}
[domain_realm]
	.mit.test = $REALM
EOF
# the client's view: its KDC is an address nothing answers on (kdc_unreachable)
sed "s/kdc = $KDCIP/kdc = $DEADKDC/" $G/krb5.conf > $G/krb5-client.conf
cat > $G/kdc.conf <<EOF
[kdcdefaults]
	kdc_listen = $KDCIP
	kdc_tcp_listen = $KDCIP
[realms]
	$REALM = {
		database_name = $G/kdc/principal
		key_stash_file = $G/kdc/stash
		acl_file = $G/kdc/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$G/kdc/kdc.log
EOF
export KRB5_CONFIG=$G/krb5.conf KRB5_KDC_PROFILE=$G/kdc.conf KRB5CCNAME=FILE:$G/ccache KRB5_KTNAME=FILE:$G/http.keytab
kdb5_util create -s -r $REALM -P "$MASTER" >/dev/null
kadmin.local -q "addprinc -pw $P1 +requires_preauth $U1" >/dev/null
kadmin.local -q "addprinc -randkey HTTP/$WEBN" >/dev/null
kadmin.local -q "ktadd -k $G/http.keytab HTTP/$WEBN" >/dev/null
krb5kdc -n & PIDS+=($!)
gss-server -port 4444 -iakerb HTTP@$WEBN >$G/gss-server.log 2>&1 & PIDS+=($!)
sleep 1

cap() { # name, command...
  local name=$1; shift
  tcpdump -i lo -n -w $OUT/$name.pcap -U "host $KDCIP or host $WEBIP or host $DEADKDC" 2>/dev/null & local tp=$!
  sleep 1
  "$@" 2>>$G/client.log; echo "$name: exit $?" >>$G/client.log
  sleep 1; kill $tp; wait $tp 2>/dev/null
}
# gss-client/gss-server frame each token with a flags octet and a 4-byte
# big-endian length. The password, then a wrong one.
CL="env KRB5_CONFIG=$G/krb5-client.conf KRB5CCNAME=MEMORY:c"
cap gss_sample_iakerb $CL gss-client -port 4444 -iakerb -user $U1@$REALM -pass "$P1" $WEBIP HTTP@$WEBN hello
cap gss_sample_iakerb_wrong_password $CL gss-client -port 4444 -iakerb -user $U1@$REALM -pass "$BADPW" $WEBIP HTTP@$WEBN hello
cat $G/client.log $G/gss-server.log
