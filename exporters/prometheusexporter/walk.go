package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// metricFamily is one OTLP metric as Prometheus names and types it.
type metricFamily struct {
	name string
	typ  prompb.MetricMetadata_MetricType // COUNTER, GAUGE, HISTOGRAM (explicit or native), SUMMARY
	m    pmetric.Metric
}

// pointSink receives what one walk over pmetric finds: remote write turns it into series,
// the scrape endpoint into the families it serves. Labels are the point's, resource ones
// included.
type pointSink interface {
	begin(f metricFamily)
	number(f metricFamily, ls labelSet, p pmetric.NumberDataPoint)
	histogram(f metricFamily, ls labelSet, p pmetric.HistogramDataPoint)
	native(f metricFamily, ls labelSet, p pmetric.ExponentialHistogramDataPoint, h *histogram.Histogram)
	summary(f metricFamily, ls labelSet, p pmetric.SummaryDataPoint)
	// targetInfo comes after a resource's points, with their newest timestamp (ms), when the
	// resource has attributes beyond job and instance.
	targetInfo(info labelSet, latest int64)
}

// walk hands every point of md that has a faithful Prometheus form to s, resource by
// resource, and returns what it had to skip, by reason.
func (t *translator) walk(md pmetric.Metrics, s pointSink) skipped {
	var sk skipped
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		base, info := t.resourceLabels(rm.Resource())
		var latest int64
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			metrics := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < metrics.Len(); k++ {
				latest = max(latest, t.walkMetric(metrics.At(k), base, s, &sk))
			}
		}
		if len(info) > 2 && latest > 0 { // more than job and instance: worth a target_info
			s.targetInfo(info, latest)
		}
	}
	return sk
}

// walkMetric hands m's points to s and returns their newest timestamp (ms).
func (t *translator) walkMetric(m pmetric.Metric, base labelSet, s pointSink, sk *skipped) int64 {
	var latest int64
	seen := func(ts int64) { latest = max(latest, ts) }
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var pts pmetric.NumberDataPointSlice
		otype, typ := otlptranslator.MetricType(otlptranslator.MetricTypeGauge), prompb.MetricMetadata_GAUGE
		temporality := pmetric.AggregationTemporalityCumulative
		if m.Type() == pmetric.MetricTypeGauge {
			pts = m.Gauge().DataPoints()
		} else {
			pts, temporality = m.Sum().DataPoints(), m.Sum().AggregationTemporality()
			if m.Sum().IsMonotonic() {
				otype, typ = otlptranslator.MetricTypeMonotonicCounter, prompb.MetricMetadata_COUNTER
			}
		}
		f, ok := t.family(m, otype, typ, temporality, pts.Len(), sk, s)
		for i := 0; ok && i < pts.Len(); i++ {
			p := pts.At(i)
			seen(ms(p.Timestamp()))
			s.number(f, t.pointLabels(base, p.Attributes()), p)
		}
	case pmetric.MetricTypeHistogram:
		pts := m.Histogram().DataPoints()
		f, ok := t.family(m, otlptranslator.MetricTypeHistogram, prompb.MetricMetadata_HISTOGRAM, m.Histogram().AggregationTemporality(), pts.Len(), sk, s)
		for i := 0; ok && i < pts.Len(); i++ {
			p := pts.At(i)
			seen(ms(p.Timestamp()))
			s.histogram(f, t.pointLabels(base, p.Attributes()), p)
		}
	case pmetric.MetricTypeExponentialHistogram:
		pts := m.ExponentialHistogram().DataPoints()
		f, ok := t.family(m, otlptranslator.MetricTypeExponentialHistogram, prompb.MetricMetadata_HISTOGRAM, m.ExponentialHistogram().AggregationTemporality(), pts.Len(), sk, s)
		for i := 0; ok && i < pts.Len(); i++ {
			p := pts.At(i)
			h, err := nativeHistogram(p)
			if err != nil {
				sk.badHistogram++
				continue
			}
			seen(ms(p.Timestamp()))
			s.native(f, t.pointLabels(base, p.Attributes()), p, h)
		}
	case pmetric.MetricTypeSummary:
		pts := m.Summary().DataPoints()
		f, ok := t.family(m, otlptranslator.MetricTypeSummary, prompb.MetricMetadata_SUMMARY, pmetric.AggregationTemporalityCumulative, pts.Len(), sk, s)
		for i := 0; ok && i < pts.Len(); i++ {
			p := pts.At(i)
			seen(ms(p.Timestamp()))
			s.summary(f, t.pointLabels(base, p.Attributes()), p)
		}
	}
	return latest
}

// family names m and announces it to s, or returns false when m's points have no faithful
// Prometheus form — delta temporality (a counter needs state across requests to be rebuilt)
// or a name that cannot be sanitised — in which case they are counted in sk, never dropped
// silently.
func (t *translator) family(m pmetric.Metric, otype otlptranslator.MetricType, typ prompb.MetricMetadata_MetricType,
	temporality pmetric.AggregationTemporality, points int, sk *skipped, s pointSink,
) (metricFamily, bool) {
	if temporality == pmetric.AggregationTemporalityDelta {
		sk.delta += points
		return metricFamily{}, false
	}
	n, err := t.namer.Build(otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: otype})
	if err != nil || n == "" {
		sk.invalid += points
		return metricFamily{}, false
	}
	f := metricFamily{name: n, typ: typ, m: m}
	s.begin(f)
	return f, true
}
