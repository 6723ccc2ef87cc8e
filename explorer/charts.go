package explorer // import "github.com/recobs/recobs/explorer"

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Charts are SVG drawn on the server: no script library, nothing fetched from a CDN, and a
// page that works offline and prints.

type point struct {
	T time.Time
	V float64
}

type chartSeries struct {
	Name   string
	Points []point
}

// chartMark is an exemplar: a real request at (T, V), linked to its page.
type chartMark struct {
	T         time.Time
	V         float64
	Label     string
	Href      string
	Highlight bool // the request the page is about
}

type chart struct {
	Title, Unit string
	From, To    time.Time
	Series      []chartSeries
	Marks       []chartMark
	At          time.Time // a vertical line: the request's time (zero: none)
	Err         string    // why there is no data (a backend down, a bad query)
}

// PointCount is how many points the chart draws (the browser test reads it).
func (c chart) PointCount() int {
	n := 0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				n++
			}
		}
	}
	return n
}

// seriesFrom turns a query_range answer into chart series named by their labels.
func seriesFrom(m promMatrix) []chartSeries {
	var out []chartSeries
	for _, r := range m.Data.Result {
		s := chartSeries{Name: labelText(r.Metric)}
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				continue
			}
			s.Points = append(s.Points, point{T: time.UnixMilli(int64(ts * 1000)), V: f})
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func labelText(m map[string]string) string {
	var parts []string
	for k, v := range m {
		if k != "__name__" {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "value"
	}
	return strings.Join(parts, ", ")
}

var palette = []string{"#2f6fdb", "#d9822b", "#3a9d5d", "#c23b5b", "#7a4fc9", "#4f8a99"}

const chartW, chartH, padL, padR, padT, padB = 560.0, 170.0, 52.0, 10.0, 10.0, 22.0

// SVG draws the chart.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" data-points="%d">`,
		chartW, chartH, html.EscapeString(c.Title), c.PointCount())
	lo, hi := 0.0, math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			}
		}
	}
	for _, m := range c.Marks {
		hi = math.Max(hi, m.V)
	}
	if math.IsInf(hi, -1) || hi <= lo {
		hi = lo + 1
	}
	span := c.To.Sub(c.From).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return padL + (chartW-padL-padR)*t.Sub(c.From).Seconds()/span }
	y := func(v float64) float64 { return chartH - padB - (chartH-padT-padB)*(v-lo)/(hi-lo) }
	// Axes and their few labels.
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, padT, padL, chartH-padB)
	fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-4, padT+8, html.EscapeString(formatValue(hi, c.Unit)))
	fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-4, chartH-padB, html.EscapeString(formatValue(lo, c.Unit)))
	fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f">%s</text>`, padL, chartH-6, c.From.Local().Format("15:04:05"))
	fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartW-padR, chartH-6, c.To.Local().Format("15:04:05"))
	if !c.At.IsZero() {
		fmt.Fprintf(&b, `<line class="at" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"><title>this request</title></line>`, x(c.At), padT, x(c.At), chartH-padB)
	}
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		var seg []string
		flush := func() {
			if len(seg) > 0 {
				fmt.Fprintf(&b, `<polyline class="line" stroke="%s" points="%s"><title>%s</title></polyline>`, color, strings.Join(seg, " "), html.EscapeString(s.Name))
			}
			seg = seg[:0]
		}
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				flush() // a gap, not a line to zero
				continue
			}
			seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
		}
		flush()
	}
	for _, m := range c.Marks {
		class, r := "mark", 3.5
		if m.Highlight {
			class, r = "mark mark-this", 6
		}
		fmt.Fprintf(&b, `<a href="%s"><circle class="%s" cx="%.1f" cy="%.1f" r="%.1f"><title>%s</title></circle></a>`,
			html.EscapeString(m.Href), class, x(m.T), y(m.V), r, html.EscapeString(m.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// Legend names the series in their colours.
func (c chart) Legend() []struct{ Name, Color string } {
	out := make([]struct{ Name, Color string }, len(c.Series))
	for i, s := range c.Series {
		out[i].Name, out[i].Color = s.Name, palette[i%len(palette)]
	}
	return out
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "s":
		if v < 1 {
			return strconv.FormatFloat(v*1000, 'g', 3, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'g', 3, 64) + " s"
	case "percentunit":
		return strconv.FormatFloat(v*100, 'g', 3, 64) + "%"
	case "percent":
		return strconv.FormatFloat(v, 'g', 3, 64) + "%"
	case "reqps":
		return strconv.FormatFloat(v, 'g', 3, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
