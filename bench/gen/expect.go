package gen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ntlmsensor/capture"
	"ntlmsensor/findings"
	"ntlmsensor/sensor"
)

// Finding is one finding as the sensor writes it, parsed back from JSON.
type Finding = map[string]any

// Planted is one authentication planted in a capture: the finding the
// sensor gives on the small original capture, moved to the replica's
// addresses, ports and time.
type Planted struct {
	Replica  int     `json:"replica"`
	Original string  `json:"original"`
	Finding  Finding `json:"finding"`
}

// SensorFindings runs the sensor over a capture as the ntlmsensor command
// does by default (one worker, default limits, every carrier).
func SensorFindings(src capture.Source, workers int) ([]Finding, error) {
	out, _, err := sensorFindings(src, workers)
	return out, err
}

// sensorFindings is SensorFindings with what the pipeline did.
func sensorFindings(src capture.Source, workers int) ([]Finding, sensor.Snapshot, error) {
	var out []Finding
	var ferr error
	cfg := sensor.DefaultConfig()
	cfg.Carriers = sensor.Carriers()
	cfg.Emit = func(f *findings.Finding) {
		var m Finding
		if err := json.Unmarshal(f.AppendJSON(nil), &m); err != nil && ferr == nil {
			ferr = err
		}
		out = append(out, m)
	}
	p := sensor.NewPipeline(cfg, workers, nil)
	if err := p.ReadSource(src); err != nil {
		return nil, sensor.Snapshot{}, err
	}
	if err := p.Close(); err != nil {
		return nil, sensor.Snapshot{}, err
	}
	return out, p.Snapshot(), ferr
}

// PlantedFindings lists every authentication the manifest's replicas
// planted: for each replica, what the sensor reports on its original
// (read from dir), under the replica's endpoints and times.
func (m *Manifest) PlantedFindings(dir string) ([]Planted, error) {
	cache := map[string][]Finding{}
	var out []Planted
	for i := range m.Replicas {
		r := &m.Replicas[i]
		fs, ok := cache[r.Original]
		if !ok {
			src, err := capture.OpenFile(filepath.Join(dir, r.Original))
			if err != nil {
				return nil, err
			}
			fs, err = SensorFindings(src, 1)
			src.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %v", r.Original, err)
			}
			cache[r.Original] = fs
		}
		for _, f := range fs {
			out = append(out, Planted{Replica: i, Original: r.Original, Finding: r.move(f)})
		}
	}
	return out, nil
}

// move gives a finding of the original as the replica shows it.
func (r *Replica) move(f Finding) Finding {
	g := Finding{}
	for k, v := range f {
		g[k] = v
	}
	moved := map[string]string{} // old address → new, for related.ip
	for _, k := range []string{"source", "destination"} {
		ep, ok := f[k].(map[string]any)
		if !ok {
			continue
		}
		ip, _ := ep["ip"].(string)
		port, _ := ep["port"].(float64)
		nip, np := r.MapEndpoint(ip, uint16(port))
		nep := map[string]any{}
		for a, b := range ep {
			nep[a] = b // domain and any other endpoint fact stay
		}
		nep["ip"], nep["port"] = nip, float64(np)
		g[k] = nep
		moved[ip] = nip
	}
	if rel, ok := f["related"].(map[string]any); ok {
		nrel := map[string]any{}
		for a, b := range rel {
			nrel[a] = b
		}
		if ips, ok := rel["ip"].([]any); ok {
			nips := make([]any, len(ips))
			for i, ip := range ips {
				if n, ok := moved[ip.(string)]; ok {
					nips[i] = n
				} else {
					nips[i] = ip
				}
			}
			nrel["ip"] = nips
		}
		g["related"] = nrel
	}
	if ts, ok := f["@timestamp"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			g["@timestamp"] = t.Add(time.Duration(r.Shift)).UTC().Format("2006-01-02T15:04:05.000000Z")
		}
	}
	return g
}

// WriteFiles generates a capture into path, its manifest (JSON) into
// manifest and the planted findings (JSON lines) into planted; it returns
// the manifest and the planted findings.
func WriteFiles(cfg Config, path, manifest, planted string) (*Manifest, []Planted, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := Generate(cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, nil, err
	}
	var p []Planted
	if cfg.Originals != "" {
		if p, err = m.PlantedFindings(cfg.Originals); err != nil {
			return nil, nil, err
		}
	}
	b, _ := json.MarshalIndent(m, "", " ")
	if err := os.WriteFile(manifest, append(b, '\n'), 0o644); err != nil {
		return nil, nil, err
	}
	var sb strings.Builder
	for _, x := range p {
		j, _ := json.Marshal(x)
		sb.Write(j)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(planted, []byte(sb.String()), 0o644); err != nil {
		return nil, nil, err
	}
	return m, p, nil
}

// ReadManifest reads a manifest written by WriteFiles.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &m, nil
}

// ReadFindings reads JSON lines of findings.
func ReadFindings(r io.Reader) ([]Finding, error) {
	var out []Finding
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var f Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			return nil, fmt.Errorf("finding %q: %v", line, err)
		}
		out = append(out, f)
	}
	return out, sc.Err()
}

