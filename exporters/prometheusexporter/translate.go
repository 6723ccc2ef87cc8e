package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// translator turns OTLP metrics into remote-write series, following the OpenTelemetry →
// Prometheus compatibility specification.
type translator struct {
	namer      otlptranslator.MetricNamer
	labels     otlptranslator.LabelNamer
	units      otlptranslator.UnitNamer
	metadata   bool // send_metadata: collect each family's type, help and unit
	promote    []string
	promoteAll bool // resource_to_telemetry_conversion: every resource attribute
	external   map[string]string
}

// skipped counts points that have no faithful Prometheus form, by reason.
type skipped struct {
	delta, invalid, badHistogram int
}

func newTranslator(cfg *Config) *translator {
	strategy := cfg.TranslationStrategy
	if strategy == "" { // a Config built in code rather than by the factory
		strategy = otlptranslator.UnderscoreEscapingWithSuffixes
	}
	return &translator{
		namer:      otlptranslator.NewMetricNamer(cfg.Namespace, strategy),
		labels:     otlptranslator.LabelNamer{UTF8Allowed: !strategy.ShouldEscape()},
		units:      otlptranslator.UnitNamer{UTF8Allowed: !strategy.ShouldEscape()},
		metadata:   cfg.SendMetadata,
		promote:    cfg.ResourceToLabels,
		promoteAll: cfg.ResourceToTelemetryConversion.Enabled,
		external:   cfg.externalLabels(),
	}
}

type labelSet map[string]string

// add sets name (sanitised); two attributes that sanitise to the same name keep both
// values, joined by ';' as the specification says.
func (ls labelSet) add(namer *otlptranslator.LabelNamer, name, val string) {
	n, err := namer.Build(name)
	if err != nil || n == "" || val == "" {
		return
	}
	if old, ok := ls[n]; ok && old != val {
		val = old + ";" + val
	}
	ls[n] = val
}

func (ls labelSet) with(extra ...string) []prompb.Label {
	out := make([]prompb.Label, 0, len(ls)+len(extra)/2)
	for k, v := range ls {
		out = append(out, prompb.Label{Name: k, Value: v})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out = append(out, prompb.Label{Name: extra[i], Value: extra[i+1]})
	}
	slices.SortFunc(out, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (t *translator) resourceLabels(res pcommon.Resource) (labelSet, labelSet) {
	attrs := res.Attributes()
	ls := labelSet{}
	for k, v := range t.external {
		ls[k] = v
	}
	job := ""
	if v, ok := attrs.Get("service.name"); ok {
		job = v.AsString()
		if ns, ok := attrs.Get("service.namespace"); ok && ns.AsString() != "" {
			job = ns.AsString() + "/" + job
		}
	}
	if job != "" {
		ls["job"] = job
	}
	if v, ok := attrs.Get("service.instance.id"); ok && v.AsString() != "" {
		ls["instance"] = v.AsString()
	}
	for _, k := range t.promote {
		if v, ok := attrs.Get(k); ok {
			ls.add(&t.labels, k, v.AsString())
		}
	}
	if t.promoteAll {
		attrs.Range(func(k string, v pcommon.Value) bool {
			switch k {
			case "service.name", "service.namespace", "service.instance.id": // job and instance
			default:
				ls.add(&t.labels, k, v.AsString())
			}
			return true
		})
	}
	// target_info carries every other resource attribute, joinable on job and instance.
	info := labelSet{}
	for _, k := range []string{"job", "instance"} {
		if v, ok := ls[k]; ok {
			info[k] = v
		}
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case "service.name", "service.namespace", "service.instance.id":
		default:
			info.add(&t.labels, k, v.AsString())
		}
		return true
	})
	return ls, info
}

func (t *translator) pointLabels(base labelSet, attrs pcommon.Map) labelSet {
	ls := make(labelSet, len(base)+attrs.Len())
	for k, v := range base {
		ls[k] = v
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		ls.add(&t.labels, k, v.AsString())
		return true
	})
	return ls
}

func ms(ts pcommon.Timestamp) int64 { return int64(ts) / 1e6 }

func sampleValue(flags pmetric.DataPointFlags, v float64) float64 {
	if flags.NoRecordedValue() {
		return math.Float64frombits(value.StaleNaN)
	}
	return v
}

func numberValue(p pmetric.NumberDataPoint) float64 {
	if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(p.IntValue())
	}
	return p.DoubleValue()
}

