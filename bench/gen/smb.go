package gen

import (
	"encoding/binary"
	"unicode/utf16"
)

// SMB2 commands [MS-SMB2 2.2.1].
const (
	smbCreate         = 5
	smbClose          = 6
	smbRead           = 8
	smbWrite          = 9
	smbEcho           = 13
	smbQueryDirectory = 14
	smbQueryInfo      = 16
)

// smbScript is an SMB2/3 connection of a logged-on session, captured after
// its logon: files opened, read and written in realistic I/O sizes
// (64 KiB to 8 MiB, several requests outstanding), directories listed,
// compounded metadata queries; optionally signed or encrypted.
type smbScript struct {
	queue
	signed    bool
	encrypted bool
	session   uint64
	tree      uint32
	mid       uint64
	budget    int64 // file bytes left to move
	maxIO     int
	window    int
}

func newSMBScript(c *tcpConn, budget int64) *smbScript {
	r := c.rng
	s := &smbScript{
		session: r.Uint64()&^0xffff | 0x0011,
		tree:    uint32(1 + r.IntN(16)),
		mid:     uint64(r.IntN(1 << 20)),
		budget:  budget,
		window:  1 + r.IntN(8),
	}
	switch r.IntN(10) {
	case 0:
		s.encrypted = true
	case 1, 2, 3:
		s.signed = true
	}
	switch r.IntN(4) {
	case 0:
		s.maxIO = 64 << 10 // SMB 2.0.2 clients, or small-buffer applications
	case 1:
		s.maxIO = 8 << 20 // SMB 3 large MTU copies
	default:
		s.maxIO = 1 << 20 // Windows 10/11 Explorer
	}
	return s
}

func (s *smbScript) next(c *tcpConn) (message, bool) {
	if s.empty() {
		if s.budget <= 0 {
			return message{}, false
		}
		s.plan(c)
	}
	return s.pop()
}

var smbFileNames = []string{
	`Finance\Q3\forecast.xlsx`, `Projects\alpha\design.docx`, `Users\jdoe\Desktop\notes.txt`,
	`Software\installers\setup-x64.msi`, `Backups\db01\full.bak`, `Media\training\onboarding.mp4`,
	`HR\policies\handbook.pdf`, `Engineering\builds\release\app.zip`, `Profiles\kim\NTUSER.DAT`,
	`Scans\2026\scan0042.pdf`, `Shared\logs\app-2026-01-11.log`, `VMs\templates\win11.vhdx`,
}

func (s *smbScript) plan(c *tcpConn) {
	r := c.rng
	switch x := r.IntN(100); {
	case x < 55:
		size := logUniform(r, 4<<10, min(max(s.budget, 8<<10), 256<<20))
		s.transfer(c, int64(size), false)
		s.budget -= int64(size)
	case x < 80:
		size := logUniform(r, 4<<10, min(max(s.budget, 8<<10), 128<<20))
		s.transfer(c, int64(size), true)
		s.budget -= int64(size)
	case x < 90:
		s.listDirectory(c)
		s.budget -= 16 << 10
	case x < 98:
		s.compoundInfo(c)
		s.budget -= 4 << 10
	default:
		s.push(s.msg(c, true, smbEcho, 0, s.mid, le(4, 0), 0, us(r, 1000, 5e6), false))
		s.push(s.msg(c, false, smbEcho, 0, s.mid, le(4, 0), 0, us(r, 30, 300), false))
		s.mid++
		s.budget -= 1 << 10
	}
}

// transfer opens a file, reads or writes it in maxIO pieces with a window
// of outstanding requests, and closes it.
func (s *smbScript) transfer(c *tcpConn, size int64, write bool) {
	r := c.rng
	fid := s.create(c, smbFileNames[r.IntN(len(smbFileNames))], size)
	var off int64
	for off < size {
		n := 0
		var lens []int
		for k := 0; k < s.window && off < size; k++ {
			l := int(min(int64(s.maxIO), size-off))
			lens = append(lens, l)
			var b []byte
			if write {
				b = s.writeReq(l, off, fid)
				s.push(s.msg(c, true, smbWrite, 0, s.mid+uint64(k), b, l, us(r, 10, 300), k > 0))
			} else {
				b = s.readReq(l, off, fid)
				s.push(s.msg(c, true, smbRead, 0, s.mid+uint64(k), b, 0, us(r, 10, 300), k > 0))
			}
			off += int64(l)
			n++
		}
		for k := 0; k < n; k++ {
			think := int64(0)
			if k == 0 {
				think = us(r, 60, 3000) // the server's disk and network
			}
			if write {
				s.push(s.msg(c, false, smbWrite, 0, s.mid+uint64(k), writeResp(lens[k]), 0, think, k > 0))
			} else {
				s.push(s.msg(c, false, smbRead, 0, s.mid+uint64(k), readResp(lens[k]), lens[k], think, k > 0))
			}
		}
		s.mid += uint64(n)
	}
	s.close(c, fid)
}

