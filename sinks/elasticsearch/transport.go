package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
)

// transport sits between the bulk indexer and the official client. For a
// _bulk request it
//   - retries with backoff on connection errors, timeouts, 429 (waiting at
//     least its Retry-After), 408, 5xx, 401/403/404 (a node or proxy not
//     ready, a key not yet valid: nothing is wrong with the findings), and on
//     answers that cannot be read or do not match the request;
//   - resends only the items a 200 answer failed with 429 or 5xx;
//   - checks the answer: one item per document sent, each with a status, so
//     that no server answer can make the indexer drop or mis-assign a finding
//     (it indexes w.items[i] by the answer's position);
//   - hands the indexer a complete answer: every item either the server's
//     verdict or, when it gave up, a synthetic "undelivered" failure (503)
//     that the sink spools. A whole request refused for its content (400,
//     413, ...) becomes that status on every item: dead letters.
//
// Any other request (es-setup) goes straight through.
type transport struct {
	next       esapi.Transport
	retries    int
	backoffMin time.Duration
	backoffMax time.Duration
	retryAfter time.Duration
	timeout    time.Duration
	giveUpFast func() bool // closing with a spool: do not wait out connection errors
	retried    *atomic.Uint64
	requests   atomic.Uint64
}

// typeUndelivered marks a synthetic item failure: the transport gave up.
const typeUndelivered = "ntlmsensor_undelivered"

type responseItem = esutil.BulkIndexerResponseItem

// bulkBody carries the checked answer to the indexer's decoder, sparing a
// second JSON decoding.
type bulkBody struct{ resp esutil.BulkIndexerResponse }

func (*bulkBody) Read([]byte) (int, error) { return 0, io.EOF }
func (*bulkBody) Close() error             { return nil }

// decoder is the indexer's BulkResponseJSONDecoder.
type decoder struct{}

func (decoder) UnmarshalFromReader(r io.Reader, blk *esutil.BulkIndexerResponse) error {
	if b, ok := r.(*bulkBody); ok {
		*blk = b.resp
		return nil
	}
	return json.NewDecoder(r).Decode(blk)
}

// failure of one attempt.
type failure struct {
	retry   bool // transient: try again, then spool
	conn    bool // no answer at all
	status  int
	reason  string
	waitMin time.Duration // Retry-After
}

