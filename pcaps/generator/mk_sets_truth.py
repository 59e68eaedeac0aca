#!/usr/bin/python3
"""TRUTH.md and expect.json for the audit and attacks sets.

usage: mk_sets_truth.py audit|attacks DIR
The scenario facts below were written from what each scenario does and checked against the
tshark dump that is appended per capture (verify.sh, same fields as the main set's TRUTH.md).
expect.json uses the field names, flag ids and cause ids of CONTRACT.md; alert rule ids
(attacks) are the names proposed here, see TRUTH.md.
"""
import json, os, subprocess, sys

SET, D = sys.argv[1], sys.argv[2]
GEN = os.path.dirname(os.path.abspath(__file__))
C, DC, FS, FS2, IMP, ATK, C2 = '127.0.0.5', '127.0.0.10', '127.0.0.20', '127.0.0.21', '127.0.0.40', '127.0.0.66', '127.0.0.6'


def ntlm(**kw):
    return {k.replace('__', '.'): v for k, v in kw.items()}


def E(f, req=(), no=()):
    return {'f': f, 'req': list(req), 'no': list(no)}


LAB = "Lab: realm LAB.TEST / NetBIOS domain LAB, DC dc1.lab.test = 127.0.0.10 (Samba 4.17 AD DC), client 127.0.0.5 (workstation name WKS01 for smbclient)."

