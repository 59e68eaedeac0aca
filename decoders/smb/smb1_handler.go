package smb

import (
	"time"

	"ntlmsensor/findings"
)

// smb1Message handles one SMB1 message [MS-CIFS 2.2.4]: NEGOTIATE for the
// security mode, SESSION_SETUP_ANDX for the logon (with NTLMSSP/SPNEGO in
// extended security, or the raw LM/NTLM responses without), TREE_CONNECT_ANDX
// for the share, and every later message for signing.
func (h *handler) smb1Message(toServer bool, msg []byte, ts time.Time) {
	hd, err := ParseHeader1(msg)
	if err != nil {
		return
	}
	h.smb1 = true
	h.version = "1"
	if hd.IsResponse() == toServer {
		return // a message whose direction contradicts its flag is noise
	}
	switch hd.Command {
	case Cmd1Negotiate:
		if toServer {
			return
		}
		if r, err := ParseNegotiateResponse1(msg); err == nil {
			h.signingRequired = findings.OptOf(r.SecurityMode&0x08 != 0)
			if r.SecurityBlob != nil {
				h.serverOffer(r.SecurityBlob)
			}
		}
	case Cmd1SessionSetupAndX:
		if toServer {
			h.smb1SetupRequest(&hd, msg, ts)
		} else {
			h.smb1SetupResponse(&hd, msg, ts)
		}
	case Cmd1TreeConnectAndX:
		if toServer {
			h.smb1Tree(uint64(hd.UID), msg, Header1Len, ts)
		}
		h.observe(uint64(hd.UID), true, hd.SecuritySignature(), ts)
	case Cmd1LogoffAndX:
		if s := h.sessionFor(uint64(hd.UID), false, ts); s != nil && toServer {
			h.flush(s, ts)
			s.used = false
		}
	default:
		if toServer || hd.NTStatus() != statusPending {
			h.observe(uint64(hd.UID), true, hd.SecuritySignature(), ts)
		}
	}
}

func (h *handler) smb1SetupRequest(hd *Header1, msg []byte, ts time.Time) {
	req, err := ParseSessionSetupRequest1(msg)
	if err != nil {
		return
	}
	s := h.sessionFor(uint64(hd.UID), true, ts)
	if s.held != nil {
		h.flush(s, ts)
		s.tree, s.signed, s.enc, s.after = "", findings.Unset, false, 0
	}
	if req.Extended {
		s.x.ClientToken(req.SecurityBlob)
	} else {
		s.direct = rawLogon(&req)
	}
	// a TREE_CONNECT_ANDX may ride in the same message
	if cmds, n, err := AndXCommands(msg); err == nil {
		for _, c := range cmds[:n] {
			if c.Command == Cmd1TreeConnectAndX {
				h.smb1Tree(uint64(hd.UID), msg, int(c.Offset), ts)
			}
		}
	}
}

func (h *handler) smb1SetupResponse(hd *Header1, msg []byte, ts time.Time) {
	s := h.responseSession(uint64(hd.UID), ts)
	if s == nil {
		return
	}
	if r, err := ParseSessionSetupResponse1(msg); err == nil && r.SecurityBlob != nil {
		s.x.ServerToken(r.SecurityBlob)
	}
	h.setupResult(s, hd.NTStatus(), ts)
}

func (h *handler) smb1Tree(uid uint64, msg []byte, off int, ts time.Time) {
	s := h.sessionFor(uid, false, ts)
	if s == nil {
		// the tree connect chained to the first setup request has UID 0
		s = h.sessionFor(0, false, ts)
	}
	if s == nil || s.tree != "" {
		return
	}
	if path, err := ParseTreeConnectAndXRequest1(msg, off); err == nil {
		s.tree = path
	}
}

// rawLogon makes the finding of an SMB1 logon without NTLMSSP: the LM and
// NT challenge responses sit in the request itself [MS-CIFS 2.2.4.53.1].
func rawLogon(r *SessionSetupRequest1) *findings.Finding {
	f := &findings.Finding{HasUser: true, UserName: r.Account, UserDomain: r.PrimaryDomain, Mechanism: findings.MechSMB1Challenge}
	lm, nt := r.LMResponse, r.NTResponse
	n := &f.NTLM
	switch {
	case r.Account == "" && len(nt) == 0 && len(lm) <= 1:
		n.Version = findings.NTLMAnonymous
	case len(nt) > 24:
		n.Version = findings.NTLMv2
	case len(nt) == 24:
		n.Version = findings.NTLMv1
		n.LMResponse = findings.OptOf(len(lm) == 24 && !allZero(lm) && string(lm) != string(nt))
	case len(lm) == 24:
		n.Version = findings.NTLMLM
		n.LMResponse = findings.True
	}
	return f
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