// create opens name; it returns the FileId.
func (s *smbScript) create(c *tcpConn, name string, size int64) [16]byte {
	r := c.rng
	var fid [16]byte
	binary.LittleEndian.PutUint64(fid[0:], r.Uint64())
	binary.LittleEndian.PutUint64(fid[8:], r.Uint64())
	s.push(s.msg(c, true, smbCreate, 0, s.mid, createReq(name), 0, us(r, 20, 2000), false))
	s.push(s.msg(c, false, smbCreate, 0, s.mid, createResp(fid, size), 0, us(r, 50, 1500), false))
	s.mid++
	return fid
}

func (s *smbScript) close(c *tcpConn, fid [16]byte) {
	r := c.rng
	b := le(24, 0)
	copy(b[8:], fid[:])
	s.push(s.msg(c, true, smbClose, 0, s.mid, b, 0, us(r, 20, 500), false))
	s.push(s.msg(c, false, smbClose, 0, s.mid, le(60, 0), 0, us(r, 30, 400), false))
	s.mid++
}

func (s *smbScript) listDirectory(c *tcpConn) {
	r := c.rng
	fid := s.create(c, `Projects\alpha`, 0)
	pages := 1 + r.IntN(3)
	for i := 0; i <= pages; i++ {
		q := le(33, 0)
		q[2] = 0x25 // FileIdBothDirectoryInformation
		copy(q[8:], fid[:])
		binary.LittleEndian.PutUint16(q[24:], 64+32)
		binary.LittleEndian.PutUint16(q[26:], 2)
		binary.LittleEndian.PutUint32(q[28:], 65536)
		q = append(q[:32], '*', 0)
		s.push(s.msg(c, true, smbQueryDirectory, 0, s.mid, q, 0, us(r, 20, 300), false))
		if i == pages {
			s.push(s.msg(c, false, smbQueryDirectory, 0x80000006, s.mid, le(9, 1), 0, us(r, 40, 500), false)) // STATUS_NO_MORE_FILES
		} else {
			n := 1000 + r.IntN(60000)
			b := le(9, 0)
			binary.LittleEndian.PutUint16(b[2:], 64+8)
			binary.LittleEndian.PutUint32(b[4:], uint32(n))
			s.push(s.msg(c, false, smbQueryDirectory, 0, s.mid, b[:8], n, us(r, 50, 2000), false))
		}
		s.mid++
	}
	s.close(c, fid)
}

// compoundInfo is Explorer's CREATE + QUERY_INFO + CLOSE in one frame
// [MS-SMB2 3.2.4.1.4], and the compounded responses.
func (s *smbScript) compoundInfo(c *tcpConn) {
	r := c.rng
	name := smbFileNames[r.IntN(len(smbFileNames))]
	qi := le(41, 0)
	qi[2], qi[3] = 1, 0x22 // SMB2_0_INFO_FILE, FileNetworkOpenInformation
	binary.LittleEndian.PutUint32(qi[4:], 56)
	for i := 24; i < 40; i++ {
		qi[i] = 0xff // the FileId of the related CREATE
	}
	reqs := [][]byte{createReq(name), qi[:40], le(24, 0)}
	for i := 8; i < 24; i++ {
		reqs[2][i] = 0xff
	}
	var fid [16]byte
	binary.LittleEndian.PutUint64(fid[0:], r.Uint64())
	qr := le(9, 0)
	binary.LittleEndian.PutUint16(qr[2:], 64+8)
	binary.LittleEndian.PutUint32(qr[4:], 56)
	qr = append(qr[:8], make([]byte, 56)...)
	resps := [][]byte{createResp(fid, int64(r.IntN(1<<24))), qr, le(60, 0)}
	cmds := []uint16{smbCreate, smbQueryInfo, smbClose}
	s.push(s.compound(c, true, cmds, reqs, us(r, 20, 2000)))
	s.push(s.compound(c, false, cmds, resps, us(r, 50, 1500)))
	s.mid += 3
}

func (s *smbScript) compound(c *tcpConn, fromClient bool, cmds []uint16, bodies [][]byte, think int64) message {
	var b []byte
	for i := range cmds {
		start := len(b)
		flags := uint32(0)
		if i > 0 {
			flags |= 0x4 // related operations
		}
		b = s.header(c, b, fromClient, cmds[i], 0, s.mid+uint64(i), flags)
		b = append(b, bodies[i]...)
		if i < len(cmds)-1 {
			for len(b)%8 != 0 {
				b = append(b, 0)
			}
			binary.LittleEndian.PutUint32(b[start+20:], uint32(len(b)-start))
		}
	}
	return s.frame(c, fromClient, b, 0, think, false)
}

