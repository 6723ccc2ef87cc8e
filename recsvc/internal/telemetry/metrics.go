package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
)

// LatencyBuckets are the seed's buckets for recommendation_latency_seconds.
var LatencyBuckets = latencyBuckets[:]

var latencyBuckets = [...]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics are the service's Prometheus metrics, named as in the seed.
type Metrics struct {
	Registry         *prometheus.Registry
	Requests         *prometheus.CounterVec // user_segment, category, location_region
	Latency          prometheus.Histogram
	CacheHitRate     prometheus.Gauge
	ModelInference   prometheus.Summary
	FeatureFreshness *prometheus.GaugeVec // feature_type
	Errors           *prometheus.CounterVec
	// Impressions and Clicks are labelled like Requests plus the result's position band
	// (PositionBands), so CTR can be summed by any of them: 5 segments × 9 categories × 9
	// regions × 6 bands bound each at 2,430 series.
	Impressions *prometheus.CounterVec // user_segment, category, location_region, position
	Clicks      *prometheus.CounterVec // user_segment, category, location_region, position
	Feedback    *prometheus.CounterVec // outcome: counted, duplicate, unknown_request, invalid

	exemplarAt [len(latencyBuckets) + 1]atomic.Int64 // per latency bucket: unix nanos of its last exemplar
	now        func() time.Time
}

// exemplarEvery is the least time between two exemplars on the same latency bucket. An
// exemplar costs its request ~2 µs (client_golang checks the labels and builds a protobuf
// message), yet a scrape shows only each bucket's latest: at 10,000 requests/s and a 15 s
// scrape, all but one of 150,000 would be thrown away. At most one a bucket every 100 ms
// keeps every scrape's exemplars recent, and a rare slow bucket still gets every request's.
const exemplarEvery = 100 * time.Millisecond

// Counts is what the metrics read from the log writer and span queue at scrape time.
type Counts interface {
	LogStats() (written, dropped, failures uint64)
	SpanStats() SpanStats
}

// NewMetrics registers every metric on a fresh registry.
func NewMetrics(counts Counts) *Metrics {
	m := &Metrics{
		now:      time.Now,
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recommendation_requests_total", Help: "Total recommendation requests",
		}, []string{"user_segment", "category", "location_region"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "recommendation_latency_seconds", Help: "Recommendation request latency", Buckets: LatencyBuckets,
		}),
		CacheHitRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cache_hit_rate", Help: "Cache hit rate percentage",
		}),
		ModelInference: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "model_inference_duration_seconds", Help: "Time spent on model inference",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}),
		FeatureFreshness: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feature_freshness_seconds", Help: "Age of features in seconds",
		}, []string{"feature_type"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recommendation_errors_total", Help: "Recommendation requests that failed, by kind (invalid_request, internal)",
		}, []string{"kind"}),
		Impressions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recommendation_impressions_total", Help: "Results served, by the request's labels and the result's position band",
		}, []string{"user_segment", "category", "location_region", "position"}),
		Clicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recommendation_clicks_total", Help: "Clicks counted (the first on each result of a response), labelled as its impression",
		}, []string{"user_segment", "category", "location_region", "position"}),
		Feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recommendation_feedback_total", Help: "Feedback calls by outcome (counted, duplicate, unknown_request, invalid)",
		}, []string{"outcome"}),
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	m.Registry.MustRegister(m.Requests, m.Latency, m.CacheHitRate, m.ModelInference, m.FeatureFreshness, m.Errors,
		m.Impressions, m.Clicks, m.Feedback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		counter("recsvc_log_lines_written_total", "Log lines written to the log file", func() float64 { w, _, _ := counts.LogStats(); return float64(w) }),
		counter("recsvc_log_lines_dropped_total", "Log lines dropped because the log queue was full or the write failed", func() float64 { _, d, _ := counts.LogStats(); return float64(d) }),
		counter("recsvc_log_write_failures_total", "Log file writes and rotations that failed (a failed rotation drops no line: the open file takes them)", func() float64 { _, _, f := counts.LogStats(); return float64(f) }),
		counter("recsvc_spans_ended_total", "Sampled spans ended", func() float64 { return float64(counts.SpanStats().Ended) }),
		counter("recsvc_spans_exported_total", "Spans the OTLP exporter delivered", func() float64 { return float64(counts.SpanStats().Exported) }),
		counter("recsvc_spans_export_failed_total", "Spans in batches the OTLP exporter failed to deliver", func() float64 { return float64(counts.SpanStats().Failed) }),
		counter("recsvc_spans_rejected_total", "Spans the OTLP receiver refused in a partial success", func() float64 { return float64(counts.SpanStats().Rejected) }),
		counter("recsvc_spans_dropped_total", "Spans dropped because the span queue was full", func() float64 { return float64(counts.SpanStats().Dropped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recsvc_spans_queued", Help: "Spans waiting for export"}, func() float64 { return float64(counts.SpanStats().Queued) }),
	)
	return m
}

// ObserveLatency records one request's latency, with its trace as the bucket's exemplar (at
// most one every exemplarEvery), so a slow bucket in Grafana links to a trace in Jaeger.
// Without a trace (tracing off) there is no exemplar: an all-zero trace ID links nowhere.
func (m *Metrics) ObserveLatency(d time.Duration, sc trace.SpanContext, traceID, spanID string) {
	secs := d.Seconds()
	if !sc.IsValid() || !m.claimExemplar(secs) {
		m.Latency.Observe(secs)
		return
	}
	m.Latency.(prometheus.ExemplarObserver).ObserveWithExemplar(secs, prometheus.Labels{"trace_id": traceID, "span_id": spanID})
}

// claimExemplar reports whether the bucket v falls in may take a new exemplar now.
func (m *Metrics) claimExemplar(v float64) bool {
	b := &m.exemplarAt[sort.SearchFloat64s(latencyBuckets[:], v)] // the first bucket whose le bound holds v
	now := m.now().UnixNano()
	last := b.Load()
	return now-last >= int64(exemplarEvery) && b.CompareAndSwap(last, now)
}

// PositionBands name a result's position for the impression and click counters: the first
// three each, then widening bands (a page of 10, then the rest, up to the limit of 100).
var PositionBands = [...]string{"1", "2", "3", "4-5", "6-10", "11+"}

// PositionBand is the index in PositionBands of a 1-based position.
func PositionBand(pos int) int {
	switch {
	case pos <= 3:
		return max(pos, 1) - 1
	case pos <= 5:
		return 3
	case pos <= 10:
		return 4
	}
	return 5
}