// exemplars converts a point's exemplars, keeping trace_id and span_id as labels.
func exemplars(ex pmetric.ExemplarSlice) []prompb.Exemplar {
	out := make([]prompb.Exemplar, 0, ex.Len())
	for i := 0; i < ex.Len(); i++ {
		e := ex.At(i)
		var ls []prompb.Label
		if tid := e.TraceID(); !tid.IsEmpty() {
			ls = append(ls, prompb.Label{Name: "trace_id", Value: tid.String()})
		}
		if sid := e.SpanID(); !sid.IsEmpty() {
			ls = append(ls, prompb.Label{Name: "span_id", Value: sid.String()})
		}
		out = append(out, prompb.Exemplar{Labels: ls, Value: exemplarValue(e), Timestamp: ms(e.Timestamp())})
	}
	return out
}

func exemplarValue(e pmetric.Exemplar) float64 {
	if e.ValueType() == pmetric.ExemplarValueTypeInt {
		return float64(e.IntValue())
	}
	return e.DoubleValue()
}

// families maps a series name to its family's metadata (type, help, unit), for send_metadata.
type families map[string]*prompb.MetricMetadata

// describe records the metadata of family name, whose series are named name+suffix.
func (f families) describe(name string, typ prompb.MetricMetadata_MetricType, m pmetric.Metric, unit string, suffixes ...string) {
	if f == nil {
		return
	}
	md := &prompb.MetricMetadata{Type: typ, MetricFamilyName: name, Help: m.Description(), Unit: unit}
	for _, s := range suffixes {
		f[name+s] = md
	}
}

// of lists, once each, the metadata of the families series belong to.
func (f families) of(series []prompb.TimeSeries) []prompb.MetricMetadata {
	if f == nil {
		return nil
	}
	var out []prompb.MetricMetadata
	seen := map[*prompb.MetricMetadata]bool{}
	for _, s := range series {
		for _, l := range s.Labels {
			if l.Name != labels.MetricName {
				continue
			}
			if md := f[l.Value]; md != nil && !seen[md] {
				seen[md] = true
				out = append(out, *md)
			}
			break
		}
	}
	return out
}

func (t *translator) translate(md pmetric.Metrics) ([]prompb.TimeSeries, skipped, families) {
	var out []prompb.TimeSeries
	var sk skipped
	var meta families
	if t.metadata {
		meta = families{}
	}
	series := func(ls labelSet, name string, ts int64, v float64, extra ...string) *prompb.TimeSeries {
		out = append(out, prompb.TimeSeries{
			Labels:  ls.with(append([]string{labels.MetricName, name}, extra...)...),
			Samples: []prompb.Sample{{Value: v, Timestamp: ts}},
		})
		return &out[len(out)-1]
	}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		base, info := t.resourceLabels(rm.Resource())
		var latest int64
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms0 := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms0.Len(); k++ {
				m := ms0.At(k)
				latest = max(latest, t.metric(m, base, series, &sk, meta))
			}
		}
		if len(info) > 2 && latest > 0 { // more than job and instance: worth a target_info
			series(info, "target_info", latest, 1)
			meta.describe("target_info", prompb.MetricMetadata_INFO, pmetric.NewMetric(), "", "")
		}
	}
	return out, sk, meta
}

// familyName is the Prometheus name of m's family, or false when m's points have no faithful
// Prometheus form — delta temporality (a counter needs state across requests to be rebuilt)
// or a name that cannot be sanitised — in which case they are counted in sk, never dropped
// silently.
func (t *translator) familyName(m pmetric.Metric, typ otlptranslator.MetricType, temporality pmetric.AggregationTemporality, points int, sk *skipped) (string, bool) {
	if temporality == pmetric.AggregationTemporalityDelta {
		sk.delta += points
		return "", false
	}
	n, err := t.namer.Build(otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: typ})
	if err != nil || n == "" {
		sk.invalid += points
		return "", false
	}
	return n, true
}

