# Sourced by generate.sh: the "audit" set -> ../real-implementations/audit/
# One capture per reason an NTLM logon is NTLM (cause ids of CONTRACT.md). Where the cause is a
# Kerberos failure, the capture holds the Kerberos evidence AND the NTLM logon that follows, both
# from the client address $CIP.

# smbclient that may use Kerberos: it does its own AS exchange (Samba's Heimdal) for
# alice@$REALM with the password, and falls back to NTLM as LAB\alice when Kerberos fails.
# (After a SUCCESSFUL AS exchange Samba's NTLM fallback sends the principal in UPN form,
# user "alice@LAB.TEST" with an empty domain; after a failed one, "LAB\alice".)
sck() { smbclient --use-kerberos=desired --realm=$REALM --option="netbios name=$WS" "$@"; }

scen_audit() {
  local D="host $DCIP"
  # 1. spn_missing: files.lab.test -> the DC's address, no SPN cifs/files.lab.test anywhere
  cap spn_missing_smb_alias "$D and (port 88 or tcp port 445)" sck -U "$DOM\\$U1%$P1" //$ALIAS.$DNSDOM/share -m SMB3 -c ls
  # 2. spn_wrong_account
  #  (a) HTTP: SPN HTTP/intranet.lab.test belongs to svc_archive, the web server's keytab holds the
  #      key of svc_web for that name; MIT's acceptor answers KRB-ERROR in a SPNEGO reject; then the
  #      same client logs on with NTLM (a second curl: curl does not fall back by itself)
  newcc w1
  cap spn_wrong_account_http "($D and port 88) or (host $INTRAIP and tcp port 80)" bash -c "echo '$P1' | kinit $U1@$REALM && curl -sS --negotiate -u : http://$INTRAN.$DNSDOM/ ; curl -sS --ntlm -u '$DOM\\$U1:$P1' http://$INTRAN.$DNSDOM/"
  #  (b) SMB: SPN cifs/archive.lab.test (name -> the DC) belongs to svc_archive; the DC cannot
  #      decrypt the ticket and fails the session setup (no KRB-ERROR on the wire); smbclient does
  #      not fall back by itself, the same client retries with NTLM
  cap spn_wrong_account_smb "$D and (port 88 or tcp port 445)" bash -c "smbclient --use-kerberos=desired --realm=$REALM --option='netbios name=$WS' -U '$DOM\\$U1%$P1' //$ALIAS2.$DNSDOM/share -m SMB3 -c ls; smbclient --use-kerberos=disabled --option='netbios name=$WS' -U '$DOM\\$U1%$P1' //$ALIAS2.$DNSDOM/share -m SMB3 -c ls"
  # 3. clock_skew: client clock +1h (faketime). Samba's Heimdal corrects the skew of the AS exchange
  #    itself (KRB_AP_ERR_SKEW then a retry that succeeds) but its TGS-REQ gets KRB_AP_ERR_SKEW and
  #    smbclient gives up without NTLM; the same client (same clock) then retries with NTLM
  cap clock_skew_smb "$D and (port 88 or tcp port 445)" bash -c "faketime -f '+1h' smbclient --use-kerberos=desired --realm=$REALM --option='netbios name=$WS' -U '$DOM\\$U1%$P1' //$DCF/share -m SMB3 -c ls; faketime -f '+1h' smbclient --use-kerberos=disabled --option='netbios name=$WS' -U '$DOM\\$U1%$P1' //$DCF/share -m SMB3 -c ls"
  # 4. kdc_unreachable: the client's KDC is $DEADKDC where nothing listens (ICMP port unreachable / RST)
  cap kdc_unreachable_smb "host $DEADKDC or ($D and (port 88 or tcp port 445))" env KRB5_CONFIG=$G/krb5-deadkdc.conf smbclient --use-kerberos=desired --realm=$REALM --option="netbios name=$WS" -U "$DOM\\$U1%$P1" //$DCF/share -m SMB3 -c ls
  #    KRB_ERR_RESPONSE_TOO_BIG over UDP, never retried over TCP (Heimdal "kdc = udp/host": no TCP KDC known)
  cap krb_response_too_big_udp_only_then_ntlm "$D and (port 88 or tcp port 445)" env KRB5_CONFIG=$G/krb5-udponly.conf smbclient --use-kerberos=desired --realm=$REALM --option="netbios name=$WS" -U "$DOM\\$U1%$P1" //$DCF/share -m SMB3 -c ls
  # 5. cross_domain: account domain OTHERDOM (no such trust) to the DC
  cap cross_domain_smb "$D and tcp port 445" sc -U "OTHERDOM\\$U1%$P1" //$DCF/share -m SMB3 -c ls
  # 6. workgroup_server: the standalone smbd fs1 (workgroup WORKGRP, not in a domain)
  cap workgroup_server_smb "host $FSIP and tcp port 445" sc -U "WORKGRP\\$UFS%$PFS" //$FSF/data -m SMB3 -c ls
  #    ... and fs2, whose smbd has "server signing = disabled" (client signing off)
  cap workgroup_server_smb_signing_disabled "host $FS2IP and tcp port 445" sc -U "WORKGRP\\$UFS%$PFS" //$FS2N.$DNSDOM/data -m SMB2_10 --option='client signing=disabled' -c ls
  # 7. kerberos_not_offered: the client holds a TGT (kinit), but the server offers only NTLM
  newcc n1
  cap kerberos_not_offered_smb_impacket "($D and port 88) or (host $IMPIP and tcp port 445)" bash -c "echo '$P2' | kinit $U2@$REALM && smbclient --use-kerberos=desired --option='netbios name=$WS' -U '$DOM\\$U2%$P2' //$IMPN.$DNSDOM/IMPSHARE -m SMB3 -c ls"
  newcc n2
  cap kerberos_not_offered_http "($D and port 88) or (host $LEGIP and tcp port 80)" bash -c "echo '$P1' | kinit $U1@$REALM && curl -sS --anyauth -u '$DOM\\$U1:$P1' http://$LEGN.$DNSDOM/"
  # 8. local_account
  cap local_account_server_name_smb "$D and tcp port 445" sc -U "${DCN^^}\\$U1%$P1" //$DCF/share -m SMB3 -c ls
  cap local_account_client_name_smb "$D and tcp port 445" sc -U "$WS\\$U1%$P1" //$DCF/share -m SMB3 -c ls
  cap local_account_empty_domain_smb "$D and tcp port 445" bash -c "printf 'shares\nexit\n' | $PY /usr/share/doc/python3-impacket/examples/smbclient.py '$U1:$P1@$DCF' -target-ip $DCIP"
  # 10. unexplained: Kerberos works for this client and this SPN (AS + TGS cifs/dc1 succeed), the
  #     client still uses NTLM (smbclient --use-kerberos=disabled)
  newcc u1
  cap unexplained_smb "$D and (port 88 or tcp port 445)" bash -c "echo '$P1' | kinit $U1@$REALM && kvno cifs/$DCF && smbclient --use-kerberos=disabled --option='netbios name=$WS' -U '$DOM\\$U1%$P1' //$DCF/share -m SMB3 -c ls"
}
