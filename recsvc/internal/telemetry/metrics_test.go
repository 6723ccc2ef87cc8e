package telemetry

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

type noCounts struct{}

func (noCounts) LogStats() (uint64, uint64, uint64) { return 0, 0, 0 }
func (noCounts) SpanStats() SpanStats               { return SpanStats{} }

// TestExemplarOnlyWithATrace: a request with a trace leaves its trace ID on the latency
// bucket; one without (tracing off) leaves none, rather than an all-zero ID that links nowhere.
func TestExemplarOnlyWithATrace(t *testing.T) {
	exemplars := func(m *Metrics) (ids []string) {
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "recommendation_latency_seconds" {
				continue
			}
			for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
				if ex := b.GetExemplar(); ex != nil {
					for _, l := range ex.GetLabel() {
						if l.GetName() == "trace_id" {
							ids = append(ids, l.GetValue())
						}
					}
				}
			}
		}
		return ids
	}
	m := NewMetrics(noCounts{})
	var none trace.SpanContext
	m.ObserveLatency(20*time.Millisecond, none, none.TraceID().String(), none.SpanID().String())
	if ids := exemplars(m); len(ids) != 0 {
		t.Fatalf("exemplars without a trace: %v", ids)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0x00, 0xf0, 2}, TraceFlags: trace.FlagsSampled,
	})
	m.ObserveLatency(20*time.Millisecond, sc, sc.TraceID().String(), sc.SpanID().String())
	if ids := exemplars(m); len(ids) != 1 || ids[0] != sc.TraceID().String() {
		t.Fatalf("exemplars %v, want the one trace %s", ids, sc.TraceID())
	}
}

// TestExemplarsAreRateLimitedPerBucket: within exemplarEvery a bucket keeps its exemplar; after
// it, the next request's replaces it; another bucket takes its own meanwhile.
func TestExemplarsAreRateLimitedPerBucket(t *testing.T) {
	m := NewMetrics(noCounts{})
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }
	traced := func(b byte) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{b}, SpanID: trace.SpanID{b}, TraceFlags: trace.FlagsSampled})
	}
	observe := func(d time.Duration, sc trace.SpanContext) {
		m.ObserveLatency(d, sc, sc.TraceID().String(), sc.SpanID().String())
	}
	byBucket := func() map[float64]string {
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[float64]string{}
		for _, mf := range mfs {
			if mf.GetName() == "recommendation_latency_seconds" {
				for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
					for _, l := range b.GetExemplar().GetLabel() {
						if l.GetName() == "trace_id" {
							out[b.GetUpperBound()] = l.GetValue()
						}
					}
				}
			}
		}
		return out
	}
	first, second, slow := traced(1), traced(2), traced(3)
	observe(20*time.Millisecond, first)
	now = now.Add(exemplarEvery / 2)
	observe(30*time.Millisecond, second) // same bucket (le 0.05), too soon
	observe(3*time.Second, slow)         // another bucket (le 5)
	if got := byBucket(); got[0.05] != first.TraceID().String() || got[5] != slow.TraceID().String() {
		t.Fatalf("exemplars %v: want the first request's on le=0.05 and the slow one's on le=5", got)
	}
	now = now.Add(exemplarEvery / 2)
	observe(30*time.Millisecond, second)
	if got := byBucket(); got[0.05] != second.TraceID().String() {
		t.Fatalf("exemplars %v: after %v le=0.05 should have the second request's", got, exemplarEvery)
	}
}
