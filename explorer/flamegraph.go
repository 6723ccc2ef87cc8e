package explorer // import "github.com/recobs/recobs/explorer"

import (
	"fmt"
	"hash/fnv"
	"html"
	"html/template"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/recobs/recobs/internal/profilesummary"
)

// flameNode is a frame of the flame graph: a function called along one path, and the value
// of the samples whose stacks pass through it.
type flameNode struct {
	Name     string
	Value    int64
	children map[string]*flameNode
	order    []*flameNode
}

func (n *flameNode) child(name string) *flameNode {
	c, ok := n.children[name]
	if !ok {
		c = &flameNode{Name: name, children: map[string]*flameNode{}}
		n.children[name] = c
		n.order = append(n.order, c)
	}
	return c
}

// buildFlame merges the stacks (root first) of the samples keep accepts, by p's default
// sample type.
func buildFlame(p *profile.Profile, keep func(*profile.Sample) bool) *flameNode {
	root := &flameNode{Name: "all", children: map[string]*flameNode{}}
	idx := profilesummary.SampleIndex(p)
	if idx < 0 {
		return root
	}
	var stack []string
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v == 0 || (keep != nil && !keep(s)) {
			continue
		}
		stack = stack[:0]
		for i := len(s.Location) - 1; i >= 0; i-- { // the root is the last location
			lines := s.Location[i].Line
			for j := len(lines) - 1; j >= 0; j-- { // inlined: the caller is the last line
				if lines[j].Function != nil {
					stack = append(stack, lines[j].Function.Name)
				}
			}
		}
		n := root
		n.Value += v
		for _, name := range stack {
			n = n.child(name)
			n.Value += v
		}
	}
	return root
}

// find follows a path of names from n; nil when a name is not there.
func (n *flameNode) find(path []string) *flameNode {
	for _, name := range path {
		c, ok := n.children[name]
		if !ok {
			return nil
		}
		n = c
	}
	return n
}

const (
	flameWidth = 1200.0
	flameRow   = 18.0
	flameMinPx = 0.5 // narrower frames are not drawn (their value still counts above them)
)

// flameSVG draws the graph from n (the focused frame) down: each frame a link that zooms to
// it (link builds the URL from a path), frames whose function contains search highlighted,
// colored by color (nil: by package). Its data-frames says how many frames it drew.
func flameSVG(n *flameNode, path []string, search string, link func([]string) string, color func([]string, *flameNode) string) template.HTML {
	if color == nil {
		color = func(_ []string, n *flameNode) string { return frameColor(n.Name) }
	}
	var b strings.Builder
	depth := n.depth(0)
	height := float64(depth+1) * flameRow
	frames := 0
	var body strings.Builder
	var draw func(n *flameNode, path []string, x, w float64, level int)
	draw = func(n *flameNode, path []string, x, w float64, level int) {
		if w < flameMinPx {
			return
		}
		frames++
		y := float64(level) * flameRow
		class := "frame"
		if search != "" && strings.Contains(n.Name, search) {
			class += " match"
		}
		fmt.Fprintf(&body, `<a href="%s"><g class="%s"><title>%s — %s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
			html.EscapeString(link(path)), class, html.EscapeString(n.Name), html.EscapeString(fmt.Sprint(n.Value)), x, y, w, flameRow-1, color(path, n))
		if chars := int(w / 7); chars >= 4 {
			fmt.Fprintf(&body, `<text x="%.1f" y="%.1f">%s</text>`, x+3, y+13, html.EscapeString(shorten(n.Name, chars)))
		}
		body.WriteString(`</g></a>`)
		cx := x
		for _, c := range n.order {
			cw := w * float64(c.Value) / float64(max(n.Value, 1))
			draw(c, append(slices.Clip(path), c.Name), cx, cw, level+1)
			cx += cw
		}
	}
	draw(n, path, 0, flameWidth, 0)
	fmt.Fprintf(&b, `<svg class="flame" viewBox="0 0 %.0f %.0f" role="img" aria-label="flame graph" data-frames="%d">`, flameWidth, height, frames)
	b.WriteString(body.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every name is escaped above
}

func (n *flameNode) depth(d int) int {
	deepest := d
	for _, c := range n.order {
		deepest = max(deepest, c.depth(d+1))
	}
	return deepest
}

// frameColor is a warm color chosen by the function's package, so one package's frames match.
func frameColor(name string) string {
	pkg := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		pkg = name[:i]
	}
	if i := strings.IndexByte(name[len(pkg):], '.'); i >= 0 {
		pkg = name[:len(pkg)+i]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(pkg))
	v := h.Sum32()
	return fmt.Sprintf("rgb(%d,%d,%d)", 205+v%50, 90+(v>>8)%110, 40+(v>>16)%50)
}

// shorten keeps a name's end (the function, not its import path) within n characters.
func shorten(name string, n int) string {
	if len(name) <= n {
		return name
	}
	if n <= 1 {
		return "…"
	}
	return "…" + name[len(name)-n+1:]
}

// focusPath reads the ?focus= value: function names joined by ";".
func focusPath(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}

func focusQuery(q url.Values, path []string) string {
	q = maps.Clone(q)
	if len(path) == 0 {
		q.Del("focus")
	} else {
		q.Set("focus", strings.Join(path, ";"))
	}
	return "?" + q.Encode()
}

// diffColor colors a frame of the target profile by how its share of the whole changed
// against base at the same call path: red where it takes more, blue where less, white where
// the same (±0.5 points), saturating at ±10 points. Shares, not values, so profiles of
// different lengths or loads compare.
func diffColor(base, target *flameNode) func([]string, *flameNode) string {
	return func(path []string, n *flameNode) string {
		share := float64(n.Value) / float64(max(target.Value, 1))
		var before float64
		if b := base.find(path); b != nil {
			before = float64(b.Value) / float64(max(base.Value, 1))
		}
		d := (share - before) * 100 // points
		switch {
		case d > 0.5:
			k := min(d/10, 1)
			return fmt.Sprintf("rgb(255,%d,%d)", int(230-170*k), int(230-170*k))
		case d < -0.5:
			k := min(-d/10, 1)
			return fmt.Sprintf("rgb(%d,%d,255)", int(230-170*k), int(230-170*k))
		}
		return "rgb(235,235,235)"
	}
}
