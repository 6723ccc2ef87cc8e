package redconnector

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// labels renders a point's attributes as k=v pairs in order.
func labels(m pcommon.Map) string {
	var out []string
	for k, v := range m.All() {
		out = append(out, k+"="+v.AsString())
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// TestSpanmetricsMode: the metrics, units and labels contrib's spanmetrics connector emits
// (what Jaeger's Monitor tab queries), a dimension's default, and no separate errors metric.
func TestSpanmetricsMode(t *testing.T) {
	unknown := "unknown"
	r, sink, _ := newTest(t, func(c *Config) {
		c.Mode = ModeSpanmetrics
		c.Dimensions = []Dimension{{Name: "http.route", Default: &unknown}}
	})
	td := traces("recsvc",
		spanSpec{name: "GET /v1/recommendations", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 0.004, http: 200, id: 1},
		spanSpec{name: "GET /v1/recommendations", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 0.3, http: 500, failed: true, id: 2},
		spanSpec{name: "consume", kind: ptrace.SpanKindConsumer, seconds: 0.02, id: 3}, // no http.route: the default
		spanSpec{name: "geospatial_query", kind: ptrace.SpanKindInternal, seconds: 0.001, id: 4},
	)
	if err := r.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	md := sink.AllMetrics()[0]
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	if ms.Len() != 2 || ms.At(0).Name() != "traces.span.metrics.calls" || ms.At(1).Name() != "traces.span.metrics.duration" ||
		ms.At(1).Unit() != "ms" || !ms.At(0).Sum().IsMonotonic() {
		t.Fatalf("want traces.span.metrics.calls (monotonic sum) and .duration (ms histogram), got %d metrics: %s %s", ms.Len(), ms.At(0).Name(), ms.At(1).Unit())
	}
	calls := map[string]int64{}
	for i := 0; i < ms.At(0).Sum().DataPoints().Len(); i++ {
		p := ms.At(0).Sum().DataPoints().At(i)
		calls[labels(p.Attributes())] = p.IntValue()
	}
	want := map[string]int64{
		"[http.route=/v1/recommendations service.name=recsvc span.kind=SPAN_KIND_SERVER span.name=GET /v1/recommendations status.code=STATUS_CODE_UNSET]": 1,
		"[http.route=/v1/recommendations service.name=recsvc span.kind=SPAN_KIND_SERVER span.name=GET /v1/recommendations status.code=STATUS_CODE_ERROR]": 1,
		"[http.route=unknown service.name=recsvc span.kind=SPAN_KIND_CONSUMER span.name=consume status.code=STATUS_CODE_UNSET]":                           1,
	}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls:\n got %v\nwant %v", calls, want)
	}
	h := ms.At(1).Histogram().DataPoints()
	for i := 0; i < h.Len(); i++ {
		p := h.At(i)
		// 10ms, 50ms, … in milliseconds; 4 ms → the first bucket, 300 ms → le=500.
		if b := p.ExplicitBounds().AsRaw(); b[0] != 10 || b[len(b)-1] != 10000 {
			t.Fatalf("bounds in ms: %v", b)
		}
		if code, _ := p.Attributes().Get("status.code"); code.Str() == "STATUS_CODE_ERROR" &&
			(fmt.Sprint(p.BucketCounts().AsRaw()) != "[0 0 0 0 1 0 0 0 0 0]" || math.Abs(p.Sum()-300) > 1e-6 || p.Exemplars().Len() != 1) {
			t.Errorf("error span's histogram: %v sum %v exemplars %d", p.BucketCounts().AsRaw(), p.Sum(), p.Exemplars().Len())
		}
	}
}

// TestExcludeDimensions: an excluded label is left out and the series it split merge.
func TestExcludeDimensions(t *testing.T) {
	r, sink, _ := newTest(t, func(c *Config) {
		c.Mode = ModeSpanmetrics
		c.Dimensions = nil
		c.ExcludeDimensions = []string{"span.kind", "status.code"}
	})
	td := traces("recsvc",
		spanSpec{name: "op", kind: ptrace.SpanKindServer, seconds: 0.01, id: 1},
		spanSpec{name: "op", kind: ptrace.SpanKindConsumer, seconds: 0.01, failed: true, id: 2})
	_ = r.ConsumeTraces(context.Background(), td)
	_ = r.flush(context.Background())
	dps := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	if dps.Len() != 1 || dps.At(0).IntValue() != 2 || labels(dps.At(0).Attributes()) != "[service.name=recsvc span.name=op]" {
		t.Fatalf("want one series of 2 calls labelled service.name and span.name, got %d: %v", dps.Len(), dps.At(0).Attributes().AsRaw())
	}
	if svc, _ := sink.AllMetrics()[0].ResourceMetrics().At(0).Resource().Attributes().Get("service.name"); svc.Str() != "recsvc" {
		t.Error("the resource keeps service.name (the job) whatever the labels")
	}
}
