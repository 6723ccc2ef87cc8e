package promscrapereceiver // import "github.com/recobs/recobs/receivers/promscrapereceiver"

import (
	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// memory is what a target's scrapes remember of each other: every series of the last
// successful scrape, with its start time, so a counter keeps the start of its run and a series
// that disappears is ended (a point flagged "no recorded value", what a Prometheus staleness
// marker becomes in OTLP).
type memory struct {
	series map[uint64]*seriesMemo
	// lastMs is the time of the last successful scrape: a series first seen after it was
	// created after it.
	lastMs         int64
	processStartMs int64
}

type seriesMemo struct {
	family  *family // name, type and help only (its points are the scrape's)
	famKey  string
	attrs   labels.Labels
	bounds  []bound
	startMs int64
	last    float64
}

func newMemory() *memory { return &memory{series: map[uint64]*seriesMemo{}} }

// reconcile gives each cumulative point of a successful scrape its start time and ends the
// series the scrape no longer has. It returns how many series are new.
//
// The start of a counter without a created timestamp: when it was first seen, the target's
// process_start_time_seconds if it exposes one (a series present at the first scrape has
// counted since the process started), otherwise the previous scrape (it appeared after it), or
// this scrape at the very first; after a reset (the value went down, or the process start
// moved) the previous scrape.
func (m *memory) reconcile(x *exposition, scrapeMs int64) (added int) {
	restarted := x.processStartMs != 0 && m.processStartMs != 0 && x.processStartMs != m.processStartMs
	seen := make(map[uint64]bool, len(m.series))
	for famKey, f := range x.byName {
		cumulative := f.kind == pmetric.MetricTypeSum || f.kind == pmetric.MetricTypeHistogram || f.kind == pmetric.MetricTypeSummary
		for _, pt := range f.points {
			seen[pt.key] = true
			s := m.series[pt.key]
			if s == nil {
				added++
				s = &seriesMemo{family: f.skeleton(), famKey: famKey, attrs: pt.attrs}
				s.startMs = max(m.lastMs, x.processStartMs)
				if s.startMs == 0 || s.startMs > pt.tsMs {
					s.startMs = pt.tsMs
				}
				m.series[pt.key] = s
			} else if v, ok := pt.cumulative(f); ok && (v < s.last || restarted) {
				s.startMs = max(m.lastMs, x.processStartMs)
			}
			s.bounds = append(s.bounds[:0], pt.bounds...)
			if v, ok := pt.cumulative(f); ok {
				s.last = v
			}
			if pt.startMs != 0 {
				s.startMs = pt.startMs // the target knows better
			}
			if cumulative {
				pt.startMs = s.startMs
			}
		}
	}
	for key, s := range m.series {
		if !seen[key] {
			x.addStale(s, scrapeMs)
			delete(m.series, key)
		}
	}
	m.lastMs, m.processStartMs = scrapeMs, x.processStartMs
	return added
}

// endAll ends every series: the scrape failed, and Prometheus then marks all of a target's
// series stale. The exposition it returns has only those ends.
func (m *memory) endAll(scrapeMs int64) *exposition {
	x := &exposition{byName: map[string]*family{}}
	for key, s := range m.series {
		x.addStale(s, scrapeMs)
		delete(m.series, key)
	}
	return x
}

func (x *exposition) addStale(s *seriesMemo, scrapeMs int64) {
	f := x.byName[s.famKey]
	if f == nil {
		f = s.family.skeleton()
		x.byName[s.famKey] = f
		x.families = append(x.families, f)
	}
	pt := &point{attrs: s.attrs, tsMs: scrapeMs, stale: true, bounds: s.bounds}
	f.points = append(f.points, pt)
}

// skeleton is the family without its points.
func (f *family) skeleton() *family {
	return &family{name: f.name, kind: f.kind, monotonic: f.monotonic, promType: f.promType, help: f.help, unit: f.unit, byKey: map[uint64]*point{}}
}