// metric appends the series of one metric and returns its newest timestamp (ms).
func (t *translator) metric(m pmetric.Metric, base labelSet, series func(labelSet, string, int64, float64, ...string) *prompb.TimeSeries, sk *skipped, meta families) int64 {
	var latest int64
	unit := "" // the family's unit in Prometheus's words (seconds, bytes), for its metadata
	if meta != nil {
		unit = t.units.Build(m.Unit())
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var pts pmetric.NumberDataPointSlice
		typ := otlptranslator.MetricType(otlptranslator.MetricTypeGauge)
		temporality := pmetric.AggregationTemporalityCumulative
		if m.Type() == pmetric.MetricTypeGauge {
			pts = m.Gauge().DataPoints()
		} else {
			pts, temporality = m.Sum().DataPoints(), m.Sum().AggregationTemporality()
			if m.Sum().IsMonotonic() {
				typ = otlptranslator.MetricTypeMonotonicCounter
			}
		}
		name, ok := t.familyName(m, typ, temporality, pts.Len(), sk)
		if !ok {
			return 0
		}
		if typ == otlptranslator.MetricTypeMonotonicCounter {
			meta.describe(name, prompb.MetricMetadata_COUNTER, m, unit, "")
		} else {
			meta.describe(name, prompb.MetricMetadata_GAUGE, m, unit, "")
		}
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			ts := ms(p.Timestamp())
			latest = max(latest, ts)
			s := series(t.pointLabels(base, p.Attributes()), name, ts, sampleValue(p.Flags(), numberValue(p)))
			s.Exemplars = exemplars(p.Exemplars())
		}
	case pmetric.MetricTypeHistogram:
		pts := m.Histogram().DataPoints()
		name, ok := t.familyName(m, otlptranslator.MetricTypeHistogram, m.Histogram().AggregationTemporality(), pts.Len(), sk)
		if !ok {
			return 0
		}
		meta.describe(name, prompb.MetricMetadata_HISTOGRAM, m, unit, "_bucket", "_sum", "_count")
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			ts := ms(p.Timestamp())
			latest = max(latest, ts)
			ls := t.pointLabels(base, p.Attributes())
			bounds, counts := p.ExplicitBounds(), p.BucketCounts()
			ex := exemplars(p.Exemplars())
			var cum uint64
			for b := 0; b < bounds.Len() && b < counts.Len(); b++ {
				cum += counts.At(b)
				s := series(ls, name+"_bucket", ts, sampleValue(p.Flags(), float64(cum)), labels.BucketLabel, strconv.FormatFloat(bounds.At(b), 'f', -1, 64))
				s.Exemplars = takeExemplars(&ex, bounds.At(b))
			}
			s := series(ls, name+"_bucket", ts, sampleValue(p.Flags(), float64(p.Count())), labels.BucketLabel, "+Inf")
			s.Exemplars = ex // whatever is left is above the last bound
			if p.HasSum() {
				series(ls, name+"_sum", ts, sampleValue(p.Flags(), p.Sum()))
			}
			series(ls, name+"_count", ts, sampleValue(p.Flags(), float64(p.Count())))
		}
	case pmetric.MetricTypeSummary:
		pts := m.Summary().DataPoints()
		name, ok := t.familyName(m, otlptranslator.MetricTypeSummary, pmetric.AggregationTemporalityCumulative, pts.Len(), sk)
		if !ok {
			return 0
		}
		meta.describe(name, prompb.MetricMetadata_SUMMARY, m, unit, "", "_sum", "_count")
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			ts := ms(p.Timestamp())
			latest = max(latest, ts)
			ls := t.pointLabels(base, p.Attributes())
			for q := 0; q < p.QuantileValues().Len(); q++ {
				qv := p.QuantileValues().At(q)
				series(ls, name, ts, sampleValue(p.Flags(), qv.Value()), model.QuantileLabel, strconv.FormatFloat(qv.Quantile(), 'f', -1, 64))
			}
			series(ls, name+"_sum", ts, sampleValue(p.Flags(), p.Sum()))
			series(ls, name+"_count", ts, sampleValue(p.Flags(), float64(p.Count())))
		}
	case pmetric.MetricTypeExponentialHistogram:
		pts := m.ExponentialHistogram().DataPoints()
		name, ok := t.familyName(m, otlptranslator.MetricTypeExponentialHistogram, m.ExponentialHistogram().AggregationTemporality(), pts.Len(), sk)
		if !ok {
			return 0
		}
		meta.describe(name, prompb.MetricMetadata_HISTOGRAM, m, unit, "")
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			h, err := nativeHistogram(p)
			if err != nil {
				sk.badHistogram++
				continue
			}
			ts := ms(p.Timestamp())
			latest = max(latest, ts)
			// A native histogram is one series whose sample is the whole histogram.
			s := series(t.pointLabels(base, p.Attributes()), name, ts, 0)
			s.Samples = nil
			s.Histograms = []prompb.Histogram{prompb.FromIntHistogram(ts, h)}
			s.Exemplars = exemplars(p.Exemplars())
		}
	}
	return latest
}

// takeExemplars removes and returns the exemplars whose value falls at or below bound.
func takeExemplars(ex *[]prompb.Exemplar, bound float64) []prompb.Exemplar {
	var in, rest []prompb.Exemplar
	for _, e := range *ex {
		if e.Value <= bound {
			in = append(in, e)
		} else {
			rest = append(rest, e)
		}
	}
	*ex = rest
	return in
}
