package redconnector

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

type spanSpec struct {
	name, route string
	kind        ptrace.SpanKind
	seconds     float64
	http        int64
	failed      bool
	id          byte
}

func traces(service string, specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	for _, sp := range specs {
		s := ss.Spans().AppendEmpty()
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		s.SetTraceID(pcommon.TraceID{0xaa, sp.id})
		s.SetSpanID(pcommon.SpanID{0xbb, sp.id})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(sp.seconds * float64(time.Second)))))
		if sp.route != "" {
			s.Attributes().PutStr("http.route", sp.route)
		}
		if sp.http != 0 {
			s.Attributes().PutInt("http.response.status_code", sp.http)
		}
		s.Attributes().PutStr("user_id", fmt.Sprint(sp.id)) // never a dimension
		if sp.failed {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

func newTest(t testing.TB, mutate func(*Config)) (*red, *consumertest.MetricsSink, *time.Time) {
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := new(consumertest.MetricsSink)
	r, err := newConnector(cfg, componenttest.NewNopTelemetrySettings(), sink)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	r.now = func() time.Time { return now }
	return r, sink, &now
}

// point finds the data point of metric name whose attributes include want.
func points(md pmetric.Metrics, name string) map[string]any {
	out := map[string]any{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		ms := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			if m.Name() != name {
				continue
			}
			switch m.Type() {
			case pmetric.MetricTypeSum:
				for k := 0; k < m.Sum().DataPoints().Len(); k++ {
					p := m.Sum().DataPoints().At(k)
					out[key(p.Attributes())] = p
				}
			case pmetric.MetricTypeHistogram:
				for k := 0; k < m.Histogram().DataPoints().Len(); k++ {
					p := m.Histogram().DataPoints().At(k)
					out[key(p.Attributes())] = p
				}
			}
		}
	}
	return out
}

func key(m pcommon.Map) string {
	r, _ := m.Get("http.route")
	c, _ := m.Get("status_class")
	if _, ok := m.Get(OverflowAttribute); ok {
		return "overflow"
	}
	return r.Str() + " " + c.Str()
}

// TestHandComputed checks the RED values of a fixture trace set against values computed by hand.
func TestHandComputed(t *testing.T) {
	r, sink, _ := newTest(t, nil)
	td := traces("recsvc",
		spanSpec{name: "recommendation_pipeline", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 0.005, http: 200, id: 1},
		spanSpec{name: "recommendation_pipeline", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 0.07, http: 200, id: 2},
		spanSpec{name: "recommendation_pipeline", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 0.3, http: 500, failed: true, id: 3},
		spanSpec{name: "recommendation_pipeline", route: "/v1/recommendations", kind: ptrace.SpanKindServer, seconds: 12, http: 503, id: 4},
		spanSpec{name: "geospatial_query", kind: ptrace.SpanKindInternal, seconds: 0.001, id: 5}, // not an entry span
		spanSpec{name: "GET", kind: ptrace.SpanKindClient, seconds: 0.02, id: 6},                 // not an entry span
	)
	if err := r.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	md := sink.AllMetrics()[0]
	if svc, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("service.name"); svc.Str() != "recsvc" {
		t.Fatal("service.name must be the resource")
	}
	req, errs, dur := points(md, "red.requests"), points(md, "red.errors"), points(md, "red.duration")
	if len(req) != 2 {
		t.Fatalf("want 2 series (2xx, 5xx), got %v", req)
	}
	ok2, ok5 := req["/v1/recommendations 2xx"].(pmetric.NumberDataPoint), req["/v1/recommendations 5xx"].(pmetric.NumberDataPoint)
	if ok2.IntValue() != 2 || ok5.IntValue() != 2 {
		t.Errorf("requests: 2xx=%d 5xx=%d, want 2 and 2", ok2.IntValue(), ok5.IntValue())
	}
	if e := errs["/v1/recommendations 5xx"].(pmetric.NumberDataPoint); e.IntValue() != 2 {
		t.Errorf("errors: %d, want 2 (one status error, one 503)", e.IntValue())
	}
	if e := errs["/v1/recommendations 2xx"].(pmetric.NumberDataPoint); e.IntValue() != 0 {
		t.Errorf("errors on 2xx: %d", e.IntValue())
	}
	h := dur["/v1/recommendations 2xx"].(pmetric.HistogramDataPoint)
	// bounds 0.01 0.05 0.1 0.25 0.5 1 2.5 5 10: 0.005 → [0], 0.07 → [2]
	if got := h.BucketCounts().AsRaw(); fmt.Sprint(got) != "[1 0 1 0 0 0 0 0 0 0]" || h.Count() != 2 || math.Abs(h.Sum()-0.075) > 1e-9 {
		t.Errorf("2xx histogram: buckets %v count %d sum %v", got, h.Count(), h.Sum())
	}
	h5 := dur["/v1/recommendations 5xx"].(pmetric.HistogramDataPoint)
	if got := h5.BucketCounts().AsRaw(); fmt.Sprint(got) != "[0 0 0 0 1 0 0 0 0 1]" {
		t.Errorf("5xx histogram: %v (0.3 s → le=0.5, 12 s → +Inf)", got)
	}
	// Exemplars point at the real spans that fell in each bucket.
	ids := map[string]bool{}
	for i := 0; i < h.Exemplars().Len(); i++ {
		e := h.Exemplars().At(i)
		ids[fmt.Sprintf("%s/%s@%v", e.TraceID(), e.SpanID(), e.DoubleValue())] = true
	}
	if !ids["aa010000000000000000000000000000/bb01000000000000@0.005"] || !ids["aa020000000000000000000000000000/bb02000000000000@0.07"] {
		t.Errorf("histogram exemplars: %v", ids)
	}
	if ok5.Exemplars().Len() != 1 || ok5.Exemplars().At(0).SpanID() != (pcommon.SpanID{0xbb, 4}) {
		t.Errorf("the counter's exemplar must be the latest span")
	}
	if _, ok := ok2.Attributes().Get("user_id"); ok {
		t.Error("attributes outside the allow-list must not become labels")
	}
}

