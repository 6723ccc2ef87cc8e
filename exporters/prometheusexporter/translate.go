package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/histogram"
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

// describe records the metadata of metricFamily name, whose series are named name+suffix.
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
	rw := &remoteWrite{t: t}
	if t.metadata {
		rw.meta = families{}
	}
	sk := t.walk(md, rw)
	return rw.out, sk, rw.meta
}

// remoteWrite builds the remote-write series of one walk (a pointSink).
type remoteWrite struct {
	t    *translator
	out  []prompb.TimeSeries
	meta families
}

func (w *remoteWrite) series(ls labelSet, name string, ts int64, v float64, extra ...string) *prompb.TimeSeries {
	w.out = append(w.out, prompb.TimeSeries{
		Labels:  ls.with(append([]string{labels.MetricName, name}, extra...)...),
		Samples: []prompb.Sample{{Value: v, Timestamp: ts}},
	})
	return &w.out[len(w.out)-1]
}

func (w *remoteWrite) begin(f metricFamily) {
	if w.meta == nil {
		return
	}
	suffixes := []string{""} // a counter, a gauge, a native histogram: one series name
	switch {
	case f.m.Type() == pmetric.MetricTypeHistogram:
		suffixes = []string{"_bucket", "_sum", "_count"}
	case f.typ == prompb.MetricMetadata_SUMMARY:
		suffixes = []string{"", "_sum", "_count"}
	}
	w.meta.describe(f.name, f.typ, f.m, w.t.units.Build(f.m.Unit()), suffixes...)
}

func (w *remoteWrite) number(f metricFamily, ls labelSet, p pmetric.NumberDataPoint) {
	s := w.series(ls, f.name, ms(p.Timestamp()), sampleValue(p.Flags(), numberValue(p)))
	s.Exemplars = exemplars(p.Exemplars())
}

func (w *remoteWrite) histogram(f metricFamily, ls labelSet, p pmetric.HistogramDataPoint) {
	ts := ms(p.Timestamp())
	bounds, counts := p.ExplicitBounds(), p.BucketCounts()
	ex := exemplars(p.Exemplars())
	var cum uint64
	for b := 0; b < bounds.Len() && b < counts.Len(); b++ {
		cum += counts.At(b)
		s := w.series(ls, f.name+"_bucket", ts, sampleValue(p.Flags(), float64(cum)), labels.BucketLabel, strconv.FormatFloat(bounds.At(b), 'f', -1, 64))
		s.Exemplars = takeExemplars(&ex, bounds.At(b))
	}
	s := w.series(ls, f.name+"_bucket", ts, sampleValue(p.Flags(), float64(p.Count())), labels.BucketLabel, "+Inf")
	s.Exemplars = ex // whatever is left is above the last bound
	if p.HasSum() {
		w.series(ls, f.name+"_sum", ts, sampleValue(p.Flags(), p.Sum()))
	}
	w.series(ls, f.name+"_count", ts, sampleValue(p.Flags(), float64(p.Count())))
}

func (w *remoteWrite) native(f metricFamily, ls labelSet, p pmetric.ExponentialHistogramDataPoint, h *histogram.Histogram) {
	ts := ms(p.Timestamp())
	// A native histogram is one series whose sample is the whole histogram.
	s := w.series(ls, f.name, ts, 0)
	s.Samples = nil
	s.Histograms = []prompb.Histogram{prompb.FromIntHistogram(ts, h)}
	s.Exemplars = exemplars(p.Exemplars())
}

func (w *remoteWrite) summary(f metricFamily, ls labelSet, p pmetric.SummaryDataPoint) {
	ts := ms(p.Timestamp())
	for q := 0; q < p.QuantileValues().Len(); q++ {
		qv := p.QuantileValues().At(q)
		w.series(ls, f.name, ts, sampleValue(p.Flags(), qv.Value()), model.QuantileLabel, strconv.FormatFloat(qv.Quantile(), 'f', -1, 64))
	}
	w.series(ls, f.name+"_sum", ts, sampleValue(p.Flags(), p.Sum()))
	w.series(ls, f.name+"_count", ts, sampleValue(p.Flags(), float64(p.Count())))
}

func (w *remoteWrite) targetInfo(info labelSet, latest int64) {
	w.series(info, "target_info", latest, 1)
	w.meta.describe("target_info", prompb.MetricMetadata_INFO, pmetric.NewMetric(), "", "")
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
