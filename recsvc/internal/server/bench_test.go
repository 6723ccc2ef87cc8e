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
	"github.com/recobs/recobs/recsvc/internal/feedback"
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
// a request in CPU and allocations. Metrics and feedback (remembering the response for its
// clicks, impressions, the CTR window) are on in every case, as they are by default;
// telemetry=full,feedback=off shows what feedback costs.
func BenchmarkRecommendations(b *testing.B) {
	rng := rand.New(rand.NewPCG(42, 42))
	uris := make([]string, 1024)
	for i := range uris {
		uris[i] = fmt.Sprintf("/v1/recommendations?lat=%.5f&lng=%.5f&radius_km=2&limit=10&user_id=%d",
			37.7749+(rng.Float64()-0.5)*0.1, -122.4194+(rng.Float64()-0.5)*0.1, 1+rng.IntN(100000))
	}
	for _, mode := range []struct {
		name                  string
		logs, spans, noClicks bool
	}{{"telemetry=off", false, false, false}, {"logs", true, false, false}, {"spans", false, true, false},
		{"telemetry=full", true, true, false}, {"telemetry=full,feedback=off", true, true, true}} {
		b.Run(mode.name, func(b *testing.B) {
			d, lw, tr := benchDeps(b)
			if mode.noClicks {
				d.Feedback = nil
			}
			if !mode.spans {
				d.Tracer = noop.NewTracerProvider().Tracer("")
			}
			if !mode.logs {
				d.Logger = logging.New(lw, "recsvc", logging.Off)
			}
			d.Metrics = telemetry.NewMetrics(statsOf{lw, tr.Queue})
			svc := New(d, Config{})
			serve(b, svc, func(req *fasthttp.Request, i int) { req.SetRequestURI(uris[i%len(uris)]) })
			_ = tr.Shutdown(context.Background())
			_ = lw.Close()
			if _, dropped, _ := lw.Stats(); dropped > 0 {
				b.Logf("%d log lines dropped", dropped)
			}
		})
	}
}

// BenchmarkClick is one counted click on /v1/feedback with full telemetry: the JSON body
// parsed, the response found and marked, the counters, the click's span (with its link) and
// its log line. Each click is on a result not clicked before, of 50,000 remembered responses
// (the default bound).
func BenchmarkClick(b *testing.B) {
	d, lw, tr := benchDeps(b)
	store := d.Feedback
	d.Metrics = telemetry.NewMetrics(statsOf{lw, tr.Queue})
	svc := New(d, Config{})
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("place-%d", i)
	}
	const responses = feedback.DefaultMaxEntries
	for i := range responses {
		store.Remember(feedback.Served{RequestID: fmt.Sprintf("req-%d", i), At: time.Now(), Places: ids,
			Segment: "students", Category: "all", Region: "san_francisco"})
	}
	bodies := make([][]byte, responses*len(ids))
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"request_id":"req-%d","place_id":"place-%d","action":"click"}`, i/len(ids), i%len(ids))
	}
	serve(b, svc, func(req *fasthttp.Request, i int) {
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI("/v1/feedback")
		req.SetBody(bodies[i%len(bodies)])
	})
	_ = tr.Shutdown(context.Background())
	_ = lw.Close()
}

// benchDeps wires the service as recsvc does by default (600 places a city, a 10,000-entry
// cache, feedback on), its spans into a discarding exporter and its log lines into io.Discard.
func benchDeps(b *testing.B) (Deps, *logging.AsyncWriter, *telemetry.Tracing) {
	ps := places.Default(600)
	m, _ := model.Default()
	lw := logging.NewStreamWriter(io.Discard, 0)
	tr, err := telemetry.NewTracing(context.Background(), discardSpans{}, telemetry.SpanQueueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return Deps{Index: geo.New(ps), Features: features.NewStore(ps, time.Now()), Model: m, Cache: NewCache(10000),
		Tracer: tr.Provider.Tracer("bench"), Spans: tr.Queue, Logger: logging.New(lw, "recsvc", logging.Info),
		Feedback: feedback.NewStore(feedback.Options{})}, lw, tr
}

// serve runs b's loop over the handler, request i made by fill, each answered 200, and
// reports the CPU of every thread per request beside ns/op.
func serve(b *testing.B, svc *Service, fill func(req *fasthttp.Request, i int)) {
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	i := 0
	cpu0 := testenv.CPUTime()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		fill(&ctx.Request, i)
		i++
		svc.Handler(&ctx)
		if st := ctx.Response.StatusCode(); st != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", st, ctx.Response.Body())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