AUDIT = {
 'spn_missing_smb_alias.pcap': dict(
  what="smbclient --use-kerberos=desired --realm=LAB.TEST -U 'LAB\\alice' //files.lab.test/share. files.lab.test resolves to the DC (127.0.0.10) but no account holds cifs/files.lab.test. Samba's client does its own AS exchange (PREAUTH_REQUIRED, then KRB_ERR_RESPONSE_TOO_BIG over UDP, retried over TCP, AS-REP), asks a TGS for cifs/files.lab.test -> KDC_ERR_S_PRINCIPAL_UNKNOWN (twice), then falls back to NTLMv2 in SPNEGO to the same server, target name cifs/files.lab.test; success, signed.",
  note="After a SUCCESSFUL AS exchange Samba sends the NTLM user in UPN form: user 'alice@LAB.TEST' with an EMPTY domain. That is not a local account (the user name holds the realm); a sensor must not give local_account here.",
  conclude="ntlm.cause = spn_missing (KDC_ERR_S_PRINCIPAL_UNKNOWN for cifs/files.lab.test from 127.0.0.5 just before NTLM to 127.0.0.10 with target cifs/files.lab.test).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname='cifs/files.lab.test', source__ip=C, event__outcome='failure', kerberos__error='KDC_ERR_S_PRINCIPAL_UNKNOWN'), ['krb_spn_unknown']),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice@LAB.TEST', ntlm__version='NTLMv2', ntlm__target_name='cifs/files.lab.test', event__outcome='success', ntlm__cause='spn_missing'), ['ntlm_fallback'], ['local_account', 'ip_target', 'ntlm_v1'])]),
 'spn_wrong_account_http.pcap': dict(
  what="HTTP/intranet.lab.test (127.0.0.31, test server with MIT GSSAPI acceptor) keeps a keytab made while the SPN was on svc_web; the SPN was then moved to svc_archive. kinit alice, curl --negotiate: TGS for HTTP/intranet.lab.test succeeds (ticket RC4, encrypted with svc_archive's key), the AP-REQ goes in 'Authorization: Negotiate'; the acceptor cannot decrypt it and answers 401 with a SPNEGO negTokenResp negResult=reject holding a KRB-ERROR error-code 31 KRB_AP_ERR_BAD_INTEGRITY. Then the same client logs on with NTLM (second command: curl --ntlm, 'Authorization: NTLM'), LAB\\alice NTLMv2, HTTP 200.",
  note="MIT's acceptor reports this case as KRB_AP_ERR_BAD_INTEGRITY (31); Windows servers report the same case as KRB_AP_ERR_MODIFIED (41). A sensor must treat both as 'ticket encrypted for another account'. curl does not fall back from Negotiate to NTLM by itself: the NTLM logon is a second curl run from the same client a few ms later.",
  conclude="ntlm.cause = spn_wrong_account (the server refused this client's AP-REQ for HTTP/intranet.lab.test with a KRB-ERROR just before). Flags of the NTLM finding include ntlm_direct (Authorization: NTLM).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname='HTTP/intranet.lab.test', event__outcome='success', kerberos__ticket_etype=23), ['krb_rc4']),
       E(ntlm(network__protocol='http', auth__mechanism='kerberos', kerberos__sname='HTTP/intranet.lab.test', source__ip=C, destination__ip='127.0.0.31', event__outcome='failure')),
       E(ntlm(network__protocol='http', source__ip=C, destination__ip='127.0.0.31', user__name='alice', user__domain='LAB', ntlm__version='NTLMv2', event__outcome='success', url__domain='intranet.lab.test', ntlm__cause='spn_wrong_account'), ['ntlm_direct'], ['ip_target', 'local_account'])]),
 'spn_wrong_account_smb.pcap': dict(
  what="cifs/archive.lab.test is registered on the user account svc_archive, archive.lab.test resolves to the DC. smbclient --use-kerberos=desired: AS exchange, TGS for cifs/archive.lab.test succeeds (ticket RC4 for svc_archive), AP-REQ in SMB2 SESSION_SETUP; the DC cannot decrypt it (its log: key of DC1$ not found for that ticket) and answers STATUS_LOGON_FAILURE with NO security blob (Samba sends no KRB-ERROR in SMB). smbclient does not fall back after that; the same client then runs smbclient --use-kerberos=disabled: NTLMv2 LAB\\alice, target cifs/archive.lab.test, success.",
  note="No Debian server puts KRB_AP_ERR_MODIFIED on the wire for SMB: Samba fails the session setup without a KRB-ERROR. The refusal is visible only as the carrier's failure answering the AP-REQ. The spn_wrong_account_http capture has the KRB-ERROR.",
  conclude="ntlm.cause = spn_wrong_account (the server refused this client's AP-REQ for cifs/archive.lab.test, a ticket the KDC did issue, just before). A sensor that requires a KRB-ERROR 41 gives 'unexplained' here; that is a known gap, not the truth.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname='cifs/archive.lab.test', event__outcome='success', kerberos__ticket_etype=23), ['krb_rc4']),
       E(ntlm(network__protocol='smb', auth__mechanism='kerberos', kerberos__sname='cifs/archive.lab.test', source__ip=C, event__outcome='failure', event__reason='STATUS_LOGON_FAILURE')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='LAB', ntlm__target_name='cifs/archive.lab.test', event__outcome='success', ntlm__cause='spn_wrong_account'), ['ntlm_fallback'], ['local_account', 'ip_target'])]),
 'clock_skew_smb.pcap': dict(
  what="Client clock +1h (faketime). smbclient --use-kerberos=desired: AS-REQ with PA-ENC-TIMESTAMP -> KRB_AP_ERR_SKEW (37); Samba's Heimdal corrects its offset and retries (KRB_ERR_RESPONSE_TOO_BIG on UDP, then TCP, AS-REP); the TGS-REQ for cifs/dc1.lab.test -> KRB_AP_ERR_SKEW (twice). smbclient gives up (NT_STATUS_LOGON_FAILURE, no NTLM sent). The same client (same clock) then runs smbclient --use-kerberos=disabled: NTLMv2 LAB\\alice to the DC, success.",
  note="Samba's client does not fall back to NTLM after a skew error on its own; the NTLM logon is the second smbclient run.",
  conclude="ntlm.cause = clock_skew (KRB_AP_ERR_SKEW for 127.0.0.5 from the KDC just before).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname='cifs/dc1.lab.test', source__ip=C, event__outcome='failure', kerberos__error='KRB_AP_ERR_SKEW'), ['krb_clock_skew']),
       E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name='alice', event__outcome='failure', kerberos__error='KRB_AP_ERR_SKEW'), ['krb_clock_skew']),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='LAB', ntlm__target_name='cifs/dc1.lab.test', event__outcome='success', ntlm__cause='clock_skew'), ['ntlm_fallback'], ['local_account', 'ip_target'])]),
 'kdc_unreachable_smb.pcap': dict(
  what="The client's krb5.conf names 127.0.0.88 as KDC; nothing listens there. smbclient --use-kerberos=desired sends one AS-REQ over UDP to 127.0.0.88:88, the kernel answers ICMP port unreachable (no Kerberos answer), Samba gives up on Kerberos and logs on with NTLMv2 LAB\\alice to the DC, success.",
  note="The only Kerberos message is the unanswered AS-REQ (tshark also decodes the copy quoted inside the ICMP error). Filter: host 127.0.0.88 or (host 127.0.0.10 and (port 88 or tcp port 445)).",
  conclude="ntlm.cause = kdc_unreachable (this client's AS-REQ went unanswered).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', source__ip=C, destination__ip='127.0.0.88', event__outcome='unknown')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='LAB', ntlm__target_name='cifs/dc1.lab.test', event__outcome='success', ntlm__cause='kdc_unreachable'), ['ntlm_fallback'], ['local_account', 'ip_target'])]),
 'krb_response_too_big_udp_only_then_ntlm.pcap': dict(
  what="The client's krb5.conf says 'kdc = udp/127.0.0.10' (Heimdal syntax: UDP only). smbclient --use-kerberos=desired: AS-REQ -> PREAUTH_REQUIRED, AS-REQ with PA-ENC-TIMESTAMP -> KRB_ERR_RESPONSE_TOO_BIG (52), again -> 52; the client knows no TCP KDC, so it never retries over TCP; Kerberos fails and NTLMv2 LAB\\alice to the DC follows, success.",
  note="All Kerberos here is UDP. Compare spn_missing_smb_alias / clock_skew_smb where the same error IS retried over TCP.",
  conclude="ntlm.cause = kdc_unreachable (the KDC never delivered an AS-REP: RESPONSE_TOO_BIG with no TCP retry). Kerberos AS findings: failure, KRB_ERR_RESPONSE_TOO_BIG, transport udp.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', network__transport='udp', event__outcome='failure', kerberos__error='KRB_ERR_RESPONSE_TOO_BIG')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='LAB', event__outcome='success', ntlm__cause='kdc_unreachable'), ['ntlm_fallback'], ['local_account'])]),
 'cross_domain_smb.pcap': dict(
  what="smbclient --use-kerberos=disabled -U 'OTHERDOM\\alice' //dc1.lab.test/share: NTLMv2 with account domain OTHERDOM (no such domain or trust) to the DC of LAB. Samba maps the unknown domain to its own and the logon succeeds.",
  note="", conclude="ntlm.cause = cross_domain (OTHERDOM is neither the server's domain LAB/lab.test nor a local name).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='OTHERDOM', event__outcome='success', ntlm__cause='cross_domain'), [], ['local_account', 'ip_target'])]),
 'workgroup_server_smb.pcap': dict(
  what="smbclient -U 'WORKGRP\\carol' //fs1.lab.test/data: standalone smbd fs1 (127.0.0.20, workgroup WORKGRP, not in a domain). Its CHALLENGE target info: NetBIOS domain FS1 = its own NetBIOS computer name FS1, no DNS domain name. NTLMv2 success; SMB 3.1.1 signed by the client although the server does not require it.",
  note="The CHALLENGE's DNS computer name is the generating machine's host name (Samba puts the OS host name there).",
  conclude="ntlm.cause = workgroup_server.",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=FS, user__name='carol', user__domain='WORKGRP', ntlm__server__nb_domain='FS1', event__outcome='success', ntlm__cause='workgroup_server'), [], ['ip_target'])]),
 'workgroup_server_smb_signing_disabled.pcap': dict(
  what="fs2 (127.0.0.21): standalone smbd with 'server signing = disabled'; smbclient -m SMB2_10 with client signing disabled, WORKGRP\\carol, NTLMv2 success. SMB 2.1, server does not require signing (SecurityMode sign_required=0).",
  note="Samba still signs the last SESSION_SETUP response, the TREE_CONNECTs and the FSCTL_VALIDATE_NEGOTIATE_INFO ioctls (the protocol's own downgrade protection); every other message (CREATE, QUERY_DIRECTORY, QUERY_INFO, CLOSE, TREE_DISCONNECT, other IOCTLs) is unsigned. The tshark dump below only shows the TREE_CONNECT flags.", conclude="ntlm.cause = workgroup_server; flag smb_unsigned.",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=FS2, user__name='carol', user__domain='WORKGRP', smb__signing_required=False, smb__signed=False, event__outcome='success', ntlm__cause='workgroup_server'), ['smb_unsigned'])]),
 'kerberos_not_offered_smb_impacket.pcap': dict(
  what="kinit bob (AS success: the client has a TGT), then smbclient --use-kerberos=desired -U 'LAB\\bob' //imp.lab.test/IMPSHARE: impacket smbserver (127.0.0.40), whose SMB2 NEGOTIATE SPNEGO offers only NTLMSSP (1.3.6.1.4.1.311.2.2.10). NTLMv2 LAB\\bob, success.",
  note="impacket's CHALLENGE carries random 8-letter NetBIOS/DNS names (its default), so the server's 'domain' differs from LAB; the decisive fact is that the server offered no Kerberos.",
  conclude="ntlm.cause = kerberos_not_offered; auth.offered = [\"ntlm\"]; no ntlm_fallback.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name='bob', event__outcome='success')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=IMP, user__name='bob', user__domain='LAB', ntlm__target_name='cifs/imp.lab.test', auth__offered=['ntlm'], event__outcome='success', ntlm__cause='kerberos_not_offered'), [], ['ntlm_fallback', 'ip_target'])]),
 'kerberos_not_offered_http.pcap': dict(
  what="kinit alice (AS success), then curl --anyauth -u 'LAB\\alice' http://legacy.lab.test/ (test server 127.0.0.32 that answers 401 with only 'WWW-Authenticate: NTLM'). curl --anyauth would pick Negotiate if offered; it picks NTLM: NTLMv2 LAB\\alice, 200.",
  note="TEST SERVER (ntlm_test_server.py with HTTP_SCHEMES=NTLM).",
  conclude="ntlm.cause = kerberos_not_offered (the server's 401 offered only NTLM); the finding also has flag ntlm_direct (Authorization: NTLM).",
  exp=[E(ntlm(network__protocol='http', source__ip=C, destination__ip='127.0.0.32', user__name='alice', user__domain='LAB', url__domain='legacy.lab.test', event__outcome='success', ntlm__cause='kerberos_not_offered'), ['ntlm_direct'], ['ntlm_fallback', 'ip_target'])]),
 'local_account_server_name_smb.pcap': dict(
  what="smbclient -U 'DC1\\alice': account domain = the server's NetBIOS name DC1. NTLMv2, success (on a DC the 'local' SAM is the domain's).",
  note="", conclude="ntlm.cause = local_account; flag local_account.",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='DC1', event__outcome='success', ntlm__cause='local_account'), ['local_account'])]),
 'local_account_client_name_smb.pcap': dict(
  what="smbclient (netbios name WKS01) -U 'WKS01\\alice': account domain = the client's own workstation name (also sent as workstation WKS01). NTLMv2, success.",
  note="", conclude="ntlm.cause = local_account (domain = the client's workstation name).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='WKS01', ntlm__workstation='WKS01', event__outcome='success', ntlm__cause='local_account'))]),
 'local_account_empty_domain_smb.pcap': dict(
  what="impacket smbclient.py 'alice:...@dc1.lab.test' (no domain): NTLMv2 with an EMPTY domain and empty workstation, target cifs/DC1, SMB 3.0, success.",
  note="", conclude="ntlm.cause = local_account (empty domain); flag local_account.",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', ntlm__version='NTLMv2', event__outcome='success', ntlm__cause='local_account'), ['local_account'])]),
 'unexplained_smb.pcap': dict(
  what="kinit alice + kvno cifs/dc1.lab.test (AS and TGS succeed, AES: Kerberos works for this client and this SPN), then smbclient --use-kerberos=disabled -U 'LAB\\alice' //dc1.lab.test/share: NTLMv2, success. The server offered Kerberos in SPNEGO.",
  note="", conclude="ntlm.cause = unexplained; flag ntlm_fallback.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname='cifs/dc1.lab.test', event__outcome='success')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=DC, user__name='alice', user__domain='LAB', ntlm__target_name='cifs/dc1.lab.test', event__outcome='success', ntlm__cause='unexplained'), ['ntlm_fallback'], ['local_account', 'ip_target'])]),
}

ALERT = lambda rid, **kw: E(dict({'event.kind': 'alert', 'rule.id': rid}, **{k.replace('__', '.'): v for k, v in kw.items()}))
BRUTE = ['Password1', 'Welcome1', 'Summer2026!', 'Alice2026', 'Qwerty123', 'Letmein1', 'Passw0rd!', 'Company1', 'Alice#Pass0', 'Alice#Pass2']
ATTACKS = {
 'ntlm_relay_smb_to_smb.pcap': dict(
  what="impacket ntlmrelayx (SMB server on 127.0.0.66:445, target smb://127.0.0.20). Victim leg: smbclient on 127.0.0.5 -> 127.0.0.66 as WORKGRP\\carol (NTLMv2, target name cifs/127.0.0.66). Relay leg: 127.0.0.66 -> 127.0.0.20 (fs1, signing not required), the SAME NEGOTIATE/AUTHENTICATE relayed; fs1 accepts (STATUS_SUCCESS, session not signed), ntlmrelayx then tries its command (-c) and gets access denied. The victim's tree connect fails (ACCESS_DENIED).",
  pw="carol / Carol#Pass3 (account of fs1). The AUTHENTICATE is byte-identical on both legs; the server challenge of the relay leg (fs1's) is the one the victim answered.",
  conclude="alert ntlm_relay: the same NTLM AUTHENTICATE (same NTProofStr) seen on two connections, 127.0.0.5->127.0.0.66 and 127.0.0.66->127.0.0.20; the relay leg is unsigned (smb_unsigned).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=ATK, user__name='carol', user__domain='WORKGRP', ntlm__target_name='cifs/127.0.0.66')),
       E(ntlm(network__protocol='smb', source__ip=ATK, destination__ip=FS, user__name='carol', user__domain='WORKGRP', ntlm__target_name='cifs/127.0.0.66', event__outcome='success'), ['smb_unsigned']),
       ALERT('ntlm_relay', source__ip=ATK, destination__ip=FS)]),
 'coerce_rprn_then_machine_account_ntlm.pcap': dict(
  what="Attacker 127.0.0.66 -> DC 127.0.0.10:445 as LAB\\alice (NTLMv2, SMB 2.1 so the RPC is visible), \\pipe\\spoolss: RpcOpenPrinter(\\\\dc1.lab.test), RpcRemoteFindFirstPrinterChangeNotificationEx(pszLocalMachine=\\\\127.0.0.66) -> the DC answers RPC_S_SERVER_UNAVAILABLE and does NOT call back. Then the machine account: smbclient -P (the DC's own stored machine password, from its secrets) from the DC's address 127.0.0.10 -> 127.0.0.66:445 as LAB\\DC1$ (NTLMv2) to the attacker's listener (impacket SimpleSMBServer, challenge 1122334455667788), STATUS_SUCCESS with session flag IS_GUEST.",
  pw="alice / Alice#Pass1 (the RPC call). DC1$: the DC's random machine password (not known to the generator; recorded nowhere), so the DC1$ response cannot be recomputed. Listener challenge 1122334455667788.",
  note="HONEST NOTE: the DC1$ logon is NOT caused by the RPC call. Samba's spooler refused to call back (RPC_S_SERVER_UNAVAILABLE, no connection opened); most likely because Samba's spoolss_connect_to_client refuses addresses it takes for its own, and every 127.x address is 'its own'. On a real network a Windows DC would connect back as DC1$. MS-EFSR (EfsRpcOpenFileRaw) is not served by Samba at all.",
  conclude="alert coerced_auth: an RPRN RpcRemoteFindFirstPrinterChangeNotificationEx naming \\\\127.0.0.66 sent to the DC, followed by an NTLM logon of the machine account DC1$ from the DC to 127.0.0.66, which is not a DC.",
  exp=[E(ntlm(network__protocol='smb', source__ip=ATK, destination__ip=DC, user__name='alice', user__domain='LAB', event__outcome='success')),
       E(ntlm(network__protocol='smb', source__ip=DC, destination__ip=ATK, user__name='DC1$', user__domain='LAB', ntlm__version='NTLMv2', event__outcome='success')),
       ALERT('coerced_auth', source__ip=DC, destination__ip=ATK)]),
 'rogue_smb_server_fixed_challenge.pcap': dict(
  what="Rogue SMB server (impacket SimpleSMBServer, generator/rogue_smb_server.py) on 127.0.0.66 whose every CHALLENGE carries the server challenge 1122334455667788 and accepts every logon. Three smbclient logons: LAB\\alice and LAB\\bob from 127.0.0.5, LAB\\alice from 127.0.0.6. All NTLMv2, target cifs/127.0.0.66, STATUS_SUCCESS with session flag IS_GUEST (impacket without configured accounts).",
  pw="alice / Alice#Pass1, bob / Bob#Pass22. Server challenge 1122334455667788 in all three CHALLENGE messages.",
  conclude="alert rogue_ntlm_server (one server handing the same server challenge to several connections / clients).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, destination__ip=ATK, user__name='alice', user__domain='LAB', event__outcome='success')),
       E(ntlm(network__protocol='smb', source__ip=C, destination__ip=ATK, user__name='bob', user__domain='LAB', event__outcome='success')),
       E(ntlm(network__protocol='smb', source__ip=C2, destination__ip=ATK, user__name='alice', user__domain='LAB', event__outcome='success')),
       ALERT('rogue_ntlm_server', destination__ip=ATK)]),
 'spray_smb_ntlm.pcap': dict(
  what="One client 127.0.0.5, smbclient NTLM to the DC for user01..user08 (all exist), each with the one password 'Winter2026!' (wrong for all): 8 x STATUS_LOGON_FAILURE.",
  pw="tried: Winter2026! for user01..user08; their real passwords are Spray#User01..Spray#User08.",
  conclude="alert password_spray (one source, 8 accounts, one failure each).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, user__name='user%02d' % i, user__domain='LAB', event__outcome='failure', event__reason='STATUS_LOGON_FAILURE')) for i in range(1, 9)] + [ALERT('password_spray', source__ip=C)]),
 'spray_kerberos.pcap': dict(
  what="One client, MIT kinit for user01..user08 with 'Winter2026!' (KDC_ERR_PREAUTH_REQUIRED then KDC_ERR_PREAUTH_FAILED each) and for admin, backup (do not exist: KDC_ERR_C_PRINCIPAL_UNKNOWN).",
  pw="tried: Winter2026! for every name; real passwords Spray#User01..08.",
  conclude="alert password_spray (Kerberos: 8 PREAUTH_FAILED + 2 C_PRINCIPAL_UNKNOWN, 10 names, one source).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', source__ip=C, user__name='user%02d' % i, event__outcome='failure', kerberos__error='KDC_ERR_PREAUTH_FAILED'), ['krb_preauth_failed']) for i in range(1, 9)] +
      [E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name=u, event__outcome='failure', kerberos__error='KDC_ERR_C_PRINCIPAL_UNKNOWN')) for u in ('admin', 'backup')] + [ALERT('password_spray', source__ip=C)]),
 'bruteforce_smb_ntlm.pcap': dict(
  what="One client, smbclient NTLM to the DC as LAB\\alice with 10 wrong passwords: 10 x STATUS_LOGON_FAILURE.",
  pw="alice's real password Alice#Pass1; tried, in order: " + ', '.join(BRUTE),
  conclude="alert brute_force (one source, one account, 10 failures).",
  exp=[E(ntlm(network__protocol='smb', source__ip=C, user__name='alice', user__domain='LAB', event__outcome='failure')), ALERT('brute_force', source__ip=C)]),
 'bruteforce_kerberos.pcap': dict(
  what="One client, MIT kinit alice@LAB.TEST with the same 10 wrong passwords: 10 x (PREAUTH_REQUIRED, PREAUTH_FAILED).",
  pw="alice's real password Alice#Pass1; tried, in order: " + ', '.join(BRUTE),
  conclude="alert brute_force (Kerberos).",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name='alice', event__outcome='failure', kerberos__error='KDC_ERR_PREAUTH_FAILED'), ['krb_preauth_failed']), ALERT('brute_force', source__ip=C)]),
 'kerberoast_attempt_getuserspns.pcap': dict(
  what="impacket GetUserSPNs -request -usersfile (svc_web, svc_archive, svc_sql, svc_app) as alice: AS exchange, then one TGS-REQ per account (enterprise name of the account, etype list 23 rc4-hmac, 16 des3, 3 des; the AS-REQ offered only 23). Samba 4.17's KDC refuses every one of impacket 0.10's TGS-REQs with KRB_AP_ERR_INAPP_CKSUM: no service ticket is issued.",
  pw="alice / Alice#Pass1. Service accounts: svc_web / SvcWeb#Pass4, svc_archive / SvcArch#Pass5, svc_sql / SvcSql#Pass6, svc_app / SvcApp#Pass7.",
  note="GetUserSPNs without -usersfile first binds to LDAP with NTLM in the Microsoft Sicily form, which Samba does not speak (see ../ldap3_sicily_ntlm_rejected.pcap): it never gets to Kerberos. kerberoast_rc4_tgs_kvno.pcap has the successful pattern.",
  conclude="alert kerberoasting (attempt): one client asking RC4-only service tickets for several service accounts in a burst.",
  exp=[ALERT('kerberoasting', source__ip=C)]),
 'kerberoast_rc4_tgs_kvno.pcap': dict(
  what="kinit alice (AES), then MIT kvno -e rc4-hmac for HTTP/web.lab.test (svc_web), cifs/archive.lab.test (svc_archive), MSSQLSvc/sql.lab.test:1433 (svc_sql), HTTP/app.lab.test (svc_app): four TGS-REQs asking only RC4, four TGS-REPs with RC4 (23) tickets (enc-part AES, the TGT session key).",
  pw="alice / Alice#Pass1; ticket keys: svc_web / SvcWeb#Pass4, svc_archive / SvcArch#Pass5, svc_sql / SvcSql#Pass6, svc_app / SvcApp#Pass7 (RC4 key = NT hash of the password).",
  conclude="alert kerberoasting: one client, RC4-only TGS-REQs for 4 SPNs of user (service) accounts within a second; each TGS finding has krb_rc4.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='TGS', kerberos__sname=s, event__outcome='success', kerberos__ticket_etype=23), ['krb_rc4'])
       for s in ('HTTP/web.lab.test', 'cifs/archive.lab.test', 'MSSQLSvc/sql.lab.test:1433', 'HTTP/app.lab.test')] + [ALERT('kerberoasting', source__ip=C)]),
 'asrep_roast_attempt_getnpusers.pcap': dict(
  what="dave has userAccountControl 0x400200 (NORMAL_ACCOUNT | DONT_REQ_PREAUTH, set with ldbmodify; samba-tool user show confirms it). impacket GetNPUsers -no-pass LAB.TEST/dave sends an AS-REQ without pre-authentication asking only RC4. Samba 4.17's KDC answers KDC_ERR_PREAUTH_REQUIRED anyway: no AS-REP, nothing to crack.",
  pw="dave / Dave#NoPreauth8.",
  note="FAILED SCENARIO: Samba's KDC in this lab required pre-authentication for dave despite DONT_REQ_PREAUTH (also after setting the flag over LDAP and with '[kdc] require-preauth = false' in the KDC's krb5.conf). The capture is the real attempt only.",
  conclude="No AS-REP roast happened. The AS finding: failure-free step (PREAUTH_REQUIRED), RC4-only etypes (flag krb_rc4). An asrep_roasting alert is not required; a sensor may report the attempt.",
  exp=[]),
 'krb_downgrade_aes_then_rc4.pcap': dict(
  what="One client: kinit alice twice with the default config (AS-REQ etypes AES256/AES128/..., AS-REP AES256), then kinit alice with the RC4-only config (AS-REQ offers only etype 23; AS-REP enc-part RC4).",
  pw="alice / Alice#Pass1.",
  conclude="alert kerberos_downgrade: the same client and account asked AES before and RC4-only now; the RC4 AS finding has krb_rc4.",
  exp=[E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name='alice', event__outcome='success'), [], ['krb_rc4']),
       E(ntlm(network__protocol='kerberos', kerberos__request='AS', user__name='alice', event__outcome='success', kerberos__etypes=[23]), ['krb_rc4']),
       ALERT('kerberos_downgrade', source__ip=C)]),
}

