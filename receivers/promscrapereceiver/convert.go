package promscrapereceiver // import "github.com/recobs/recobs/receivers/promscrapereceiver"

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	promtranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// family is one metric of a scrape: a Prometheus metric family as an OTLP metric.
type family struct {
	name      string // the OTLP metric's name (a counter keeps its _total, as contrib's receiver does)
	kind      pmetric.MetricType
	monotonic bool
	promType  model.MetricType
	help      string
	unit      string
	points    []*point
	byKey     map[uint64]*point
}

// point is one series of a family (a histogram's or summary's series are one point).
type point struct {
	key       uint64 // the family and the attribute labels: identifies the series across scrapes
	attrs     labels.Labels
	tsMs      int64
	startMs   int64 // the created timestamp the target wrote, 0 if none
	value     float64
	hasValue  bool
	sum       float64
	hasSum    bool
	count     float64
	hasCount  bool
	bounds    []bound // a histogram's buckets (cumulative) or a summary's quantiles
	exemplars []exemplar.Exemplar
	stale     bool
}

type bound struct{ at, value float64 }

// exposition is one parsed scrape, in the order the target wrote its families.
type exposition struct {
	families []*family
	byName   map[string]*family
	samples  int
	// processStartMs is process_start_time_seconds, when the target exposes it: the start of
	// its counters that have no created timestamp.
	processStartMs int64
	targetInfo     labels.Labels
}

// familyMetadata is what the # TYPE, # HELP and # UNIT lines said of a family name.
type familyMetadata struct {
	typ        model.MetricType
	help, unit string
}

var errSampleLimit = errors.New("sample_limit exceeded")

// parse reads an exposition in the format contentType names (Prometheus text or OpenMetrics;
// text when the target names none). A malformed exposition fails the whole scrape, as in
// Prometheus: a half-read scrape would end the series it did not reach.
func parse(body []byte, contentType string, scrapeMs int64, cfg *Config, st *labels.SymbolTable) (*exposition, error) {
	p, err := textparse.New(body, contentType, st, textparse.ParserOptions{
		// _created lines are read as series (and counted as samples, as Prometheus counts them)
		// and become their series' start. (Parser.StartTimestamp is not called: on OpenMetrics
		// it makes the parser skip them.)
		IgnoreNativeHistograms: true,
		FallbackContentType:    "text/plain",
	})
	if p == nil {
		return nil, err
	}
	x := &exposition{byName: map[string]*family{}}
	meta := map[string]*familyMetadata{}
	metaOf := func(name []byte) *familyMetadata {
		m, ok := meta[string(name)]
		if !ok {
			m = &familyMetadata{typ: model.MetricTypeUnknown}
			meta[string(name)] = m
		}
		return m
	}
	var (
		ls  labels.Labels
		ex  exemplar.Exemplar
		buf []byte
	)
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		switch entry {
		case textparse.EntryType:
			name, typ := p.Type()
			metaOf(name).typ = typ
		case textparse.EntryHelp:
			name, help := p.Help()
			metaOf(name).help = string(help)
		case textparse.EntryUnit:
			name, unit := p.Unit()
			metaOf(name).unit = string(unit)
		case textparse.EntrySeries:
			_, tsp, v := p.Series()
			p.Labels(&ls)
			x.samples++
			if cfg.SampleLimit > 0 && x.samples > cfg.SampleLimit {
				return nil, fmt.Errorf("%w: more than %d samples", errSampleLimit, cfg.SampleLimit)
			}
			ts := scrapeMs
			if cfg.HonorTimestamps && tsp != nil {
				ts = *tsp
			}
			seriesName := ls.Get(model.MetricNameLabel)
			if seriesName == "process_start_time_seconds" {
				x.processStartMs = int64(v * 1000)
			}
			if seriesName == "target_info" {
				x.targetInfo = ls // resource attributes, as OpenTelemetry's Prometheus compatibility says
				continue
			}
			fam, role := x.familyOf(seriesName, meta)
			pt := fam.pointFor(ls, ts, &buf)
			if err := pt.add(role, ls, v, ts); err != nil {
				return nil, fmt.Errorf("series %s: %w", seriesName, err)
			}
			for p.Exemplar(&ex) {
				if !ex.HasTs {
					ex.Ts = ts
				}
				if fam.kind != pmetric.MetricTypeSummary {
					pt.exemplars = append(pt.exemplars, ex)
				}
				ex = exemplar.Exemplar{}
			}
		case textparse.EntryHistogram:
			// Native histograms are only offered in protobuf, which this receiver does not ask for.
		}
	}
	return x, nil
}

