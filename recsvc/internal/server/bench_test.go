package server

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/recsvc/internal/features"
	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/logging"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

// discardSpans is an exporter that drops what it is given: the benchmark measures the request
// path (span start, attributes, end, queueing, the log line), not the network.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkRecommendations is the handler alone, as `make bench`'s wrk runs drive it (random
// points around San Francisco, random users, radius 2 km, limit 10): without telemetry, with
// only the log line, with only the spans, and with both. The differences are what each costs
// a request in CPU and allocations. (Metrics are on in every case: they are not optional.)
func BenchmarkRecommendations(b *testing.B) {
	rng := rand.New(rand.NewPCG(42, 42))
	uris := make([]string, 1024)
	for i := range uris {
		uris[i] = fmt.Sprintf("/v1/recommendations?lat=%.5f&lng=%.5f&radius_km=2&limit=10&user_id=%d",
			37.7749+(rng.Float64()-0.5)*0.1, -122.4194+(rng.Float64()-0.5)*0.1, 1+rng.IntN(100000))
	}
	for _, mode := range []struct {
		name        string
		logs, spans bool
	}{{"telemetry=off", false, false}, {"logs", true, false}, {"spans", false, true}, {"telemetry=full", true, true}} {
		b.Run(mode.name, func(b *testing.B) {
			ps := places.Default(600) // recsvc's default
			m, _ := model.Default()
			lw := logging.NewStreamWriter(io.Discard, 0)
			tr, err := telemetry.NewTracing(context.Background(), discardSpans{}, telemetry.SpanQueueOptions{})
			if err != nil {
				b.Fatal(err)
			}
			d := Deps{Index: geo.New(ps), Features: features.NewStore(ps, time.Now()), Model: m, Cache: NewCache(10000),
				Tracer: tr.Provider.Tracer("bench"), Spans: tr.Queue, Logger: logging.New(lw, "recsvc", logging.Info)}
			if !mode.spans {
				d.Tracer = noop.NewTracerProvider().Tracer("")
			}
			if !mode.logs {
				d.Logger = logging.New(lw, "recsvc", logging.Off)
			}
			d.Metrics = telemetry.NewMetrics(statsOf{lw, tr.Queue})
			svc := New(d, Config{})
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			i := 0
			cpu0 := testenv.CPUTime()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(uris[i%len(uris)])
				i++
				svc.Handler(&ctx)
				if ctx.Response.StatusCode() != fasthttp.StatusOK {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			_ = tr.Shutdown(context.Background())
			_ = lw.Close()
			if _, dropped, _ := lw.Stats(); dropped > 0 {
				b.Logf("%d log lines dropped", dropped)
			}
		})
	}
}
