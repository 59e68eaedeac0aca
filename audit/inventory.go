package audit

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"ntlmsensor/findings"
)

// DefaultMaxRows bounds the inventory: a row is a few hundred bytes, so the
// table stays under a few tens of MiB.
const DefaultMaxRows = 100000

const rowNames = 8 // server names kept per row

// Row is one dependency: a client reaching a server port with NTLM as one
// account, for one cause; or a Kerberos exchange with an RC4 key (client,
// account, service, etype), RC4 being the next thing Windows removes. It
// is written as an inventory document (event.kind "state", shape in
// docs/CONTRACT.md "Inventory rows").
type Row struct {
	Client, Server netip.Addr
	Port           uint16
	Protocol       string
	UserName       string
	UserDomain     string
	Mechanism      string // ntlm, smb1-challenge, kerberos
	Version        string // ntlm.version (NTLM rows)
	Cause          Cause  // ntlm.cause (NTLM rows)
	SName          string // kerberos.sname (RC4 rows)
	Etype          int32  // kerberos.ticket_etype (RC4 rows)

	Names          []string        // destination.domain: the server's names seen
	Flags          []findings.Flag // the union of the logons' flags
	Count          uint64
	Success        uint64
	Failure        uint64
	Signed         uint64 // logons whose session was signed or sealed
	First, Last    time.Time
	Observer       string
	Written        time.Time // @timestamp: when the row was written
	key            string
	serverAccounts int // set when sorting: accounts and clients that reach this server
}

// RemovedBy names what would remove the dependency (from the cause
// registry; AES keys for RC4 rows).
func (r *Row) RemovedBy() string {
	if r.Mechanism == "kerberos" {
		return "AES keys on the account (msDS-SupportedEncryptionTypes)"
	}
	if i, ok := Info(r.Cause); ok {
		return i.RemovedBy
	}
	return ""
}

// Inventory is the bounded table of rows; a full table evicts the least
// recently seen row.
type Inventory struct {
	rows *lru[Row]
}

// NewInventory makes an inventory of at most max rows (0: DefaultMaxRows).
func NewInventory(max int) *Inventory {
	if max <= 0 {
		max = DefaultMaxRows
	}
	return &Inventory{rows: newLRU[Row](max)}
}

// Len is the number of rows held; Evicted how many were evicted.
func (inv *Inventory) Len() int        { return inv.rows.len() }
func (inv *Inventory) Evicted() uint64 { return inv.rows.evicted }

// Add counts a finding in its row: NTLM logons (after their cause is set)
// and Kerberos exchanges flagged krb_rc4; others are not dependencies.
func (inv *Inventory) Add(f *findings.Finding) {
	r := Row{Client: f.Client.Addr().Unmap(), Server: f.Server.Addr().Unmap(), Port: f.Server.Port(),
		Protocol: string(f.Protocol), UserName: f.UserName, UserDomain: f.UserDomain, Mechanism: string(f.Mechanism)}
	switch {
	case isNTLM(f):
		r.Version, r.Cause = string(f.NTLM.Version), Cause(f.Cause)
	case f.Mechanism == "kerberos" && hasFlag(f, findings.FlagKrbRC4):
		r.SName = f.Kerberos.SName
		r.Etype = f.Kerberos.TicketEtype
		if !isRC4(r.Etype) && isRC4(f.Kerberos.SessionEtype) {
			r.Etype = f.Kerberos.SessionEtype
		}
	default:
		return
	}
	r.key = r.keyString()
	row, fresh := inv.rows.put(xxhash.Sum64String(r.key))
	if fresh || row.key != r.key {
		// a new row (or, once in 2^64, a hash collision: the old row goes)
		*row = r
		row.First = f.Time
		row.Observer = f.Observer
	}
	row.Count++
	switch f.Outcome {
	case findings.Success:
		row.Success++
	case findings.Failure:
		row.Failure++
	}
	if signedSession(f) {
		row.Signed++
	}
	if f.Time.Before(row.First) {
		row.First = f.Time
	}
	if f.Time.After(row.Last) {
		row.Last = f.Time
	}
	for _, fl := range f.Flags {
		if !slices.Contains(row.Flags, fl) {
			row.Flags = append(row.Flags, fl)
		}
	}
	var names []string
	for _, n := range ownNames(f, names) {
		if len(row.Names) < rowNames && !slices.ContainsFunc(row.Names, func(h string) bool { return strings.EqualFold(h, n) }) {
			row.Names = append(row.Names, n)
		}
	}
}

func isRC4(e int32) bool { return e == 23 || e == 24 }

// signedSession: the logon's session had integrity: SMB messages signed or
// encrypted, or NTLM signing/sealing negotiated for the other carriers.
func signedSession(f *findings.Finding) bool {
	if f.Protocol == "smb" {
		return f.SMB.Signed == findings.True || f.SMB.Encrypted == findings.True
	}
	return f.NTLM.Sign == findings.True || f.NTLM.Seal == findings.True
}

func (r *Row) keyString() string {
	var b strings.Builder
	for _, s := range []string{r.Client.String(), r.Server.String(), itoa(int64(r.Port)), r.Protocol, r.UserDomain, r.UserName,
		r.Mechanism, r.Version, string(r.Cause), r.SName, itoa(int64(r.Etype))} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// Rows returns copies of the rows, ordered by what to fix first: NTLMv1
// and LM rows, then the other NTLM rows, then Kerberos RC4 rows; within
// each, servers that more accounts and clients depend on first.
func (inv *Inventory) Rows() []Row {
	var out []Row
	inv.rows.each(func(r *Row) {
		c := *r
		c.Names = slices.Clone(r.Names)
		c.Flags = sortFlags(slices.Clone(r.Flags))
		out = append(out, c)
	})
	SortRows(out)
	return out
}

// SortRows orders rows by what to fix first (see Rows).
func SortRows(rows []Row) {
	deps := map[netip.Addr]map[string]bool{}
	for i := range rows {
		r := &rows[i]
		m := deps[r.Server]
		if m == nil {
			m = map[string]bool{}
			deps[r.Server] = m
		}
		m["a:"+strings.ToLower(r.UserDomain+`\`+r.UserName)] = true
		m["c:"+r.Client.String()] = true
	}
	for i := range rows {
		rows[i].serverAccounts = len(deps[rows[i].Server])
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(a.group(), b.group()),
			cmp.Compare(b.serverAccounts, a.serverAccounts),
			a.Server.Compare(b.Server),
			cmp.Compare(a.Port, b.Port),
			cmp.Compare(b.Count, a.Count),
			strings.Compare(a.keyString(), b.keyString()),
		)
	})
}

// group: 0 NTLMv1 / LM, 1 other NTLM, 2 Kerberos RC4.
func (r *Row) group() int {
	switch {
	case r.Mechanism == "kerberos":
		return 2
	case r.Version == "NTLMv1" || r.Version == "NTLMv1-ESS" || r.Version == "LM" ||
		slices.Contains(r.Flags, findings.FlagNTLMv1) || slices.Contains(r.Flags, findings.FlagNTLMLM):
		return 0
	}
	return 1
}

// sortFlags puts flags in the contract's order.
func sortFlags(fl []findings.Flag) []findings.Flag {
	pos := func(f findings.Flag) int {
		for i, x := range findings.Flags {
			if x.ID == f {
				return i
			}
		}
		return len(findings.Flags)
	}
	slices.SortFunc(fl, func(a, b findings.Flag) int {
		return cmp.Or(cmp.Compare(pos(a), pos(b)), strings.Compare(string(a), string(b)))
	})
	return fl
}
