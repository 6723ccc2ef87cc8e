package telemetry

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gateExporter blocks exports until released, then fails or succeeds.
type gateExporter struct {
	mu      sync.Mutex
	gate    chan struct{}
	fail    bool
	got     int
	started chan struct{}
	once    sync.Once
}

func (g *gateExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail {
		return errors.New("collector down")
	}
	g.got += len(spans)
	return nil
}

func (g *gateExporter) Shutdown(context.Context) error { return nil }

// TestSpanQueueNeverBlocksAndAccountsForEverySpan: with the exporter stalled, ending spans
// never waits; the overflow is dropped and counted; afterwards every span is accounted for.
func TestSpanQueueNeverBlocksAndAccountsForEverySpan(t *testing.T) {
	exp := &gateExporter{gate: make(chan struct{}), started: make(chan struct{})}
	q := NewSpanQueue(exp, SpanQueueOptions{QueueSize: 64, BatchSize: 16, Interval: time.Millisecond, ExportTimeout: time.Minute})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	tr := tp.Tracer("t")

	_, s := tr.Start(context.Background(), "first")
	s.End()
	<-exp.started // the exporter now holds one batch and is stalled

	const n = 1000
	done := make(chan struct{})
	go func() {
		for range n {
			_, s := tr.Start(context.Background(), "x")
			s.End()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ending spans blocked on a stalled exporter")
	}
	st := q.Stats()
	if st.Dropped == 0 {
		t.Fatal("a full queue must drop and count")
	}
	// Mid-outage the counts add up too: the batch the stalled exporter holds is queued.
	if st.Exported+st.Failed != 0 || st.Dropped+uint64(st.Queued) != st.Ended {
		t.Fatalf("unaccounted spans while the exporter stalls: %+v", st)
	}
	close(exp.gate)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = q.Stats()
	if st.Ended != n+1 || st.Exported+st.Failed+st.Rejected+st.Dropped+uint64(st.Queued) != st.Ended {
		t.Fatalf("unaccounted spans: %+v", st)
	}
	if int(st.Exported) != exp.got {
		t.Fatalf("exported %d, exporter received %d", st.Exported, exp.got)
	}
}

func TestSpanQueueHealth(t *testing.T) {
	exp := &gateExporter{gate: make(chan struct{}), started: make(chan struct{}), fail: true}
	close(exp.gate)
	q := NewSpanQueue(exp, SpanQueueOptions{Interval: time.Millisecond})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	defer tp.Shutdown(context.Background())
	if !q.Healthy(time.Now(), time.Second) {
		t.Fatal("healthy before any export")
	}
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	if err := q.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Failed != 1 {
		t.Fatalf("want 1 failed span, got %+v", st)
	}
	if !q.Healthy(time.Now(), time.Minute) || q.Healthy(time.Now().Add(2*time.Minute), time.Minute) {
		t.Fatal("health must turn false once failures outlast the grace period")
	}
	exp.mu.Lock()
	exp.fail = false
	exp.mu.Unlock()
	_, s = tp.Tracer("t").Start(context.Background(), "y")
	s.End()
	_ = q.ForceFlush(context.Background())
	if !q.Healthy(time.Now().Add(2*time.Minute), time.Minute) {
		t.Fatal("a successful export makes it healthy again")
	}
}

// TestFullBatchIsExportedWithoutWaitingForTheInterval: the exporting goroutine sleeps
// between intervals and is woken when a batch fills.
func TestFullBatchIsExportedWithoutWaitingForTheInterval(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	q := NewSpanQueue(mem, SpanQueueOptions{BatchSize: 16, Interval: time.Hour})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	defer tp.Shutdown(context.Background())
	for batch := 1; batch <= 3; batch++ {
		for range 16 {
			_, s := tp.Tracer("t").Start(context.Background(), "x")
			s.End()
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(mem.GetSpans()) < batch*16 {
			if time.Now().After(deadline) {
				t.Fatalf("batch %d not exported: %d spans, %+v", batch, len(mem.GetSpans()), q.Stats())
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestForceFlushExportsEverything(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	q := NewSpanQueue(mem, SpanQueueOptions{Interval: time.Hour})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	defer tp.Shutdown(context.Background())
	for range 10 {
		_, s := tp.Tracer("t").Start(context.Background(), "x")
		s.End()
	}
	if err := q.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(mem.GetSpans()); got != 10 {
		t.Fatalf("want 10 spans after flush, got %d", got)
	}
}

// encodingDiscarder encodes each batch as the wire exporter does, then drops it.
type encodingDiscarder struct{ enc wireEncoder }

func (e *encodingDiscarder) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.enc.request(spans)
	return nil
}
func (e *encodingDiscarder) Shutdown(context.Context) error { return nil }

// BenchmarkRequestSpans is what one request's spans cost recsvc, all of it but the network:
// the SDK's start, attributes and end of the four spans recsvc makes (with its attributes),
// the span queue, and encoding them for export. cpu-ns/op counts every thread (the exporting
// goroutine and the garbage collector included); compare it with BenchmarkRecommendations'
// telemetry=off to see how much of a request the spans alone are.
func BenchmarkRequestSpans(b *testing.B) {
	exp := &encodingDiscarder{}
	q := NewSpanQueue(exp, SpanQueueOptions{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	tr := tp.Tracer("github.com/recobs/recobs/recsvc")
	b.ReportAllocs()
	cpu0 := testenv.CPUTime()
	for i := 0; b.Loop(); i++ {
		if i%128 == 0 {
			// Export a batch of 512 spans here: left to itself on one core, the exporting
			// goroutine would hardly run, the queue would overflow, and dropped spans would
			// make the benchmark look cheaper than a request is.
			_ = q.ForceFlush(context.Background())
		}
		ctx, root := tr.Start(context.Background(), "recommendation_pipeline", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.path", "/v1/recommendations"),
				attribute.String("http.route", "/v1/recommendations"),
				attribute.StringSlice("http.request.header.x-request-id", []string{"7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0"})))
		_, geo := tr.Start(ctx, "geospatial_query")
		geo.SetAttributes(attribute.Int("candidates_found", 42), attribute.Bool("cache_hit", true),
			attribute.String("h3.cell", "8828308281fffff"), attribute.Int("h3.resolution", 8))
		geo.End()
		_, feat := tr.Start(ctx, "feature_enrichment")
		feat.SetAttributes(attribute.Int("features_loaded", 42), attribute.String("user_segment", "regular"))
		feat.End()
		_, ml := tr.Start(ctx, "ml_inference")
		ml.SetAttributes(attribute.String("model.version", "logreg-v3"), attribute.Float64("inference_time_ms", 0.012),
			attribute.Int("candidates_scored", 42))
		ml.End()
		root.SetAttributes(attribute.Float64("location.lat", 37.7749), attribute.Float64("location.lng", -122.4194),
			attribute.Float64("radius_km", 2), attribute.String("category", "all"), attribute.Int("limit", 10),
			attribute.Int64("user_id", 12345), attribute.String("location_region", "san_francisco"),
			attribute.String("user_segment", "regular"), attribute.Int("http.response.status_code", 200))
		root.End()
	}
	b.StopTimer()
	if err := tp.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if st := q.Stats(); st.Dropped > 0 {
		b.Fatalf("%d of %d spans dropped: the benchmark skipped work", st.Dropped, st.Ended)
	}
}

// pingingExporter fails exports and answers pings while down is false.
type pingingExporter struct {
	mu   sync.Mutex
	down bool
}

func (p *pingingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return errors.New("collector down")
	}
	return nil
}

func (p *pingingExporter) Ping(context.Context) error {
	return p.ExportSpans(context.Background(), nil)
}

func (p *pingingExporter) Shutdown(context.Context) error { return nil }

// TestIdleQueueNoticesTheReceiverIsBack: after failed exports, a service that makes no more
// spans (not ready, so no traffic) turns healthy again once its receiver answers a ping.
func TestIdleQueueNoticesTheReceiverIsBack(t *testing.T) {
	exp := &pingingExporter{down: true}
	q := NewSpanQueue(exp, SpanQueueOptions{Interval: 5 * time.Millisecond})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	defer tp.Shutdown(context.Background())
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	_ = q.ForceFlush(context.Background())
	later := func() bool { return q.Healthy(time.Now().Add(2*time.Minute), time.Minute) }
	if later() {
		t.Fatal("a failed export must make it unhealthy once the grace has passed")
	}
	exp.mu.Lock()
	exp.down = false
	exp.mu.Unlock()
	testenv.Eventually(t, 10*time.Second, later, "the receiver is back, no span waits: the queue must notice without new spans")
}
