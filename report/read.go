package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"ntlmsensor/findings"
)

// GLUE(audit): a minimal reader of JSON lines findings, the fields the
// report uses. findings.ParseJSON (audit branch) replaces decodeLine.

// maxLine bounds one JSON line; longer lines are counted as bad.
const maxLine = 1 << 20

// ReadStats says what reading a findings file met.
type ReadStats struct {
	Findings uint64 // findings added
	Other    uint64 // other documents (inventory rows, alerts), passed over
	Bad      uint64 // lines that are not a finding (first error in Err)
	Err      error
}

// ReadFindings reads JSON lines findings (gzip-compressed or not) from r
// and adds each to a. Lines are decoded on every core, in order.
func ReadFindings(r io.Reader, a *Aggregator) (ReadStats, error) {
	var st ReadStats
	br := bufio.NewReaderSize(r, 256<<10)
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("gzip: %v", err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxLine)

	// batches of lines go to the decoders; results come back in order
	const batchLines = 512
	type batch struct {
		lines [][]byte
		out   []findings.Finding
		kind  []int8 // 1 finding, 0 other document, -1 bad
		err   error
		done  chan struct{}
	}
	workers := runtime.NumCPU()
	todo := make(chan *batch, workers)
	ordered := make(chan *batch, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				b.out = make([]findings.Finding, len(b.lines))
				b.kind = make([]int8, len(b.lines))
				for i, l := range b.lines {
					ok, err := decodeLine(l, &b.out[i])
					switch {
					case err != nil:
						b.kind[i] = -1
						if b.err == nil {
							b.err = err
						}
					case ok:
						b.kind[i] = 1
					}
				}
				close(b.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		b := &batch{done: make(chan struct{})}
		for sc.Scan() {
			l := bytes.TrimSpace(sc.Bytes())
			if len(l) == 0 {
				continue
			}
			b.lines = append(b.lines, bytes.Clone(l))
			if len(b.lines) == batchLines {
				todo <- b
				ordered <- b
				b = &batch{done: make(chan struct{})}
			}
		}
		if len(b.lines) > 0 {
			todo <- b
			ordered <- b
		}
		readErr <- sc.Err()
	}()
	for b := range ordered {
		<-b.done
		for i := range b.out {
			switch b.kind[i] {
			case 1:
				a.Add(&b.out[i])
				st.Findings++
			case 0:
				st.Other++
			default:
				st.Bad++
			}
		}
		if b.err != nil && st.Err == nil {
			st.Err = b.err
		}
	}
	wg.Wait()
	return st, <-readErr
}

// wire is the part of a finding's JSON the report reads.
type wire struct {
	Timestamp time.Time `json:"@timestamp"`
	Event     struct {
		Kind    string `json:"kind"`
		Dataset string `json:"dataset"`
		Outcome string `json:"outcome"`
	} `json:"event"`
	Source      endpoint `json:"source"`
	Destination endpoint `json:"destination"`
	Network     struct {
		Protocol string `json:"protocol"`
	} `json:"network"`
	User *struct {
		Name   string `json:"name"`
		Domain string `json:"domain"`
	} `json:"user"`
	Auth struct {
		Mechanism string `json:"mechanism"`
	} `json:"auth"`
	NTLM struct {
		Version string `json:"version"`
		Server  struct {
			NbName  string `json:"nb_name"`
			DNSName string `json:"dns_name"`
			DNSDom  string `json:"dns_domain"`
		} `json:"server"`
	} `json:"ntlm"`
	Kerberos struct {
		SName        string `json:"sname"`
		TicketEtype  int32  `json:"ticket_etype"`
		SessionEtype int32  `json:"session_etype"`
		Error        string `json:"error"`
	} `json:"kerberos"`
	SMB struct {
		SigningRequired *bool `json:"signing_required"`
		Signed          *bool `json:"signed"`
		Encrypted       *bool `json:"encrypted"`
	} `json:"smb"`
	URL struct {
		Domain string `json:"domain"`
	} `json:"url"`
	Flags []findings.Flag `json:"flags"`
}

type endpoint struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

func (e endpoint) addrPort() netip.AddrPort {
	a, _ := netip.ParseAddr(e.IP)
	return netip.AddrPortFrom(a, e.Port)
}

// decodeLine reads one line into f; ok false for another kind of
// document (an inventory row, an alert about several logons).
func decodeLine(line []byte, f *findings.Finding) (ok bool, err error) {
	var w wire
	if err := json.Unmarshal(line, &w); err != nil {
		return false, err
	}
	if w.Event.Dataset != "" && w.Event.Dataset != "ntlmsensor.auth" || w.Event.Kind == "state" || w.Auth.Mechanism == "" {
		return false, nil
	}
	opt := func(b *bool) findings.Opt {
		if b == nil {
			return findings.Unset
		}
		return findings.OptOf(*b)
	}
	*f = findings.Finding{
		Time: w.Timestamp, Outcome: findings.Outcome(w.Event.Outcome),
		Client: w.Source.addrPort(), Server: w.Destination.addrPort(), Protocol: findings.Protocol(w.Network.Protocol),
		Mechanism: findings.Mechanism(w.Auth.Mechanism), Flags: w.Flags,
		NTLM:     findings.NTLMFacts{Version: findings.NTLMVersion(w.NTLM.Version), ServerNbName: w.NTLM.Server.NbName, ServerDNSName: w.NTLM.Server.DNSName, ServerDNSDom: w.NTLM.Server.DNSDom},
		Kerberos: findings.KerberosFacts{SName: w.Kerberos.SName, TicketEtype: w.Kerberos.TicketEtype, SessionEtype: w.Kerberos.SessionEtype, Error: w.Kerberos.Error},
		SMB:      findings.SMBFacts{SigningRequired: opt(w.SMB.SigningRequired), Signed: opt(w.SMB.Signed), Encrypted: opt(w.SMB.Encrypted)},
		HTTP:     findings.HTTPFacts{Host: w.URL.Domain},
	}
	// a bind on the LDAPS ports ran inside TLS (the flag of an unprotected
	// bind is in the line already)
	f.TLS = w.Network.Protocol == "ldap" && (w.Destination.Port == 636 || w.Destination.Port == 3269)
	if w.User != nil {
		f.HasUser, f.UserName, f.UserDomain = true, w.User.Name, w.User.Domain
	}
	return true, nil
}