// Result compares the findings of a run with what was planted.
type Result struct {
	Planted int
	Found   int       // planted findings reported with every field equal
	Missing []Planted // planted, not reported so
	Extra   []Finding // reported, not planted (a differing field shows as one missing and one extra)
	Late    int       // found, but with another @timestamp (outcome unknown: written when the connection ended)
	Diffs   []string  // for missing findings, the fields that differ from the closest extra one
	ByOrig  map[string][2]int
}

// ignored are the fields a replica may legitimately change: the time
// (checked apart), the sensor's name, the file read, the flow hash of the new
// endpoints, and the cause of an NTLM logon (read from the traffic around
// the replica).
func canonical(f Finding) string {
	g := Finding{}
	for k, v := range f {
		switch k {
		case "@timestamp", "observer", "log":
			// log.file.path: the capture read (-r), not the replica's
			continue
		case "ntlm":
			// the cause is the audit stage's reading of what the client
			// did shortly before: around a replica, the generated traffic
			// and the other replicas, not what its original held
			if n, ok := v.(map[string]any); ok {
				m := map[string]any{}
				for a, b := range n {
					if a != "cause" && a != "causes" && a != "cause_evidence" {
						m[a] = b
					}
				}
				v = m
			}
		case "network":
			if n, ok := v.(map[string]any); ok {
				m := map[string]any{}
				for a, b := range n {
					if a != "community_id" {
						m[a] = b
					}
				}
				v = m
			}
		}
		g[k] = v
	}
	b, _ := json.Marshal(g)
	return string(b)
}

// Check matches found findings against planted ones: every field but the
// time, observer and community id must be equal (the endpoints are the
// replica's). Findings are matched as a multiset, so order and worker
// count do not matter.
func Check(planted []Planted, found []Finding) Result {
	r := Result{Planted: len(planted), ByOrig: map[string][2]int{}}
	pool := map[string][]Finding{}
	for _, f := range found {
		if !IsAuth(f) {
			continue
		}
		k := canonical(f)
		pool[k] = append(pool[k], f)
	}
	for _, p := range planted {
		k := canonical(p.Finding)
		c := r.ByOrig[p.Original]
		c[1]++
		if l := pool[k]; len(l) > 0 {
			got := l[len(l)-1]
			pool[k] = l[:len(l)-1]
			r.Found++
			c[0]++
			if got["@timestamp"] != p.Finding["@timestamp"] {
				r.Late++
			}
		} else {
			r.Missing = append(r.Missing, p)
		}
		r.ByOrig[p.Original] = c
	}
	for _, l := range pool {
		r.Extra = append(r.Extra, l...)
	}
	sort.Slice(r.Extra, func(i, j int) bool { return canonical(r.Extra[i]) < canonical(r.Extra[j]) })
	for _, p := range r.Missing {
		r.Diffs = append(r.Diffs, describe(p, r.Extra))
	}
	return r
}

// describe says how a missing planted finding differs from the extra
// finding on the same endpoints, if there is one.
func describe(p Planted, extra []Finding) string {
	want := flatten("", p.Finding, map[string]string{})
	for _, e := range extra {
		if canonical(map[string]any{"s": e["source"], "d": e["destination"]}) != canonical(map[string]any{"s": p.Finding["source"], "d": p.Finding["destination"]}) {
			continue
		}
		got := flatten("", e, map[string]string{})
		var d []string
		for k, v := range want {
			if got[k] != v && k != "@timestamp" && k != "network.community_id" && k != "observer.name" {
				d = append(d, fmt.Sprintf("%s: want %s, got %s", k, v, got[k]))
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok && k != "observer.name" {
				d = append(d, fmt.Sprintf("%s: unexpected %s", k, v))
			}
		}
		sort.Strings(d)
		return fmt.Sprintf("%s (replica %d): %s", p.Original, p.Replica, strings.Join(d, "; "))
	}
	j, _ := json.Marshal(p.Finding)
	return fmt.Sprintf("%s (replica %d): not reported: %s", p.Original, p.Replica, j)
}

func flatten(prefix string, v any, out map[string]string) map[string]string {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			flatten(strings.TrimPrefix(prefix+"."+k, "."), x, out)
		}
		return out
	}
	b, _ := json.Marshal(v)
	out[prefix] = string(b)
	return out
}

// IsAuth tells an authentication's finding from the other documents of
// the sensor's output (the inventory of NTLM dependencies, alerts): those
// are counted apart, never as extra findings.
func IsAuth(f Finding) bool {
	ev, ok := f["event"].(map[string]any)
	if !ok {
		return true
	}
	ds, ok := ev["dataset"].(string)
	return !ok || ds == "ntlmsensor.auth"
}

// CheckRepeated is Check for a capture replayed more than once (a live
// replay with loops, or several in parallel): a planted finding is found
// when it was reported at least once, whatever the number of copies, and
// an extra finding is a distinct reported one that nothing planted equals.
func CheckRepeated(planted []Planted, found []Finding) Result {
	seen := map[string]bool{}
	var unique []Finding
	for _, f := range found {
		if k := canonical(f); !seen[k] {
			seen[k] = true
			unique = append(unique, f)
		}
	}
	// as many copies of each distinct finding as were planted
	want := map[string]int{}
	for _, p := range planted {
		want[canonical(p.Finding)]++
	}
	var pool []Finding
	for _, f := range unique {
		for n := max(want[canonical(f)], 1); n > 0; n-- {
			pool = append(pool, f)
		}
	}
	return Check(planted, pool)
}