// role is what a series is to its family.
type role int

const (
	roleValue role = iota
	roleBucket
	roleQuantile
	roleSum
	roleCount
	roleCreated
)

// familyOf finds (or starts) the family of a series by the names its metadata was written
// under: a histogram's foo_bucket, foo_sum and foo_count belong to foo; an OpenMetrics
// counter's foo_total to foo (its name stays foo_total, as in Prometheus).
func (x *exposition) familyOf(series string, meta map[string]*familyMetadata) (*family, role) {
	famName, outName, m := series, series, meta[series]
	r := roleValue
	if m == nil || m.typ == model.MetricTypeUnknown {
		for _, sfx := range [...]struct {
			s     string
			types []model.MetricType
			r     role
		}{
			{"_total", []model.MetricType{model.MetricTypeCounter}, roleValue},
			{"_bucket", []model.MetricType{model.MetricTypeHistogram}, roleBucket},
			{"_sum", []model.MetricType{model.MetricTypeHistogram, model.MetricTypeSummary}, roleSum},
			{"_count", []model.MetricType{model.MetricTypeHistogram, model.MetricTypeSummary}, roleCount},
			{"_info", []model.MetricType{model.MetricTypeInfo}, roleValue},
			{"_created", []model.MetricType{model.MetricTypeCounter, model.MetricTypeHistogram, model.MetricTypeSummary}, roleCreated},
		} {
			base, ok := strings.CutSuffix(series, sfx.s)
			if !ok || base == "" {
				continue
			}
			if bm := meta[base]; bm != nil && slices.Contains(sfx.types, bm.typ) {
				famName, m, r = base, bm, sfx.r
				if bm.typ != model.MetricTypeCounter {
					outName = base
				} else {
					outName = base + "_total" // its _created line comes with the counter's name
				}
				break
			}
		}
	}
	if m == nil {
		m = &familyMetadata{typ: model.MetricTypeUnknown}
	}
	if r == roleValue && m.typ == model.MetricTypeSummary {
		r = roleQuantile
	}
	// Keyed by type too: client_golang's OpenMetrics writes go_memstats_alloc_bytes as a gauge
	// and then again as a counter (go_memstats_alloc_bytes_total), two metrics.
	famKey := famName + "\xff" + string(m.typ)
	if f := x.byName[famKey]; f != nil {
		return f, r
	}
	f := &family{name: outName, promType: m.typ, help: m.help, unit: m.unit, byKey: map[uint64]*point{}}
	switch m.typ {
	case model.MetricTypeCounter:
		f.kind, f.monotonic = pmetric.MetricTypeSum, true
	case model.MetricTypeHistogram:
		f.kind = pmetric.MetricTypeHistogram
	case model.MetricTypeSummary:
		f.kind = pmetric.MetricTypeSummary
	case model.MetricTypeInfo, model.MetricTypeStateset:
		f.kind = pmetric.MetricTypeSum
	default: // gauge, unknown, and what OTLP has no type for (gaugehistogram): each series a gauge
		f.kind = pmetric.MetricTypeGauge
	}
	if f.kind == pmetric.MetricTypeGauge && famName != series {
		f.name = series
	}
	x.byName[famKey] = f
	x.families = append(x.families, f)
	return f, r
}

// pointFor finds (or starts) the point of a series: its labels without the name, and for a
// histogram or summary without le or quantile. A target's own job and instance labels are kept
// as exported_job and exported_instance, as Prometheus keeps them (honor_labels: false).
func (f *family) pointFor(ls labels.Labels, ts int64, buf *[]byte) *point {
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) {
		switch {
		case l.Name == model.MetricNameLabel, l.Value == "":
		case l.Name == model.BucketLabel && f.kind == pmetric.MetricTypeHistogram:
		case l.Name == model.QuantileLabel && f.kind == pmetric.MetricTypeSummary:
		case l.Name == model.JobLabel || l.Name == model.InstanceLabel:
			b.Add(model.ExportedLabelPrefix+l.Name, l.Value)
		default:
			b.Add(l.Name, l.Value)
		}
	})
	b.Sort()
	attrs := b.Labels()
	*buf = append(append((*buf)[:0], f.name...), 0xff)
	*buf = append(*buf, attrs.Bytes(nil)...)
	key := xxhash.Sum64(*buf)
	if pt := f.byKey[key]; pt != nil {
		return pt
	}
	pt := &point{key: key, attrs: attrs, tsMs: ts}
	f.byKey[key] = pt
	f.points = append(f.points, pt)
	return pt
}

