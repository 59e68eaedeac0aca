package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"
)

// The charts are inline SVG drawn here, so the page needs no script and no
// request to show them, and prints as it shows. Every mark is a <rect
// class="mark"> with a <title> giving its numbers.

const (
	chartW = 720 // viewBox width of the wide chart; the SVG scales to its box
	halfW  = 460 // of the charts beside one another
	barH   = 18
	labelW = 150
)

// hbars is a horizontal bar chart of counts.
func hbars(cs []Count, class string) template.HTML {
	if len(cs) == 0 {
		return template.HTML(`<p class="none">none seen</p>`)
	}
	var most uint64
	for _, c := range cs {
		most = max(most, c.N)
	}
	var b strings.Builder
	h := len(cs)*(barH+6) + 4
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img">`, halfW, h)
	for i, c := range cs {
		y := 2 + i*(barH+6)
		w := max(1, int(float64(halfW-labelW-50)*float64(c.N)/float64(max(most, 1))))
		if c.N == 0 {
			w = 0
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">%s</text>`, labelW-8, y+barH-5, esc(cut(c.Name, 24)))
		fmt.Fprintf(&b, `<rect class="mark %s" x="%d" y="%d" width="%d" height="%d"><title>%s: %d</title></rect>`, class, labelW, y, w, barH, esc(c.Name), c.N)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="value">%d</text>`, labelW+w+6, y+barH-5, c.N)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// pairBars is a horizontal chart of NTLM and Kerberos side by side,
// stacked on one bar per name.
func pairBars(ps []Pair) template.HTML {
	if len(ps) == 0 {
		return template.HTML(`<p class="none">none seen</p>`)
	}
	var most uint64
	for _, p := range ps {
		most = max(most, p.NTLM+p.Kerberos)
	}
	scale := float64(halfW-labelW-80) / float64(max(most, 1))
	var b strings.Builder
	h := len(ps)*(barH+6) + 4
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img">`, halfW, h)
	for i, p := range ps {
		y := 2 + i*(barH+6)
		wn, wk := int(scale*float64(p.NTLM)), int(scale*float64(p.Kerberos))
		if p.NTLM > 0 {
			wn = max(wn, 1)
		}
		if p.Kerberos > 0 {
			wk = max(wk, 1)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">%s</text>`, labelW-8, y+barH-5, esc(p.Name))
		fmt.Fprintf(&b, `<rect class="mark ntlm" x="%d" y="%d" width="%d" height="%d"><title>%s: %d NTLM</title></rect>`, labelW, y, wn, barH, esc(p.Name), p.NTLM)
		fmt.Fprintf(&b, `<rect class="mark krb" x="%d" y="%d" width="%d" height="%d"><title>%s: %d Kerberos</title></rect>`, labelW+wn, y, wk, barH, esc(p.Name), p.Kerberos)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="value">%d · %d</text>`, labelW+wn+wk+6, y+barH-5, p.NTLM, p.Kerberos)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeChart draws NTLM and Kerberos logons over time, stacked bars.
func timeChart(ts []Pair, bucket time.Duration) template.HTML {
	if len(ts) == 0 {
		return template.HTML(`<p class="none">no logons</p>`)
	}
	const h, top, bottom, left = 170, 10, 30, 50
	var most uint64
	for _, t := range ts {
		most = max(most, t.NTLM+t.Kerberos)
	}
	plotW := chartW - left - 10
	bw := float64(plotW) / float64(len(ts))
	scale := float64(h-top-bottom) / float64(max(most, 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img">`, chartW, h)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, h-bottom, chartW-10, h-bottom)
	fmt.Fprintf(&b, `<text class="value" x="%d" y="%d" text-anchor="end">%d</text>`, left-6, top+10, most)
	fmt.Fprintf(&b, `<text class="value" x="%d" y="%d" text-anchor="end">0</text>`, left-6, h-bottom)
	for i, t := range ts {
		x := float64(left) + float64(i)*bw
		hn, hk := scale*float64(t.NTLM), scale*float64(t.Kerberos)
		y := float64(h - bottom)
		label := t.Name
		if tm, err := time.Parse(time.RFC3339, t.Name); err == nil {
			label = tm.Format("2006-01-02 15:04")
		}
		if t.NTLM > 0 {
			hn = max(hn, 1)
			fmt.Fprintf(&b, `<rect class="mark ntlm" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d NTLM</title></rect>`, x, y-hn, max(bw-1, 0.5), hn, label, t.NTLM)
		}
		if t.Kerberos > 0 {
			hk = max(hk, 1)
			fmt.Fprintf(&b, `<rect class="mark krb" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d Kerberos</title></rect>`, x, y-hn-hk, max(bw-1, 0.5), hk, label, t.Kerberos)
		}
	}
	first, _ := time.Parse(time.RFC3339, ts[0].Name)
	last, _ := time.Parse(time.RFC3339, ts[len(ts)-1].Name)
	fmt.Fprintf(&b, `<text class="value" x="%d" y="%d">%s</text>`, left, h-8, first.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, `<text class="value" x="%d" y="%d" text-anchor="end">%s · one bar: %s</text>`, chartW-10, h-8, last.Format("2006-01-02 15:04"), bucketName(bucket))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return html.EscapeString(s) }
