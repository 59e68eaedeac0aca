package audit

import (
	"time"

	"github.com/cespare/xxhash/v2"

	"ntlmsensor/findings"
)

// RetryWindow is how long after a KDC error that asks the client to ask
// again (findings.Finding.AwaitsRetry: KDC_ERR_PREAUTH_REQUIRED [RFC 4120
// 5.2.7], KRB_ERR_RESPONSE_TOO_BIG [RFC 4120 7.2.1]) a request of the same
// client for the same principal counts as its retry. Windows and MIT
// clients ask again within milliseconds, on a new connection (over TCP
// after RESPONSE_TOO_BIG); a client that has not within 30 s of capture
// time will not. The step is then released as the exchange's finding:
// outcome unknown, the error as event.reason and kerberos.error.
//
// The stage decides when it releases the step in capture-time order, from
// the findings it holds for ordering: it holds each for Delay, which reading
// files (the TCP idle timeout and 30 s) covers the window and the retry's
// own wait for its reply. Live (Delay 10 s) a retry whose finding comes
// later than that is not seen, and the step is released as a finding too.
const RetryWindow = 30 * time.Second

// retryPerKey bounds the held requests remembered per client and
// principal (a client asking that often within Delay loops); more are
// counted (Stats.RetryLimitHits), and while any of them is held a step of
// that key is taken as retried, as the carrier took every step before
// the stage decided them (no finding).
const retryPerKey = 32

// retryTimes are the times (Unix ns) of the AS and TGS requests of one
// client and principal the stage holds for ordering.
type retryTimes struct {
	t        [retryPerKey]int64
	n        int
	overflow int // held requests of the key not in t
}

// retries indexes the held KDC requests by retryKey, so that a step is
// decided by whether a later request of its key is held. Its size follows
// the findings held (Config.MaxHeld).
type retries struct {
	held map[uint64]*retryTimes
	free []*retryTimes
}

// retryKey is the client address, the request type, the realm, the
// service asked for and, for AS, the client's name [RFC 4120 5.4.1]: what
// a retry repeats. A TGS-REQ names its client only inside its encrypted
// authenticator.
func retryKey(f *findings.Finding) (uint64, bool) {
	k := &f.Kerberos
	if f.Mechanism != findings.MechKerberos || (k.Request != findings.KerberosAS && k.Request != findings.KerberosTGS) || !f.Client.IsValid() {
		return 0, false
	}
	var d xxhash.Digest
	d.Reset()
	a := f.Client.Addr().Unmap().As16()
	d.Write(a[:])
	d.WriteString(string(k.Request))
	d.Write([]byte{0})
	d.WriteString(k.Realm)
	d.Write([]byte{0})
	d.WriteString(k.SName)
	if k.Request == findings.KerberosAS {
		d.Write([]byte{0})
		d.WriteString(f.UserName)
	}
	return d.Sum64(), true
}

// add notes a KDC request the stage now holds.
func (r *retries) add(f *findings.Finding, st *Stats) {
	key, ok := retryKey(f)
	if !ok {
		return
	}
	if r.held == nil {
		r.held = make(map[uint64]*retryTimes)
	}
	e := r.held[key]
	if e == nil {
		if n := len(r.free); n > 0 {
			e, r.free = r.free[n-1], r.free[:n-1]
		} else {
			e = new(retryTimes)
		}
		r.held[key] = e
	}
	if e.n == retryPerKey {
		e.overflow++
		st.RetryLimitHits++
		return
	}
	e.t[e.n] = f.Time.UnixNano()
	e.n++
}

// remove forgets a held request as the stage releases it, and says, when
// it is a step awaiting a retry, whether a request of its key came after
// it within RetryWindow.
func (r *retries) remove(f *findings.Finding, st *Stats) (retried bool) {
	key, ok := retryKey(f)
	if !ok {
		return false
	}
	e := r.held[key]
	if e == nil {
		return false
	}
	t := f.Time.UnixNano()
	if i := indexOf(e.t[:e.n], t); i >= 0 {
		e.n--
		e.t[i] = e.t[e.n]
	} else if e.overflow > 0 {
		e.overflow--
	}
	if f.AwaitsRetry {
		until := t + int64(RetryWindow)
		for _, u := range e.t[:e.n] {
			if u > t && u <= until {
				retried = true
			}
		}
		if !retried && e.overflow > 0 {
			st.RetryLimitHits++
			retried = true
		}
	}
	if e.n == 0 && e.overflow == 0 {
		delete(r.held, key)
		*e = retryTimes{}
		r.free = append(r.free, e)
	}
	return retried
}

func indexOf(ts []int64, t int64) int {
	for i, u := range ts {
		if u == t {
			return i
		}
	}
	return -1
}

// step decides a released finding that awaits a retry: false when the
// client asked again (the finding is dropped), true when it is released
// as the exchange's finding, no longer an observation.
func (s *Stage) step(f *findings.Finding) bool {
	retried := s.retries.remove(f, &s.stats)
	if !f.AwaitsRetry {
		return true
	}
	if retried {
		s.stats.Retried++
		return false
	}
	f.AwaitsRetry = false
	s.stats.NotRetried++
	return true
}
