package smb

import (
	"strings"
	"time"

	"ntlmsensor/decoders/dcerpc"
	"ntlmsensor/findings"
)

const (
	maxPipes     = 8        // DCE/RPC associations followed per connection
	maxIPCTrees  = 8        // IPC$ tree ids remembered per connection
	maxPipeFrame = 64 << 10 // pipe messages larger than this are bulk, not binds
	pendingSlots = 16       // outstanding READ / TREE_CONNECT requests remembered
)

// pipe is one named pipe on IPC$ carrying a DCE/RPC association.
type pipe struct {
	id    FileID
	assoc *dcerpc.Association
	used  time.Time
}

// pipeState follows the IPC$ trees and pipes of a connection [MS-SMB2
// 3.2.4.2.4, MS-RPCE 2.1.1.2].
type pipeState struct {
	ipcTrees [maxIPCTrees]uint32
	nIPC     int
	treeReqs [pendingSlots]uint64 // MessageIds of TREE_CONNECTs to IPC$
	readReqs [pendingSlots]readReq
	nextTree int
	nextRead int
	pipes    []*pipe
}

type readReq struct {
	mid uint64
	id  FileID
}

func (p *pipeState) isIPC(tree uint32) bool {
	for _, t := range p.ipcTrees[:p.nIPC] {
		if t == tree {
			return true
		}
	}
	return false
}

// treeRequest notes a TREE_CONNECT to IPC$, to learn its tree id from the
// response.
func (p *pipeState) treeRequest(mid uint64, path string) {
	if strings.HasSuffix(strings.ToUpper(path), `\IPC$`) {
		p.treeReqs[p.nextTree%pendingSlots] = mid + 1 // +1: zero means empty
		p.nextTree++
	}
}

func (p *pipeState) treeResponse(mid uint64, tree uint32, status uint32) {
	for i, m := range p.treeReqs {
		if m == mid+1 {
			p.treeReqs[i] = 0
			if status == 0 && !p.isIPC(tree) {
				if p.nIPC < maxIPCTrees {
					p.nIPC++
				}
				copy(p.ipcTrees[1:p.nIPC], p.ipcTrees[:p.nIPC-1])
				p.ipcTrees[0] = tree
			}
			return
		}
	}
}

// pipeMessage reports whether an SMB2 message may carry a pipe's DCE/RPC
// PDUs and is worth reading whole.
func (h *handler) pipeMessage(msg []byte, n int) bool {
	if n > maxPipeFrame || len(msg) < Header2Len {
		return false
	}
	switch Command2(le16(msg, 12)) {
	case Write2, Read2, Ioctl2:
		return h.pipes.isIPC(le32(msg, 36))
	}
	return false
}

// smb2Pipe hands the DCE/RPC bytes of a pipe message to its association.
func (h *handler) smb2Pipe(toServer bool, hd *Header2, msg []byte, ts time.Time) {
	if !h.pipes.isIPC(hd.TreeID) && !(hd.Command == Read2 && !toServer) {
		return
	}
	p := &h.pipes
	switch {
	case hd.Command == Write2 && toServer:
		if id, data, err := ParseWriteRequest2(msg); err == nil {
			h.pipePDUs(id, toServer, data, ts)
		}
	case hd.Command == Read2 && toServer:
		if id, err := ParseReadRequest2(msg); err == nil {
			p.readReqs[p.nextRead%pendingSlots] = readReq{hd.MessageID + 1, id}
			p.nextRead++
		}
	case hd.Command == Read2:
		for i, r := range p.readReqs {
			if r.mid == hd.MessageID+1 {
				p.readReqs[i] = readReq{}
				if data, err := ParseReadResponse2(msg); err == nil {
					h.pipePDUs(r.id, toServer, data, ts)
				}
				break
			}
		}
	case hd.Command == Ioctl2:
		if ctl, id, data, err := ParseIoctl2(msg, !toServer); err == nil && ctl == FsctlPipeTransceive {
			h.pipePDUs(id, toServer, data, ts)
		}
	}
}

// pipePDUs feeds the whole DCE/RPC PDUs in data to the pipe's association.
// A PDU split over several SMB messages is not followed.
func (h *handler) pipePDUs(id FileID, toServer bool, data []byte, ts time.Time) {
	if !dcerpc.LooksLikePDU(data) {
		return
	}
	a := h.pipeAssoc(id, ts)
	for len(data) >= dcerpc.CommonHeaderLen {
		hd, err := dcerpc.ParseHeader(data)
		if err != nil || int(hd.FragLength) > len(data) {
			return
		}
		a.PDU(toServer, data[:hd.FragLength], ts)
		data = data[hd.FragLength:]
	}
}

// pipeAssoc finds or makes the association of a pipe; findings from it are
// DCE/RPC findings that also carry the SMB facts of the connection.
func (h *handler) pipeAssoc(id FileID, ts time.Time) *dcerpc.Association {
	var victim *pipe
	for _, p := range h.pipes.pipes {
		if p.id == id {
			p.used = ts
			return p.assoc
		}
		if victim == nil || p.used.Before(victim.used) {
			victim = p
		}
	}
	if len(h.pipes.pipes) < maxPipes {
		victim = &pipe{}
		h.pipes.pipes = append(h.pipes.pipes, victim)
	} else {
		victim.assoc.Close(ts)
	}
	victim.id, victim.used = id, ts
	victim.assoc = dcerpc.NewAssociation(h.conn)
	victim.assoc.Complete = func(f *findings.Finding) {
		f.SMB.Version = h.version
		f.SMB.SigningRequired = h.signingRequired
	}
	return victim.assoc
}

func (h *handler) closePipes(ts time.Time) {
	for _, p := range h.pipes.pipes {
		p.assoc.Close(ts)
	}
	h.pipes.pipes = nil
}
