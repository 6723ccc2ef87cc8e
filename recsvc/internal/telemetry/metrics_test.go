package telemetry

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

type noCounts struct{}

func (noCounts) LogStats() (uint64, uint64, uint64) { return 0, 0, 0 }
func (noCounts) SpanStats() SpanStats               { return SpanStats{} }

// exemplarTraces gathers the latency histogram's exemplars: trace ID by bucket bound.
func exemplarTraces(t *testing.T, m *Metrics) map[float64]string {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[float64]string{}
	for _, mf := range mfs {
		if mf.GetName() != "recommendation_latency_seconds" {
			continue
		}
		for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
			for _, l := range b.GetExemplar().GetLabel() {
				if l.GetName() == "trace_id" {
					out[b.GetUpperBound()] = l.GetValue()
				}
			}
		}
	}
	return out
}

func traced(b byte) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{b}, SpanID: trace.SpanID{b}, TraceFlags: trace.FlagsSampled})
}

func observe(m *Metrics, d time.Duration, sc trace.SpanContext) {
	m.ObserveLatency(d, sc, sc.TraceID().String(), sc.SpanID().String())
}

// TestExemplarOnlyWithATrace: a request with a trace leaves its trace ID on the latency
// bucket; one without (tracing off) leaves none, rather than an all-zero ID that links nowhere.
func TestExemplarOnlyWithATrace(t *testing.T) {
	m := NewMetrics(noCounts{})
	observe(m, 20*time.Millisecond, trace.SpanContext{})
	if got := exemplarTraces(t, m); len(got) != 0 {
		t.Fatalf("exemplars without a trace: %v", got)
	}
	sc := traced(1)
	observe(m, 20*time.Millisecond, sc)
	if got := exemplarTraces(t, m); len(got) != 1 || got[0.05] != sc.TraceID().String() {
		t.Fatalf("exemplars %v, want the one trace %s on le=0.05", got, sc.TraceID())
	}
}

// TestExemplarsAreRateLimitedPerBucket: within exemplarEvery a bucket keeps its exemplar; after
// it, the next request's replaces it; another bucket takes its own meanwhile.
func TestExemplarsAreRateLimitedPerBucket(t *testing.T) {
	m := NewMetrics(noCounts{})
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }
	first, second, slow := traced(1), traced(2), traced(3)
	observe(m, 20*time.Millisecond, first)
	now = now.Add(exemplarEvery / 2)
	observe(m, 30*time.Millisecond, second) // same bucket (le 0.05), too soon
	observe(m, 3*time.Second, slow)         // another bucket (le 5)
	if got := exemplarTraces(t, m); got[0.05] != first.TraceID().String() || got[5] != slow.TraceID().String() {
		t.Fatalf("exemplars %v: want the first request's on le=0.05 and the slow one's on le=5", got)
	}
	now = now.Add(exemplarEvery / 2)
	observe(m, 30*time.Millisecond, second)
	if got := exemplarTraces(t, m); got[0.05] != second.TraceID().String() {
		t.Fatalf("exemplars %v: after %v le=0.05 should have the second request's", got, exemplarEvery)
	}
}