func (t *transport) Perform(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/_bulk") {
		return t.next.Perform(req)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if req.ContentLength > 0 {
			// one exact copy (io.ReadAll would grow it up to twice the size)
			body = make([]byte, req.ContentLength)
			_, err = io.ReadFull(req.Body, body)
		} else {
			body, err = io.ReadAll(req.Body)
		}
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	items := splitBulk(body)
	n := len(items)
	if n == 0 {
		return t.next.Perform(req)
	}
	out := make([]map[string]responseItem, n)
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	ctx := req.Context()
	sub := body
	for attempt := 0; ; attempt++ {
		resp, f := t.attempt(req, sub, len(pending))
		if f == nil {
			var again []int
			for i, it := range resp.Items {
				idx := pending[i]
				out[idx] = it
				if st := itemStatus(it); st == http.StatusTooManyRequests || st >= 500 {
					again = append(again, idx)
				}
			}
			if len(again) == 0 {
				break
			}
			pending = again
			f = &failure{retry: true, status: itemStatus(out[again[0]]), reason: fmt.Sprintf("%d of %d items refused for now: %s", len(again), n, itemReason(out[again[0]]))}
		}
		if !f.retry {
			for _, idx := range pending {
				out[idx] = synthetic(f.status, "request_rejected", f.reason)
			}
			break
		}
		if attempt >= t.retries || ctx.Err() != nil || (f.conn && t.giveUpFast != nil && t.giveUpFast()) {
			for _, idx := range pending {
				out[idx] = synthetic(http.StatusServiceUnavailable, typeUndelivered, f.reason)
			}
			break
		}
		d := t.backoff(attempt)
		if f.waitMin > d {
			d = min(f.waitMin, t.retryAfter)
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
		if ctx.Err() != nil {
			for _, idx := range pending {
				out[idx] = synthetic(http.StatusServiceUnavailable, typeUndelivered, "interrupted: "+f.reason)
			}
			break
		}
		if t.retried != nil {
			t.retried.Add(uint64(len(pending)))
		}
		if len(pending) == n {
			sub = body
		} else {
			var b bytes.Buffer
			for _, idx := range pending {
				b.Write(items[idx])
			}
			sub = b.Bytes()
		}
	}
	resp := esutil.BulkIndexerResponse{Items: out}
	for _, it := range out {
		if st := itemStatus(it); st > 299 {
			resp.HasErrors = true
		}
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Status:     "200 OK",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       &bulkBody{resp: resp},
		Request:    req,
	}, nil
}

// attempt sends body once and checks the answer.
func (t *transport) attempt(orig *http.Request, body []byte, n int) (*esutil.BulkIndexerResponse, *failure) {
	t.requests.Add(1)
	ctx, cancel := context.WithTimeout(orig.Context(), t.timeout)
	defer cancel()
	r := orig.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	res, err := t.next.Perform(r)
	if err != nil {
		return nil, &failure{retry: true, conn: true, reason: err.Error()}
	}
	defer res.Body.Close()
	// a bulk answer item is a few hundred bytes; mapping errors a few KiB
	limit := int64(1<<20) + int64(n)*(16<<10)
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, &failure{retry: true, conn: true, status: res.StatusCode, reason: "reading the answer: " + err.Error()}
	}
	if int64(len(data)) > limit {
		return nil, &failure{retry: true, status: res.StatusCode, reason: fmt.Sprintf("HTTP %d: answer larger than %d bytes", res.StatusCode, limit)}
	}
	switch st := res.StatusCode; {
	case st >= 200 && st <= 299:
	case st == http.StatusTooManyRequests || st == http.StatusRequestTimeout || st >= 500 ||
		st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusNotFound:
		return nil, &failure{retry: true, status: st, reason: httpReason(st, data), waitMin: retryAfter(res.Header.Get("Retry-After"))}
	case st >= 400 && st <= 499:
		return nil, &failure{status: st, reason: httpReason(st, data)} // refused for its content
	default:
		return nil, &failure{retry: true, status: st, reason: httpReason(st, data)}
	}
	var resp esutil.BulkIndexerResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, &failure{retry: true, status: res.StatusCode, reason: "unreadable bulk answer: " + err.Error()}
	}
	if len(resp.Items) != n {
		return nil, &failure{retry: true, status: res.StatusCode, reason: fmt.Sprintf("bulk answer with %d items for %d sent", len(resp.Items), n)}
	}
	for _, it := range resp.Items {
		if len(it) != 1 {
			return nil, &failure{retry: true, status: res.StatusCode, reason: "bulk answer item without exactly one action"}
		}
		if st := itemStatus(it); st < 200 || st > 599 {
			return nil, &failure{retry: true, status: res.StatusCode, reason: fmt.Sprintf("bulk answer item with status %d", st)}
		}
	}
	return &resp, nil
}

func (t *transport) backoff(attempt int) time.Duration {
	d := t.backoffMin
	for i := 0; i < attempt && d < t.backoffMax; i++ {
		d *= 2
	}
	d = min(d, t.backoffMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2) // jitter: sensors do not retry in step
}

// splitBulk cuts an NDJSON bulk body into its items (action line + document
// line, newline included). The sink's documents never hold a raw newline.
func splitBulk(body []byte) [][]byte {
	var items [][]byte
	start, lines := 0, 0
	for i, c := range body {
		if c != '\n' {
			continue
		}
		lines++
		if lines == 2 {
			items = append(items, body[start:i+1])
			start, lines = i+1, 0
		}
	}
	if start < len(body) {
		items = append(items, body[start:])
	}
	return items
}

func itemStatus(m map[string]responseItem) int {
	for _, it := range m {
		return it.Status
	}
	return 0
}

func itemReason(m map[string]responseItem) string {
	for _, it := range m {
		return describe(it)
	}
	return ""
}

func describe(it responseItem) string {
	var b strings.Builder
	if it.Error.Type != "" {
		b.WriteString(it.Error.Type)
		if it.Error.Reason != "" {
			b.WriteString(": ")
			b.WriteString(it.Error.Reason)
		}
		if it.Error.Cause.Type != "" {
			fmt.Fprintf(&b, " (caused by %s: %s)", it.Error.Cause.Type, it.Error.Cause.Reason)
		}
	} else {
		fmt.Fprintf(&b, "status %d", it.Status)
	}
	return b.String()
}

func synthetic(status int, typ, reason string) map[string]responseItem {
	var it responseItem
	it.Status = status
	it.Error.Type = typ
	it.Error.Reason = reason
	return map[string]responseItem{"create": it}
}

// httpReason: "HTTP 400: <error type>: <reason>" from an Elasticsearch error
// body, else the start of the body.
func httpReason(status int, body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Type != "" {
			msg = obj.Type + ": " + obj.Reason
		} else {
			var s string
			if json.Unmarshal(e.Error, &s) == nil {
				msg = s
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), msg)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
