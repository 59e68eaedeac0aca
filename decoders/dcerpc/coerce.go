package dcerpc

// Coercing calls: RPC methods that make the server authenticate to a path
// the caller names, used to force a machine account (a domain controller's
// above all) into an NTLM logon that can be relayed (MITRE T1187 Forced
// Authentication, https://attack.mitre.org/techniques/T1187/).
type coercing struct {
	uuid   [16]byte
	opnums []uint16
	name   string
}

var coercingCalls = [...]coercing{
	// MS-RPRN 3.1.4.10.3 RpcRemoteFindFirstPrinterChangeNotification (62),
	// 3.1.4.10.4 RpcRemoteFindFirstPrinterChangeNotificationEx (65): the
	// printer bug / SpoolSample.
	{[16]byte{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0xab, 0xcd, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}, []uint16{62, 65}, "MS-RPRN"},
	// MS-EFSR 3.1.4.2: EfsRpcOpenFileRaw (0), EncryptFileSrv (4),
	// DecryptFileSrv (5), QueryUsersOnFile (6), QueryRecoveryAgents (7),
	// RemoveUsersFromFile (8), AddUsersToFile (9), FileKeyInfo (12),
	// DuplicateEncryptionInfoFile (13), AddUsersToFileEx (15),
	// FileKeyInfoEx (16), GetEncryptedFileMetadata (18),
	// SetEncryptedFileMetadata (19), EncryptFileExSrv (21): PetitPotam,
	// over \pipe\lsarpc (c681d488...) or \pipe\efsrpc (df1941c5...).
	{[16]byte{0xc6, 0x81, 0xd4, 0x88, 0xd8, 0x50, 0x11, 0xd0, 0x8c, 0x52, 0x00, 0xc0, 0x4f, 0xd9, 0x0f, 0x7e}, efsrOpnums, "MS-EFSR"},
	{[16]byte{0xdf, 0x19, 0x41, 0xc5, 0xfe, 0x89, 0x4e, 0x79, 0xbf, 0x10, 0x46, 0x36, 0x57, 0xac, 0xf4, 0x4d}, efsrOpnums, "MS-EFSR"},
	// MS-DFSNM 3.1.4.4.1 NetrDfsAddStdRoot (12), 3.1.4.4.2
	// NetrDfsRemoveStdRoot (13): DFSCoerce.
	{[16]byte{0x4f, 0xc7, 0x42, 0xe0, 0x4a, 0x10, 0x11, 0xcf, 0x82, 0x73, 0x00, 0xaa, 0x00, 0x4a, 0xe6, 0x73}, []uint16{12, 13}, "MS-DFSNM"},
	// MS-FSRVP 3.1.4.7 IsPathSupported (8), 3.1.4.8 IsPathShadowCopied
	// (9): ShadowCoerce (a8e0653c-2744-4389-a61d-7373df8b2292).
	{[16]byte{0xa8, 0xe0, 0x65, 0x3c, 0x27, 0x44, 0x43, 0x89, 0xa6, 0x1d, 0x73, 0x73, 0xdf, 0x8b, 0x22, 0x92}, []uint16{8, 9}, "MS-FSRVP"},
}

var efsrOpnums = []uint16{0, 4, 5, 6, 7, 8, 9, 12, 13, 15, 16, 18, 19, 21}

// Coercing names the protocol ("MS-RPRN", "MS-EFSR", "MS-DFSNM",
// "MS-FSRVP") when the call of opnum on interface uuid is known to coerce
// authentication, or returns "".
func Coercing(uuid [16]byte, opnum uint16) string {
	for i := range coercingCalls {
		c := &coercingCalls[i]
		if c.uuid != uuid {
			continue
		}
		for _, o := range c.opnums {
			if o == opnum {
				return c.name
			}
		}
	}
	return ""
}
