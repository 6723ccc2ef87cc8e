package redconnector

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// gate refuses metrics while shut.
type gate struct {
	consumertest.MetricsSink
	shut atomic.Bool
}

func (g *gate) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (g *gate) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if g.shut.Load() {
		return errors.New("memory limit reached")
	}
	return g.MetricsSink.ConsumeMetrics(ctx, md)
}

// TestRefusedFlushIsCountedAndSentAgain: a flush the next consumer refuses is counted, and the
// next flush carries its values and its exemplar.
func TestRefusedFlushIsCountedAndSentAgain(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	next := &gate{}
	r, err := newConnector(createDefaultConfig().(*Config), tel.NewTelemetrySettings(), next)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	r.now = func() time.Time { return now }
	_ = r.ConsumeTraces(context.Background(), traces("recsvc", spanSpec{name: "op", route: "/a", kind: ptrace.SpanKindServer, seconds: 0.02, http: 500, failed: true, id: 7}))
	next.shut.Store(true)
	if err := r.flush(context.Background()); err == nil {
		t.Fatal("a refused flush must report it")
	}
	m, err := tel.GetMetric("recobs_red_points_refused")
	if err != nil || m.Data.(metricdata.Sum[int64]).DataPoints[0].Value == 0 {
		t.Fatalf("the refused points must be counted: %v", err)
	}
	next.shut.Store(false)
	now = now.Add(15 * time.Second)
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	md := next.AllMetrics()[0]
	errs := points(md, "red.errors")["/a 5xx"].(pmetric.NumberDataPoint)
	if errs.IntValue() != 1 || errs.Exemplars().Len() != 1 || errs.Exemplars().At(0).TraceID()[1] != 7 {
		t.Fatalf("the next flush must carry the error count and its exemplar: %d, %d exemplars", errs.IntValue(), errs.Exemplars().Len())
	}
	if h := points(md, "red.duration")["/a 5xx"].(pmetric.HistogramDataPoint); h.Exemplars().Len() != 1 {
		t.Fatalf("the duration exemplar must be sent again: %d", h.Exemplars().Len())
	}
}

// TestExpiringSeriesIsFlushedBeforeItIsDropped: a series whose last increments were not sent
// yet when it expires is emitted a last time, with its exemplar, before it is dropped.
func TestExpiringSeriesIsFlushedBeforeItIsDropped(t *testing.T) {
	r, sink, now := newTest(t, func(c *Config) { c.Expiration = time.Minute })
	_ = r.ConsumeTraces(context.Background(), traces("recsvc", spanSpec{name: "op", route: "/gone", kind: ptrace.SpanKindServer, seconds: 0.01, http: 200, id: 3}))
	*now = now.Add(2 * time.Minute)
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, ok := points(sink.AllMetrics()[0], "red.requests")["/gone 2xx"].(pmetric.NumberDataPoint)
	if !ok || p.IntValue() != 1 || p.Exemplars().Len() != 1 {
		t.Fatalf("the expiring series must be sent with its count and exemplar: %v", ok)
	}
	*now = now.Add(time.Second)
	_ = r.ConsumeTraces(context.Background(), traces("recsvc", spanSpec{name: "op", route: "/other", kind: ptrace.SpanKindServer, seconds: 0.01, http: 200, id: 4}))
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, still := points(sink.AllMetrics()[1], "red.requests")["/gone 2xx"]; still {
		t.Fatal("after its last flush the expired series must be dropped")
	}
}
