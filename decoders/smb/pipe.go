package smb

// Named-pipe payloads: DCE/RPC rides on IPC$ pipes in WRITE requests, READ
// responses and FSCTL_PIPE_TRANSCEIVE IOCTLs, and its binds may carry their
// own NTLMSSP or Kerberos tokens [MS-RPCE 2.1.1.2].

// FileID is an SMB2 file handle [MS-SMB2 2.2.14.1].
type FileID [16]byte

// FsctlPipeTransceive is the IOCTL control code of a pipe round trip
// [MS-FSCC 2.3.49].
const FsctlPipeTransceive = 0x0011c017

// ParseWriteRequest2 returns the file and data of a WRITE request
// [MS-SMB2 2.2.21]: StructureSize(2)=49 DataOffset(2) Length(4) Offset(8)
// FileId(16) ...
func ParseWriteRequest2(msg []byte) (FileID, []byte, error) {
	var id FileID
	_, m, err := command2(msg, Write2, false, 48, "WRITE request")
	if err != nil {
		return id, nil, err
	}
	copy(id[:], m[Header2Len+16:])
	data, err := buffer2(m, int(le16(m, Header2Len+2)), int(le32(m, Header2Len+4)), "WRITE request")
	return id, data, err
}

// ParseReadRequest2 returns the file of a READ request [MS-SMB2 2.2.19]:
// StructureSize(2)=49 Padding(1) Flags(1) Length(4) Offset(8) FileId(16) ...
func ParseReadRequest2(msg []byte) (FileID, error) {
	var id FileID
	_, m, err := command2(msg, Read2, false, 48, "READ request")
	if err != nil {
		return id, err
	}
	copy(id[:], m[Header2Len+16:])
	return id, nil
}

// ParseReadResponse2 returns the data of a READ response [MS-SMB2 2.2.20]:
// StructureSize(2)=17 DataOffset(1) Reserved(1) DataLength(4) ...
func ParseReadResponse2(msg []byte) ([]byte, error) {
	h, m, err := command2(msg, Read2, true, 16, "READ response")
	if err != nil || isErrorResponse2(&h, m, statusBufferOverflow) {
		return nil, err
	}
	return buffer2(m, int(m[Header2Len+2]), int(le32(m, Header2Len+4)), "READ response")
}

// ParseIoctl2 returns the control code, file and input (request) or
// output (response) buffer of an IOCTL [MS-SMB2 2.2.31, 2.2.32]:
// StructureSize(2) Reserved(2) CtlCode(4) FileId(16) InputOffset(4)
// InputCount(4), then in a request MaxInputResponse(4) OutputOffset(4)
// OutputCount(4), in a response OutputOffset(4) OutputCount(4).
func ParseIoctl2(msg []byte, response bool) (ctl uint32, id FileID, data []byte, err error) {
	h, m, err := command2(msg, Ioctl2, response, 48, "IOCTL")
	if err != nil {
		return 0, id, nil, err
	}
	if response && isErrorResponse2(&h, m, statusBufferOverflow) {
		return 0, id, nil, nil
	}
	b := Header2Len
	ctl = le32(m, b+4)
	copy(id[:], m[b+8:])
	if response {
		data, err = buffer2(m, int(le32(m, b+32)), int(le32(m, b+36)), "IOCTL response")
	} else {
		data, err = buffer2(m, int(le32(m, b+24)), int(le32(m, b+28)), "IOCTL request")
	}
	return ctl, id, data, err
}

// STATUS_BUFFER_OVERFLOW: a pipe read returning part of a longer message
// still carries data.
const statusBufferOverflow = 0x80000005
