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
