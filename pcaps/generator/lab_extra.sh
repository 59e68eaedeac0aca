# Sourced by generate.sh: extra lab pieces for the audit and attacks sets.
# Every address, /etc/hosts line and process added here is removed by teardown_extra.

setup_extra() {
  local C="--configfile=$G/dc/etc/smb.conf"
  for a in $ATKIP $FS2IP $DEADKDC $CIP2 $INTRAIP $LEGIP; do ip addr add $a/32 dev lo 2>/dev/null; done
  for a in $FS2IP $DEADKDC $ATKIP $INTRAIP $LEGIP; do srcfor $a $CIP; done
  printf '%s\n' "$DCIP $ALIAS.$DNSDOM $ALIAS # gen-test-hosts" "$DCIP $ALIAS2.$DNSDOM $ALIAS2 # gen-test-hosts" \
    "$IMPIP $IMPN.$DNSDOM $IMPN # gen-test-hosts" "$FS2IP $FS2N.$DNSDOM $FS2N # gen-test-hosts" \
    "$INTRAIP $INTRAN.$DNSDOM $INTRAN # gen-test-hosts" "$LEGIP $LEGN.$DNSDOM $LEGN # gen-test-hosts" >> /etc/hosts
  # client config whose KDC is a loopback address where nothing listens (kdc_unreachable)
  sed "s/kdc = $DCIP/kdc = $DEADKDC/" $G/krb5.conf > $G/krb5-deadkdc.conf
  # client config with a UDP-only KDC (Heimdal syntax "udp/host"; MIT does not know it): a
  # KRB_ERR_RESPONSE_TOO_BIG cannot be retried over TCP
  sed -e "s#kdc = $DCIP#kdc = udp/$DCIP#" -e "/udp_preference_limit/d" $G/krb5.conf > $G/krb5-udponly.conf
  # SPN of a name that points at the DC, registered on ANOTHER account (spn_wrong_account)
  samba-tool user create $SVC2 "$SVC2PW" $C >/dev/null
  samba-tool spn add cifs/$ALIAS2.$DNSDOM $SVC2 $C
  # HTTP/intranet.lab.test: keytab made while the SPN was on svc_web, then the SPN moved to
  # svc_archive (the KDC now encrypts its tickets with svc_archive's key; the web server keeps svc_web's)
  samba-tool spn add HTTP/$INTRAN.$DNSDOM $SVC $C
  samba-tool domain exportkeytab $G/intranet.keytab --principal=HTTP/$INTRAN.$DNSDOM $C >/dev/null
  samba-tool spn delete HTTP/$INTRAN.$DNSDOM $SVC $C
  samba-tool spn add HTTP/$INTRAN.$DNSDOM $SVC2 $C
  local T=$GEN/ntlm_test_server.py
  KRB5_KTNAME=$G/intranet.keytab $PY $T http $INTRAIP 80 $U1 "$P1" $DOM $INTRAN.$DNSDOM v2 2>$LOGDIR/srv_http_intranet.log & PIDS+=($!)
  # a web server that offers only NTLM (WWW-Authenticate: NTLM)
  HTTP_SCHEMES=NTLM $PY $T http $LEGIP 80 $U1 "$P1" $DOM $LEGN.$DNSDOM v2 2>$LOGDIR/srv_http_legacy.log & PIDS+=($!)
  # kerberoastable service accounts
  samba-tool user create $SQLSVC "$SQLPW" $C >/dev/null; samba-tool spn add MSSQLSvc/sql.$DNSDOM:1433 $SQLSVC $C
  samba-tool user create $APPSVC "$APPPW" $C >/dev/null; samba-tool spn add HTTP/app.$DNSDOM $APPSVC $C
  # AS-REP roastable user: userAccountControl NORMAL_ACCOUNT(0x200) | DONT_REQ_PREAUTH(0x400000)
  samba-tool user create $ROAST "$ROASTPW" $C >/dev/null
  printf 'dn: CN=%s,CN=Users,%s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 4194816\n' $ROAST $BASEDN > $G/roast.ldif
  ldbmodify -H $G/dc/private/sam.ldb $G/roast.ldif >/dev/null
  # spraying targets user01..userNN
  local i
  for i in $(seq 1 $NSPRAY); do samba-tool user create $(printf 'user%02d' $i) "$(printf "$SPRAYUPW" $i)" $C >/dev/null; done
  # a computer account with a known password (coerced machine-account authentication)
  samba-tool computer create $MACH $C >/dev/null
  samba-tool user setpassword "$MACH\$" --newpassword="$MACHPW" $C >/dev/null
  # second standalone smbd: SMB signing disabled
  mkdir -p $G/fs2/private $G/fs2/lock $G/fs2/state $G/fs2/cache $G/fs2/run $G/fs2/log
  sed -e "s/netbios name = ${FSN^^}/netbios name = ${FS2N^^}/" -e "s/interfaces = $FSIP/interfaces = $FS2IP/" \
      -e "s#$G/fs/#$G/fs2/#g" -e "s/server signing = auto/server signing = disabled/" $G/fs/smb.conf > $G/fs2/smb.conf
  printf '%s\n%s\n' "$PFS" "$PFS" | smbpasswd -c $G/fs2/smb.conf -a -s $UFS >/dev/null
  _NO_WINBINDD=1 smbd -s $G/fs2/smb.conf -D
  for i in $(seq 1 20); do ss -ltn | grep -q "$FS2IP:445 " && break; sleep 1; done
}

teardown_extra() {
  [ -f $G/fs2/run/smbd.pid ] && kill $(cat $G/fs2/run/smbd.pid) 2>/dev/null
  for a in $ATKIP $FS2IP $DEADKDC $CIP2 $INTRAIP $LEGIP; do ip addr del $a/32 dev lo 2>/dev/null; done
}

# srcfor DST SRC: connections to DST leave from SRC (loopback source address selection)
srcfor() { ip route replace local $1 dev lo proto kernel scope host src $2 table local; }