SPEC = AUDIT if SET == 'audit' else ATTACKS
HEAD = {
 'audit': ("# Ground truth: audit set (why each NTLM logon is NTLM)",
           "One capture per cause id of CONTRACT.md (`ntlm.cause`). Where the cause is a Kerberos failure the capture holds the Kerberos evidence and the NTLM logon that follows, from the same client 127.0.0.5. "
           "ntlm_direct and ip_target are covered by the main set (../http_ntlmv2_hostname.pcap, ../dcerpc_tcp_ntlmssp_sign.pcap; ../smb2_ntlmv2_by_ip.pcap, ../http_ntlmv2_by_ip.pcap, ../ldap_spnego_ntlm_by_ip.pcap, ../smb2_kerberos_desired_by_ip_uses_ntlm.pcap) and not repeated here. "
           "IAKerb and NegoEx: not produced (see the end of this file)."),
 'attacks': ("# Ground truth: attacks set",
             "Real attack tools on loopback. The lab passwords are test fixtures, listed so tests can recompute NTLMv2 responses (NTProofStr = HMAC-MD5(NTOWFv2(password, user, domain-as-sent), server challenge | blob)) and Kerberos encrypted parts (keys from password + salt REALM+user; RC4 key = NT hash). "
             "Alert rule ids (`rule.id`) are the ones proposed here: ntlm_relay, coerced_auth, rogue_ntlm_server, password_spray, brute_force, kerberoasting, kerberos_downgrade (asrep_roasting would be the AS-REP roasting one); CONTRACT.md lists none yet."),
}
TAIL = {
 'audit': """
## Not produced
- **IAKerb (1.3.6.1.5.2.5) and NegoEx**: not captured. MIT krb5 1.20 has an IAKerb mechanism, but no Debian client/server pair speaks it over a real carrier (SMB/HTTP/LDAP): Samba, curl and the OpenLDAP tools never select it, and a hand-written GSSAPI loop over a private socket would be no carrier the sensor knows. NegoEx needs a mechanism plugin (none packaged in Debian 12) on both ends.
""",
 'attacks': """
## Not produced / limits
- **Coerced callback by the DC itself**: Samba's spooler answers RPC_S_SERVER_UNAVAILABLE for a loopback listener and never connects (see coerce_rprn_then_machine_account_ntlm); the DC1$ logon in that capture is made by smbclient -P from the DC's address. MS-EFSR is not served by Samba.
- **AS-REP roasting**: the KDC kept requiring pre-authentication (see asrep_roast_attempt_getnpusers).
- **impacket Kerberoasting**: refused by the KDC (KRB_AP_ERR_INAPP_CKSUM); the successful pattern is made with MIT kvno.
""",
}


