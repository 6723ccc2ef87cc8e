// Package server is recsvc's HTTP API on fasthttp: /v1/recommendations, /v1/feedback, the
// health endpoints and /metrics, with a span, a request-scoped logger and metrics for every request.
package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber/h3-go/v4"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/recobs/recobs/recsvc/internal/cache"
	"github.com/recobs/recobs/recsvc/internal/features"
	"github.com/recobs/recobs/recsvc/internal/feedback"
	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/logging"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

// CacheKey is what the recommendation cache is keyed by: every user in the same H3 cell
// querying the same radius and category shares the grid-disk candidates. (The limit does
// not change the candidates, so keying on it would only lower the hit rate.)
type CacheKey struct {
	Cell     h3.Cell
	RadiusKm float64
	Category string
}

// Cache holds the candidate places of a cell's grid disk.
type Cache = cache.LRU[CacheKey, []*places.Place]

// ErrorReporter forwards failed requests to an error tracker (Sentry); optional.
type ErrorReporter interface {
	Report(err error, stack string, requestID string, q *Query)
}

// Config tunes behaviour that is not a dependency.
type Config struct {
	FeaturesMaxAge   time.Duration // readiness fails when a feature snapshot is older
	ExporterGrace    time.Duration // readiness fails when span export has failed this long
	DiskPath         string        // the filesystem /health/deep reports on (the log directory)
	AllowFaultHeader bool          // honour X-Recsvc-Fault: error|panic (demo and tests only)
}

// Deps are the service's parts, built by main.
type Deps struct {
	Index    *geo.Index
	Features *features.Store
	Model    *model.Model
	Cache    *Cache
	Logger   *logging.Logger
	Tracer   trace.Tracer
	Metrics  *telemetry.Metrics
	Spans    *telemetry.SpanQueue
	Reporter ErrorReporter
	Feedback *feedback.Store // recent responses for /v1/feedback; nil turns feedback off
	Now      func() time.Time
}

// Service handles requests; safe for concurrent use.
type Service struct {
	Deps
	cfg      Config
	log      *logging.Logger
	metrics  fasthttp.RequestHandler
	feedback *feedbackState // nil when feedback is off

	requests, failures atomic.Uint64 // /v1/recommendations, and those answered 5xx
	latencyNanos       atomic.Uint64
	cpu                cpuSampler

	deepMu   sync.Mutex // one /health/deep report at a time, cached for deepCacheFor
	deepAt   time.Time
	deepBody []byte
}

// New wires a service.
func New(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.FeaturesMaxAge <= 0 {
		cfg.FeaturesMaxAge = 5 * time.Minute
	}
	if cfg.ExporterGrace <= 0 {
		cfg.ExporterGrace = time.Minute
	}
	s := &Service{Deps: d, cfg: cfg, log: d.Logger.Named("recsvc.api")}
	if d.Feedback != nil {
		s.feedback = newFeedbackState(d.Feedback, d.Metrics, d.Now)
	}
	s.metrics = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(d.Metrics.Registry,
		promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorLog: nil}))
	return s
}

// Handler routes requests. A panic on any route ends in a JSON 500 and an error line, never a
// dropped connection (/v1/recommendations recovers its own, with the request's context).
func (s *Service) Handler(ctx *fasthttp.RequestCtx) {
	defer s.recoverRoute(ctx)
	path := string(ctx.Path())
	if path == "/v1/feedback" {
		if !ctx.IsPost() {
			ctx.Response.Header.Set("Allow", "POST")
			s.writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "", "/v1/feedback takes POST", "", "")
			return
		}
		s.feedbackRoute(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "", "only GET is supported", "", "")
		return
	}
	switch path {
	case "/v1/recommendations":
		s.recommendations(ctx)
	case "/health/live":
		s.live(ctx)
	case "/health/ready":
		s.ready(ctx)
	case "/health/deep":
		s.deep(ctx)
	case "/metrics":
		s.refreshGauges()
		s.metrics(ctx)
	default:
		s.writeError(ctx, fasthttp.StatusNotFound, "not_found", "", fmt.Sprintf("no route %s", path), "", "")
	}
}