func (pt *point) add(r role, ls labels.Labels, v float64, ts int64) error {
	switch r {
	case roleBucket, roleQuantile:
		name := model.BucketLabel
		if r == roleQuantile {
			name = model.QuantileLabel
		}
		at, err := strconv.ParseFloat(ls.Get(name), 64)
		if err != nil {
			return fmt.Errorf("label %s: %w", name, err)
		}
		pt.bounds = append(pt.bounds, bound{at: at, value: v})
	case roleSum:
		pt.sum, pt.hasSum = v, true
	case roleCreated:
		pt.startMs = int64(v * 1000)
	case roleCount:
		pt.count, pt.hasCount = v, true
		pt.tsMs = ts // a histogram's time is its count's (the one series it must have), as in contrib
	default:
		pt.value, pt.hasValue = v, true
	}
	return nil
}

// cumulative is the value whose decrease means the series was reset.
func (pt *point) cumulative(f *family) (float64, bool) {
	switch f.kind {
	case pmetric.MetricTypeHistogram, pmetric.MetricTypeSummary:
		return pt.count, pt.hasCount
	case pmetric.MetricTypeSum:
		return pt.value, pt.hasValue && f.monotonic
	}
	return 0, false
}

// appendTo writes the exposition's families as OTLP metrics. It returns the names of the
// histograms it had to leave points out of (no _count, or buckets that decrease: OTLP cannot
// carry them), so the scrape can say so instead of dropping them silently.
func (x *exposition) appendTo(ms pmetric.MetricSlice) (dropped []string) {
	for _, f := range x.families {
		m := pmetric.NewMetric()
		m.SetName(f.name)
		m.SetDescription(f.help)
		m.SetUnit(promtranslator.UnitWordToUCUM(f.unit))
		m.Metadata().PutStr(promtranslator.MetricMetadataTypeKey, string(f.promType))
		switch f.kind {
		case pmetric.MetricTypeSum:
			s := m.SetEmptySum()
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			s.SetIsMonotonic(f.monotonic)
			for _, pt := range f.points {
				pt.numberTo(s.DataPoints(), true)
			}
		case pmetric.MetricTypeGauge:
			g := m.SetEmptyGauge()
			for _, pt := range f.points {
				pt.numberTo(g.DataPoints(), false)
			}
		case pmetric.MetricTypeHistogram:
			h := m.SetEmptyHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for _, pt := range f.points {
				if !pt.histogramTo(h.DataPoints()) {
					dropped = append(dropped, f.name)
				}
			}
		case pmetric.MetricTypeSummary:
			s := m.SetEmptySummary()
			for _, pt := range f.points {
				pt.summaryTo(s.DataPoints())
			}
		}
		if pointCount(m) > 0 {
			m.MoveTo(ms.AppendEmpty())
		}
	}
	return dropped
}

func (pt *point) common(attrs pcommon.Map, start, ts func(pcommon.Timestamp), withStart bool) {
	attrs.EnsureCapacity(pt.attrs.Len())
	pt.attrs.Range(func(l labels.Label) { attrs.PutStr(l.Name, l.Value) })
	ts(msToTimestamp(pt.tsMs))
	if withStart && pt.startMs != 0 {
		start(msToTimestamp(pt.startMs))
	}
}

func (pt *point) numberTo(dps pmetric.NumberDataPointSlice, cumulative bool) {
	if !pt.hasValue && !pt.stale {
		return
	}
	dp := dps.AppendEmpty()
	pt.common(dp.Attributes(), dp.SetStartTimestamp, dp.SetTimestamp, cumulative)
	if pt.stale || value.IsStaleNaN(pt.value) {
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	} else {
		dp.SetDoubleValue(pt.value)
	}
	exemplarsTo(pt.exemplars, dp.Exemplars())
}