func TestSeriesCapAndOverflow(t *testing.T) {
	r, sink, _ := newTest(t, func(c *Config) { c.MaxSeries = 2 })
	for i := range 5 {
		td := traces("recsvc", spanSpec{name: "op", route: fmt.Sprintf("/r%d", i), kind: ptrace.SpanKindServer, seconds: 0.01, http: 200, id: byte(i)})
		_ = r.ConsumeTraces(context.Background(), td)
	}
	_ = r.flush(context.Background())
	req := points(sink.AllMetrics()[0], "red.requests")
	if len(req) != 3 {
		t.Fatalf("want 2 series and the overflow series, got %d", len(req))
	}
	if o := req["overflow"].(pmetric.NumberDataPoint); o.IntValue() != 3 {
		t.Errorf("overflow series: %d, want 3", o.IntValue())
	}
}

// TestIdleSeriesExpireLiveOnesNeverReset: a series updated within the window keeps counting
// from its start; one idle past it is dropped.
func TestIdleSeriesExpireLiveOnesNeverReset(t *testing.T) {
	r, sink, now := newTest(t, func(c *Config) { c.Expiration = 5 * time.Minute })
	live := traces("recsvc", spanSpec{name: "op", route: "/live", kind: ptrace.SpanKindServer, seconds: 0.01, http: 200, id: 1})
	idle := traces("recsvc", spanSpec{name: "op", route: "/idle", kind: ptrace.SpanKindServer, seconds: 0.01, http: 200, id: 2})
	_ = r.ConsumeTraces(context.Background(), live)
	_ = r.ConsumeTraces(context.Background(), idle)
	for range 3 {
		*now = now.Add(4 * time.Minute)
		_ = r.ConsumeTraces(context.Background(), live)
		_ = r.flush(context.Background())
	}
	last := points(sink.AllMetrics()[len(sink.AllMetrics())-1], "red.requests")
	if _, ok := last["/idle 2xx"]; ok {
		t.Error("the idle series must have expired")
	}
	p := last["/live 2xx"].(pmetric.NumberDataPoint)
	if p.IntValue() != 4 || p.StartTimestamp() != pcommon.NewTimestampFromTime(t0) {
		t.Errorf("live series: %d since %v, want 4 since %v (never reset)", p.IntValue(), p.StartTimestamp(), t0)
	}
}

func TestConcurrentConsumeUnderRace(t *testing.T) {
	r, sink, _ := newTest(t, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				td := traces("recsvc", spanSpec{name: "op", route: fmt.Sprintf("/r%d", i%3), kind: ptrace.SpanKindServer, seconds: 0.02, http: 200, id: byte(g)})
				_ = r.ConsumeTraces(context.Background(), td)
				if i%50 == 0 {
					_ = r.flush(context.Background())
				}
			}
		}()
	}
	wg.Wait()
	_ = r.flush(context.Background())
	var total int64
	for _, p := range points(sink.AllMetrics()[len(sink.AllMetrics())-1], "red.requests") {
		total += p.(pmetric.NumberDataPoint).IntValue()
	}
	if total != 1000 {
		t.Fatalf("want 1000 requests counted, got %d", total)
	}
}

func TestStartShutdownFlushes(t *testing.T) {
	r, sink, _ := newTest(t, func(c *Config) { c.FlushInterval = time.Hour; c.Expiration = time.Hour })
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	_ = r.ConsumeTraces(context.Background(), traces("recsvc", spanSpec{name: "op", kind: ptrace.SpanKindServer, seconds: 0.01, id: 1}))
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.AllMetrics()) != 1 {
		t.Fatal("shutdown must emit the last values")
	}
}

// BenchmarkConsume measures RED derivation on batches of 1,000 realistic server spans.
func BenchmarkConsume(b *testing.B) {
	r, _, _ := newTest(b, nil)
	specs := make([]spanSpec, 1000)
	routes := []string{"/v1/recommendations", "/health/ready", "/metrics", "/v1/places"}
	for i := range specs {
		specs[i] = spanSpec{name: "recommendation_pipeline", route: routes[i%4], kind: ptrace.SpanKindServer, seconds: float64(i%100) / 100, http: []int64{200, 200, 200, 400, 500}[i%5], id: byte(i)}
	}
	td := traces("recsvc", specs...)
	for i := 0; i < td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().Len(); i++ {
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(i).Attributes().PutStr("category", []string{"cafe", "bar", "all"}[i%3])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = r.ConsumeTraces(context.Background(), td)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkConsumeFixture derives RED metrics from bench/testdata/spans-1000.json.gz, the
// batch contrib's spanmetrics connector is measured on in bench/spanmetricsref: spans per
// CPU-second, side by side.
func BenchmarkConsumeFixture(b *testing.B) {
	f, err := os.Open("../../bench/testdata/spans-1000.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	if err != nil {
		b.Fatal(err)
	}
	r, _, _ := newTest(b, func(c *Config) {
		c.Dimensions = []Dimension{{Name: "http.route"}, {Name: "category"}, {Name: "location_region"}}
	})
	n := td.SpanCount()
	b.ReportAllocs()
	for b.Loop() {
		_ = r.ConsumeTraces(context.Background(), td)
	}
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "spans/s")
}