func (s *Service) recoverRoute(ctx *fasthttp.RequestCtx) {
	r := recover()
	if r == nil {
		return
	}
	s.log.Error("route_panicked", logging.Str("path", string(ctx.Path())), logging.Str("category", "system"),
		logging.Exception("runtime.Panic", fmt.Sprint(r), string(debug.Stack())))
	ctx.ResetBody()
	s.writeError(ctx, fasthttp.StatusInternalServerError, "internal_error", "", "internal error", "", "")
}

// refreshGauges sets the gauges that are read off other parts at scrape time.
func (s *Service) refreshGauges() {
	for t, age := range s.Features.Age(s.Now()) {
		s.Metrics.FeatureFreshness.WithLabelValues(t).Set(age.Seconds())
	}
	s.Metrics.CacheHitRate.Set(s.Cache.Stats().HitRate() * 100)
}

type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(k string) string { return string(c.h.Peek(k)) }
func (c headerCarrier) Set(k, v string)     { c.h.Set(k, v) }
func (c headerCarrier) Keys() []string {
	var keys []string
	for k := range c.h.All() {
		keys = append(keys, string(k))
	}
	return keys
}

// requestID keeps a sane client-supplied X-Request-ID, else makes one.
func requestID(ctx *fasthttp.RequestCtx) string {
	if id := ctx.Request.Header.Peek("X-Request-ID"); len(id) > 0 && len(id) <= 128 && saneID(id) {
		return string(id)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneID(id []byte) bool {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// serverSpan starts an API request: its request id (X-Request-ID honoured, else made, and
// echoed) and its server span, a child of the caller's traceparent if it sent one.
func (s *Service) serverSpan(ctx *fasthttp.RequestCtx, name, route string) (string, context.Context, trace.Span) {
	rid := requestID(ctx)
	ctx.Response.Header.Set("X-Request-ID", rid)
	parent := otel.GetTextMapPropagator().Extract(context.Background(), headerCarrier{&ctx.Request.Header})
	spanCtx, span := s.Tracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", string(ctx.Method())),
			attribute.String("url.path", route),
			attribute.String("http.route", route),
			attribute.StringSlice("http.request.header.x-request-id", []string{rid}),
		))
	return rid, spanCtx, span
}

func (s *Service) recommendations(ctx *fasthttp.RequestCtx) {
	profileAs(labelsRecommend)
	defer profileAs(noLabels)
	start := s.Now()
	rid, spanCtx, span := s.serverSpan(ctx, "recommendation_pipeline", "/v1/recommendations")
	sc := span.SpanContext()
	traceID, spanID := sc.TraceID().String(), sc.SpanID().String()
	log := s.log.With(logging.Str("request_id", rid), logging.Str("trace_id", traceID), logging.Str("span_id", spanID))

	var q Query
	var outcome result
	status := fasthttp.StatusOK
	// The span's attributes are gathered here and set once, at the end: each SetAttributes
	// call on an SDK span locks it and may regrow its attribute slice.
	var attrBuf [12]attribute.KeyValue
	attrs := attrBuf[:0]
	region := "" // the query's region, once it is known: the span, the metric and the log line share it
	defer func() {
		if r := recover(); r != nil {
			status = fasthttp.StatusInternalServerError
			s.fail(ctx, span, log, rid, &q, fmt.Errorf("panic: %v", r), "runtime.Panic", string(debug.Stack()))
		}
		elapsed := s.Now().Sub(start)
		s.requests.Add(1)
		s.latencyNanos.Add(uint64(elapsed))
		if status >= 500 {
			s.failures.Add(1)
		}
		span.SetAttributes(append(attrs, attribute.Int("http.response.status_code", status))...)
		span.End()
		s.Metrics.ObserveLatency(elapsed, sc, traceID, spanID)
		s.logRequest(log, &q, region, status, outcome, elapsed)
	}()

	var ferr *FieldError
	if q, ferr = ParseQuery(ctx.QueryArgs()); ferr != nil {
		status = fasthttp.StatusBadRequest
		s.Metrics.Errors.WithLabelValues("invalid_request").Inc()
		log.Warn("invalid_request", logging.Str("category", "security"), logging.Str("field", ferr.Field),
			logging.Str("reason", ferr.Error()), logging.Int("status", int64(status)))
		attrs = append(attrs, attribute.String("error.type", "invalid_parameter"), attribute.String("invalid_field", ferr.Field))
		s.writeError(ctx, status, "invalid_parameter", ferr.Field, ferr.Error(), rid, traceID)
		return
	}
	attrs = append(attrs,
		attribute.Float64("location.lat", q.Lat), attribute.Float64("location.lng", q.Lng),
		attribute.Float64("radius_km", q.RadiusKm), attribute.String("category", categoryLabel(q.Category)),
		attribute.Int("limit", q.Limit))
	if q.HasUserID {
		attrs = append(attrs, attribute.Int64("user_id", q.UserID))
	}
	segment := features.SegmentOf(q.UserID, q.HasUserID)
	region = places.RegionOf(q.Lat, q.Lng)
	// Low-cardinality labels on the server span, for RED metrics derived from it.
	attrs = append(attrs, attribute.String("location_region", region), attribute.String("user_segment", segment))
	s.Metrics.Requests.WithLabelValues(segment, categoryLabel(q.Category), region).Inc()

	fault := ""
	if s.cfg.AllowFaultHeader {
		fault = string(ctx.Request.Header.Peek("X-Recsvc-Fault"))
	}
	if fault == "panic" {
		panic("injected fault (X-Recsvc-Fault: panic)")
	}
	var err error
	outcome, err = s.recommend(spanCtx, &q, segment, fault == "error")
	if err != nil {
		status = fasthttp.StatusInternalServerError
		s.fail(ctx, span, log, rid, &q, err, fmt.Sprintf("%T", err), string(debug.Stack()))
		return
	}
	s.writeResults(ctx, rid, traceID, &q, outcome)
	s.served(rid, sc, &q, segment, region, &outcome, start)
}

func categoryLabel(c string) string {
	if c == "" {
		return "all"
	}
	return c
}

// fail answers 500 and records the error everywhere it should be found: on the span (an
// exception event with the stack), in an error log line with the request's context, in the
// error metric, and in the error tracker.
func (s *Service) fail(ctx *fasthttp.RequestCtx, span trace.Span, log *logging.Logger, rid string, q *Query, err error, errType, stack string) {
	s.Metrics.Errors.WithLabelValues("internal").Inc()
	span.RecordError(err, trace.WithAttributes(
		attribute.String("exception.type", errType), attribute.String("exception.stacktrace", stack)))
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(attribute.String("error.type", errType))
	f := make([]logging.Field, 0, 9)
	f = append(f, logging.Str("category", "ml"))
	if q.HasUserID {
		f = append(f, logging.Int("user_id", q.UserID))
	}
	f = append(f, logging.LatLng("location", q.Lat, q.Lng), logging.Float("radius_km", q.RadiusKm),
		logging.Str("place_category", categoryLabel(q.Category)), logging.Int("limit", int64(q.Limit)),
		logging.Int("status", 500), logging.Exception(errType, err.Error(), stack))
	log.Error("request_failed", f...)
	if s.Reporter != nil {
		s.Reporter.Report(err, stack, rid, q)
	}
	ctx.Response.ResetBody()
	s.writeError(ctx, fasthttp.StatusInternalServerError, "internal", "", "the recommendation could not be computed", rid, span.SpanContext().TraceID().String())
}

// logRequest writes the one recommendation_request line every request gets.
func (s *Service) logRequest(log *logging.Logger, q *Query, region string, status int, r result, elapsed time.Duration) {
	level := logging.Info
	switch {
	case status >= 500:
		level = logging.Error
	case status >= 400:
		level = logging.Warn
	}
	f := make([]logging.Field, 0, 13)
	f = append(f, logging.Str("category", "business"))
	if status != fasthttp.StatusBadRequest { // a rejected query has no trustworthy fields
		if q.HasUserID {
			f = append(f, logging.Int("user_id", q.UserID))
		}
		f = append(f, logging.Str("user_segment", features.SegmentOf(q.UserID, q.HasUserID)),
			logging.LatLng("location", q.Lat, q.Lng), logging.Str("location_region", region), logging.Float("radius_km", q.RadiusKm),
			logging.Str("place_category", categoryLabel(q.Category)))
	}
	f = append(f, logging.Int("num_results", int64(len(r.ranked))), logging.Millis("response_time_ms", elapsed),
		logging.Bool("cache_hit", r.cacheHit), logging.Int("status", int64(status)))
	log.Log(level, "recommendation_request", f...)
}

// NewCache makes the recommendation cache.
func NewCache(size int) *Cache { return cache.New[CacheKey, []*places.Place](size) }