// header appends an SMB2 sync header [MS-SMB2 2.2.1.2].
func (s *smbScript) header(c *tcpConn, b []byte, fromClient bool, cmd uint16, status uint32, mid uint64, flags uint32) []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint16(h[6:], 1)
	if !fromClient {
		binary.LittleEndian.PutUint32(h[8:], status)
		flags |= 1
	}
	binary.LittleEndian.PutUint16(h[12:], cmd)
	binary.LittleEndian.PutUint16(h[14:], 32)
	if s.signed && status != 0x103 {
		flags |= 8
		p := c.rng.IntN(len(filler) - 16)
		copy(h[48:], filler[p:p+16])
	}
	binary.LittleEndian.PutUint32(h[16:], flags)
	binary.LittleEndian.PutUint64(h[24:], mid)
	binary.LittleEndian.PutUint32(h[32:], 0xfeff)
	binary.LittleEndian.PutUint32(h[36:], s.tree)
	binary.LittleEndian.PutUint64(h[40:], s.session)
	return append(b, h...)
}

// msg is one SMB2 message: header, fixed part, dataLen bytes of data.
func (s *smbScript) msg(c *tcpConn, fromClient bool, cmd uint16, status uint32, mid uint64, fixed []byte, dataLen int, think int64, cont bool) message {
	b := s.header(c, make([]byte, 0, 64+len(fixed)), fromClient, cmd, status, mid, 0)
	if dataLen > 64<<10 {
		binary.LittleEndian.PutUint16(b[6:], uint16((dataLen-1)/65536+1)) // CreditCharge
	}
	b = append(b, fixed...)
	return s.frame(c, fromClient, b, dataLen, think, cont)
}

// frame puts the direct-TCP header [MS-SMB2 2.1] in front, or, in an
// encrypted session, a TRANSFORM header and ciphertext [MS-SMB2 2.2.41].
func (s *smbScript) frame(c *tcpConn, fromClient bool, smb []byte, dataLen int, think int64, cont bool) message {
	n := len(smb) + dataLen
	if s.encrypted {
		t := make([]byte, 4+52)
		binary.BigEndian.PutUint32(t, uint32(52+n))
		copy(t[4:], "\xfdSMB")
		p := c.rng.IntN(len(filler) - 32)
		copy(t[8:40], filler[p:p+32]) // signature, nonce
		binary.LittleEndian.PutUint32(t[40:], uint32(n))
		binary.LittleEndian.PutUint16(t[46:], 1)
		binary.LittleEndian.PutUint64(t[48:], s.session)
		return message{fromClient: fromClient, head: t, bodyLen: n, bodyOff: c.rng.IntN(len(filler)), think: think, cont: cont}
	}
	h := make([]byte, 4, 4+len(smb))
	binary.BigEndian.PutUint32(h, uint32(n))
	h = append(h, smb...)
	return message{fromClient: fromClient, head: h, bodyLen: dataLen, bodyOff: c.rng.IntN(len(filler)), think: think, cont: cont}
}

// le returns a fixed part of the given StructureSize (the odd sizes count
// one byte of the variable buffer) with the size filled in.
func le(structSize int, extra int) []byte {
	b := make([]byte, structSize&^1+extra)
	binary.LittleEndian.PutUint16(b, uint16(structSize))
	return b
}

func createReq(name string) []byte {
	u := utf16.Encode([]rune(name))
	b := le(57, 2*len(u))
	binary.LittleEndian.PutUint32(b[4:], 2)         // ImpersonationLevel: Impersonation
	binary.LittleEndian.PutUint32(b[24:], 0x12019f) // DesiredAccess: generic read/write
	binary.LittleEndian.PutUint32(b[28:], 0x80)     // FileAttributes: normal
	binary.LittleEndian.PutUint32(b[32:], 7)        // ShareAccess
	binary.LittleEndian.PutUint32(b[36:], 1)        // CreateDisposition: open
	binary.LittleEndian.PutUint32(b[40:], 0x40)     // CreateOptions: non-directory
	binary.LittleEndian.PutUint16(b[44:], 64+56)
	binary.LittleEndian.PutUint16(b[46:], uint16(2*len(u)))
	for i, x := range u {
		binary.LittleEndian.PutUint16(b[56+2*i:], x)
	}
	return b
}

func createResp(fid [16]byte, size int64) []byte {
	b := le(89, 0)
	binary.LittleEndian.PutUint32(b[4:], 1) // FILE_OPENED
	t := uint64(134150000000000000)
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(b[8+8*i:], t+uint64(i))
	}
	binary.LittleEndian.PutUint64(b[40:], uint64(size+4095)&^4095)
	binary.LittleEndian.PutUint64(b[48:], uint64(size))
	binary.LittleEndian.PutUint32(b[56:], 0x20)
	copy(b[64:80], fid[:])
	return b
}

func (s *smbScript) readReq(n int, off int64, fid [16]byte) []byte {
	b := le(49, 1)
	b[2] = 0x50
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	copy(b[16:32], fid[:])
	binary.LittleEndian.PutUint32(b[32:], 1)
	return b
}

func readResp(n int) []byte {
	b := le(17, 0)
	b[2] = 0x50
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	return b
}

func (s *smbScript) writeReq(n int, off int64, fid [16]byte) []byte {
	b := le(49, 0)
	binary.LittleEndian.PutUint16(b[2:], 0x70)
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	copy(b[16:32], fid[:])
	return b
}

func writeResp(n int) []byte {
	b := le(17, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	return b
}