// histogramTo appends the point; false if it cannot be a histogram (it is then left out).
func (pt *point) histogramTo(dps pmetric.HistogramDataPointSlice) bool {
	if !pt.hasCount && !pt.stale {
		return false // a histogram without _count is not a histogram (contrib drops it too)
	}
	slices.SortFunc(pt.bounds, func(a, b bound) int { return cmp.Compare(a.at, b.at) })
	bounds := pt.bounds
	if n := len(bounds); n > 0 && math.IsInf(bounds[n-1].at, 1) {
		bounds = bounds[:n-1] // +Inf is the count
	}
	stale := pt.stale || value.IsStaleNaN(pt.count)
	if !stale {
		prev := 0.0
		for _, b := range bounds {
			if math.IsNaN(b.value) || b.value < prev {
				return false // decreasing cumulative buckets: not a histogram OTLP can carry
			}
			prev = b.value
		}
		if math.IsNaN(pt.count) || pt.count < prev {
			return false
		}
	}
	dp := dps.AppendEmpty()
	pt.common(dp.Attributes(), dp.SetStartTimestamp, dp.SetTimestamp, true)
	dp.ExplicitBounds().EnsureCapacity(len(bounds))
	dp.BucketCounts().EnsureCapacity(len(bounds) + 1)
	prev := 0.0
	for _, b := range bounds {
		dp.ExplicitBounds().Append(b.at)
		if stale {
			dp.BucketCounts().Append(0)
			continue
		}
		dp.BucketCounts().Append(uint64(b.value - prev))
		prev = b.value
	}
	if stale {
		dp.BucketCounts().Append(0)
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	} else {
		dp.BucketCounts().Append(uint64(pt.count - prev))
		dp.SetCount(uint64(pt.count))
		if pt.hasSum {
			dp.SetSum(pt.sum)
		}
	}
	exemplarsTo(pt.exemplars, dp.Exemplars())
	return true
}

func (pt *point) summaryTo(dps pmetric.SummaryDataPointSlice) {
	if !pt.hasCount && !pt.stale {
		return
	}
	dp := dps.AppendEmpty()
	pt.common(dp.Attributes(), dp.SetStartTimestamp, dp.SetTimestamp, true)
	if pt.stale || value.IsStaleNaN(pt.count) {
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
		return
	}
	dp.SetCount(uint64(pt.count))
	if pt.hasSum {
		dp.SetSum(pt.sum)
	}
	slices.SortFunc(pt.bounds, func(a, b bound) int { return cmp.Compare(a.at, b.at) })
	for _, q := range pt.bounds {
		qv := dp.QuantileValues().AppendEmpty()
		qv.SetQuantile(q.at)
		qv.SetValue(q.value)
	}
}

// exemplarsTo converts OpenMetrics exemplars: trace_id and span_id labels of the right width
// become the exemplar's trace and span (the link to Jaeger), other labels filtered attributes.
func exemplarsTo(exs []exemplar.Exemplar, dst pmetric.ExemplarSlice) {
	for _, ex := range exs {
		e := dst.AppendEmpty()
		e.SetTimestamp(msToTimestamp(ex.Ts))
		e.SetDoubleValue(ex.Value)
		ex.Labels.Range(func(l labels.Label) {
			switch {
			case l.Value == "":
			case strings.EqualFold(l.Name, promtranslator.ExemplarTraceIDKey):
				var id pcommon.TraceID
				if decodeHex(id[:], l.Value) && !id.IsEmpty() {
					e.SetTraceID(id)
				} else {
					e.FilteredAttributes().PutStr(l.Name, l.Value)
				}
			case strings.EqualFold(l.Name, promtranslator.ExemplarSpanIDKey):
				var id pcommon.SpanID
				if decodeHex(id[:], l.Value) && !id.IsEmpty() {
					e.SetSpanID(id)
				} else {
					e.FilteredAttributes().PutStr(l.Name, l.Value)
				}
			default:
				e.FilteredAttributes().PutStr(l.Name, l.Value)
			}
		})
	}
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return false
		}
		dst[i] = byte(v)
	}
	return true
}

func msToTimestamp(ms int64) pcommon.Timestamp { return pcommon.Timestamp(ms * 1e6) }