def dump(f):
    tmp = os.path.join(D, '.one')
    os.makedirs(tmp, exist_ok=True)
    link = os.path.join(tmp, f)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.join('..', f), link)
    out = subprocess.run(['bash', os.path.join(GEN, 'verify.sh'), tmp], capture_output=True, text=True).stdout
    os.remove(link)
    os.rmdir(tmp)
    et = subprocess.run(['tshark', '-n', '-r', os.path.join(D, f), '-Y', 'kerberos.msg_type==10 || kerberos.msg_type==12', '-T', 'fields',
                         '-e', 'frame.number', '-e', 'kerberos.msg_type', '-e', 'kerberos.ENCTYPE'], capture_output=True, text=True).stdout
    et = ['krb req body etypes (frame type etypes[,authenticator etype]): ' + l for l in et.splitlines() if l.strip()]
    return '\n'.join([l for l in out.splitlines()[1:] if l.strip() and 'SASL-wrapped' not in l] + et)


lines = [HEAD[SET][0], '', HEAD[SET][1], '', LAB, '',
         'Made by `generator/generate.sh %s`. Facts per capture: `generator/verify.sh` (tshark 4.0) output, pasted below each section. '
         'Samba 4.17.12 (AD DC and standalone smbd), smbclient 4.17 (Heimdal), MIT krb5 1.20 kinit/kvno, python3-impacket 0.10, curl 7.88.' % SET, '']
expect = {'_about': "Like ../expect.json: per capture, findings (and, for attacks, alerts with event.kind 'alert' and rule.id) that must exist: 'f' fields that must be equal, 'req' flags present, 'no' flags absent. An empty list: nothing is required."}
for cap in sorted(SPEC):
    s = SPEC[cap]
    if not os.path.exists(os.path.join(D, cap)):
        lines += ['## %s' % cap, '', '**missing**: the scenario did not produce this capture.', '']
        continue
    lines += ['## %s' % cap, '', '- What happened: ' + s['what']]
    if s.get('note'):
        lines.append('- Note: ' + s['note'])
    if s.get('pw'):
        lines.append('- Lab passwords: ' + s['pw'])
    lines += ['- Sensor must conclude: ' + s['conclude'], '', '```', dump(cap), '```', '']
    expect[cap] = s['exp']
lines.append(TAIL[SET])
open(os.path.join(D, 'TRUTH.md'), 'w').write('\n'.join(lines))
json.dump(expect, open(os.path.join(D, 'expect.json'), 'w'), indent=1)
print('wrote TRUTH.md and expect.json for %d captures' % (len(expect) - 1))
