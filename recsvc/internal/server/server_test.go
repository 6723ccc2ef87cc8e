package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"

	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/recsvc/internal/features"
	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/logging"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a service wired to in-memory telemetry.
type fixture struct {
	svc   *Service
	spans *tracetest.InMemoryExporter
	queue *telemetry.SpanQueue
	logs  *syncBuffer
	lw    *logging.AsyncWriter
	now   time.Time
	mu    sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newFixture(t *testing.T, with ...func(*Deps)) *fixture {
	t.Helper()
	ps := places.Default(200)
	f := &fixture{spans: tracetest.NewInMemoryExporter(), logs: &syncBuffer{}, now: time.Now()}
	f.lw = logging.NewStreamWriter(f.logs, 1024)
	tr, err := telemetry.NewTracing(context.Background(), f.spans, telemetry.SpanQueueOptions{Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.queue = tr.Queue
	m, _ := model.Default()
	clock := func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	d := Deps{
		Index: geo.New(ps), Features: features.NewStore(ps, f.now), Model: m, Cache: NewCache(100),
		Logger: logging.New(f.lw, "recsvc", logging.Debug), Tracer: tr.Provider.Tracer("test"), Spans: tr.Queue, Now: clock,
	}
	d.Metrics = telemetry.NewMetrics(statsOf{f.lw, tr.Queue})
	for _, w := range with {
		w(&d)
	}
	f.svc = New(d, Config{FeaturesMaxAge: time.Minute, AllowFaultHeader: true})
	t.Cleanup(func() {
		_ = tr.Shutdown(context.Background())
		_ = f.lw.Close()
	})
	return f
}

type statsOf struct {
	l *logging.AsyncWriter
	q *telemetry.SpanQueue
}

func (s statsOf) LogStats() (uint64, uint64, uint64) { return s.l.Stats() }
func (s statsOf) SpanStats() telemetry.SpanStats     { return s.q.Stats() }

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

type response struct {
	status int
	header map[string]string
	body   []byte
}

func (f *fixture) get(uri string, headers ...string) response {
	return f.do(fasthttp.MethodGet, uri, "", headers...)
}

func (f *fixture) post(uri, body string, headers ...string) response {
	return f.do(fasthttp.MethodPost, uri, body, headers...)
}

func (f *fixture) do(method, uri, body string, headers ...string) response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if body != "" {
		ctx.Request.SetBodyString(body)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	f.svc.Handler(&ctx)
	h := map[string]string{}
	for k, v := range ctx.Response.Header.All() {
		h[string(k)] = string(v)
	}
	return response{ctx.Response.StatusCode(), h, append([]byte(nil), ctx.Response.Body()...)}
}

// waitLogLines waits until n lines of event have reached the (asynchronous) log writer.
func (f *fixture) waitLogLines(t *testing.T, event string, n int) []map[string]any {
	t.Helper()
	var lines []map[string]any
	testenv.Eventually(t, 10*time.Second, func() bool { lines = f.logLines(t, event); return len(lines) >= n },
		"want %d %s lines", n, event)
	if len(lines) != n {
		t.Fatalf("want %d %s lines, got %d", n, event, len(lines))
	}
	return lines
}

func (f *fixture) logLines(t *testing.T, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(f.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

func TestRecommendations(t *testing.T) {
	f := newFixture(t)
	r := f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=3&category=cafe&limit=5&user_id=12345", "X-Request-ID", "req-abc")
	if r.status != 200 || r.header["X-Request-Id"] != "req-abc" {
		t.Fatalf("status %d headers %v body %s", r.status, r.header, r.body)
	}
	var body struct {
		RequestID string `json:"request_id"`
		Count     int
		Results   []struct {
			ID, Category string
			Lat, Lng     float64
			Distance     float64 `json:"distance_m"`
			Sc           float64 `json:"score"`
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.RequestID != "req-abc" || body.Count != 5 || len(body.Results) != 5 {
		t.Fatalf("body %s", r.body)
	}
	for i, p := range body.Results {
		if p.Category != "cafe" || p.Distance > 3000 || p.Sc <= 0 || p.Sc >= 1 {
			t.Errorf("result %d: %+v", i, p)
		}
		if i > 0 && body.Results[i-1].Sc < p.Sc {
			t.Error("results not ranked by score")
		}
	}
	// A second request from the same cell is served from the cache.
	r2 := f.get("/v1/recommendations?lat=37.7750&lng=-122.4195&radius_km=3&category=cafe&limit=5&user_id=12345")
	if !strings.Contains(string(r2.body), `"cache_hit":true`) {
		t.Errorf("second request from the same cell should hit the cache: %s", r2.body)
	}
}

// TestValidationErrorsAreJSON400: every bad parameter gets a 400 with a JSON error naming it,
// a warn log line and a counted error.
func TestValidationErrorsAreJSON400(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ query, field string }{
		{"lng=1", "lat"}, {"lat=100&lng=1", "lat"}, {"lat=1&lng=-181", "lng"}, {"lat=1&lng=1&radius_km=0", "radius_km"},
		{"lat=1&lng=1&radius_km=51", "radius_km"}, {"lat=1&lng=1&limit=0", "limit"}, {"lat=1&lng=1&limit=101", "limit"},
		{"lat=1&lng=1&category=casino", "category"}, {"lat=1&lng=1&user_id=bob", "user_id"}, {"lat=1&lng=1&foo=1", "foo"},
	} {
		r := f.get("/v1/recommendations?" + tc.query)
		var e struct {
			Error struct{ Code, Field, Message string }
		}
		if r.status != 400 || json.Unmarshal(r.body, &e) != nil || e.Error.Field != tc.field || e.Error.Code != "invalid_parameter" {
			t.Errorf("%s: status %d body %s", tc.query, r.status, r.body)
		}
	}
	f.waitLogLines(t, "invalid_request", 10)
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	if r := f.get("/nope"); r.status != 404 || !json.Valid(r.body) {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/recommendations?lat=1&lng=1")
	ctx.Request.Header.SetMethod("POST")
	f.svc.Handler(&ctx)
	if ctx.Response.StatusCode() != 405 {
		t.Errorf("POST: %d", ctx.Response.StatusCode())
	}
	if r := f.get("/health/live"); r.status != 200 || !strings.Contains(string(r.body), `"timestamp"`) {
		t.Errorf("live: %d %s", r.status, r.body)
	}
	var deep map[string]any
	if r := f.get("/health/deep"); r.status != 200 || json.Unmarshal(r.body, &deep) != nil {
		t.Fatalf("deep: %d %s", r.status, r.body)
	}
	for _, section := range []string{"system", "dependencies", "business"} {
		if m, _ := deep[section].(map[string]any); len(m) == 0 {
			t.Errorf("deep health lacks %s: %v", section, deep)
		}
	}
}

// TestSpanTree: the server span continues the caller's W3C trace and has the seed's three
// children, with their attributes and the request id on the server span.
func TestSpanTree(t *testing.T) {
	f := newFixture(t)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=2&user_id=7", "traceparent", parent, "X-Request-ID", "req-span")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	if err := f.queue.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := f.spans.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	root, ok := byName["recommendation_pipeline"]
	if !ok || len(spans) != 4 {
		t.Fatalf("want 4 spans, got %d", len(spans))
	}
	if root.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || root.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("traceparent not honoured: trace %s parent %s", root.SpanContext.TraceID(), root.Parent.SpanID())
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	for k, want := range map[string]string{"user_id": "7", "location.lat": "37.7749", "location.lng": "-122.4194", "radius_km": "2",
		"category": "all", "http.request.header.x-request-id": `["req-span"]`, "http.response.status_code": "200"} {
		if attrs[k] != want {
			t.Errorf("root attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	for name, attr := range map[string]string{"geospatial_query": "candidates_found", "feature_enrichment": "features_loaded", "ml_inference": "model.version"} {
		s, ok := byName[name]
		if !ok || s.Parent.SpanID() != root.SpanContext.SpanID() {
			t.Errorf("%s missing or not a child of the pipeline", name)
			continue
		}
		found := false
		for _, a := range s.Attributes {
			found = found || string(a.Key) == attr
		}
		if !found {
			t.Errorf("%s lacks %s", name, attr)
		}
	}
	// The log line carries the same ids.
	lines := f.waitLogLines(t, "recommendation_request", 1)
	if lines[0]["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || lines[0]["span_id"] != root.SpanContext.SpanID().String() || lines[0]["request_id"] != "req-span" {
		t.Errorf("log line not joinable with the trace: %v", lines)
	}
}

// TestFailuresAreRecordedEverywhere: a panic and a model error each become a JSON 500, an
// exception event on the span, an error log line with the request context, and an error count.
func TestFailuresAreRecordedEverywhere(t *testing.T) {
	f := newFixture(t)
	for _, fault := range []string{"panic", "error"} {
		r := f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&user_id=9&category=bar&limit=3", "X-Recsvc-Fault", fault)
		if r.status != 500 || !json.Valid(r.body) || !strings.Contains(string(r.body), `"trace_id":"`) {
			t.Fatalf("%s: want a JSON 500 naming the trace, got %d %s", fault, r.status, r.body)
		}
	}
	_ = f.queue.ForceFlush(context.Background())
	var exceptions int
	for _, s := range f.spans.GetSpans() {
		for _, e := range s.Events {
			if e.Name == "exception" {
				exceptions++
			}
		}
	}
	if exceptions < 2 {
		t.Errorf("want exception events on the spans, got %d", exceptions)
	}
	failed := f.waitLogLines(t, "request_failed", 2)
	for _, l := range failed {
		ex, _ := l["exception"].(map[string]any)
		if l["level"] != "error" || l["user_id"] != 9.0 || l["radius_km"] != 2.0 || l["place_category"] != "bar" || l["limit"] != 3.0 || ex["stack"] == "" || l["location"] == nil {
			t.Errorf("error line lacks context: %v", l)
		}
	}
}

func TestReadinessFlips(t *testing.T) {
	f := newFixture(t)
	if r := f.get("/health/ready"); r.status != 200 {
		t.Fatalf("fresh service not ready: %s", r.body)
	}
	f.advance(2 * time.Minute) // features older than FeaturesMaxAge
	r := f.get("/health/ready")
	var body struct {
		Status string
		Checks map[string]Check
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if r.status != 503 || body.Status != "not_ready" || body.Checks["features_fresh"].OK || !body.Checks["model_loaded"].OK {
		t.Fatalf("stale features must make the service not ready: %d %s", r.status, r.body)
	}
	f.svc.Features.Refresh(f.svc.Now())
	if r := f.get("/health/ready"); r.status != 200 {
		t.Fatalf("ready again after refresh: %s", r.body)
	}
}

// TestMetricsParse: /metrics parses with Prometheus' own parser, carries the seed's metrics
// with the values the requests produced, exemplars in OpenMetrics, and passes promtool.
func TestMetricsParse(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&category=cafe&user_id=1")
	}
	f.get("/v1/recommendations?lat=999&lng=0")

	scrape := func(accept string) ([]byte, string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/metrics")
		ctx.Request.Header.Set("Accept", accept)
		f.svc.Handler(&ctx)
		return append([]byte(nil), ctx.Response.Body()...), string(ctx.Response.Header.ContentType())
	}
	text, ct := scrape("text/plain")
	series := parseMetrics(t, text, ct)
	if got := series[`recommendation_requests_total{category="cafe",location_region="san_francisco",user_segment="families"}`]; got != 3 {
		t.Errorf("recommendation_requests_total: got %v (series %v)", got, keys(series))
	}
	if got := series[`recommendation_latency_seconds_count`]; got != 4 {
		t.Errorf("latency count: got %v", got)
	}
	if got := series[`recommendation_errors_total{kind="invalid_request"}`]; got != 1 {
		t.Errorf("errors: got %v", got)
	}
	if got := series[`cache_hit_rate`]; got < 66 || got > 67 {
		t.Errorf("cache_hit_rate: got %v, want 2 hits of 3 = 66.7%%", got)
	}
	for _, ft := range features.Types {
		if _, ok := series[`feature_freshness_seconds{feature_type="`+ft+`"}`]; !ok {
			t.Errorf("feature_freshness_seconds{%s} missing", ft)
		}
	}
	if _, ok := series[`model_inference_duration_seconds_count`]; !ok {
		t.Error("model_inference_duration_seconds missing")
	}

	om, omct := scrape("application/openmetrics-text;version=1.0.0")
	p, err := textparse.New(om, omct, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var withExemplar int
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		var ex exemplar.Exemplar
		if p.Exemplar(&ex) && ex.Labels.Get("trace_id") != "" {
			withExemplar++
		}
	}
	if withExemplar == 0 {
		t.Error("no exemplar with a trace_id in the OpenMetrics output")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if testenv.Required() {
			t.Fatal("promtool (Debian package prometheus) is required under make test")
		}
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func parseMetrics(t *testing.T, b []byte, ct string) map[string]float64 {
	t.Helper()
	p, err := textparse.New(b, ct, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("metrics do not parse: %v", err)
		}
		if e == textparse.EntrySeries {
			_, _, v := p.Series()
			var l labels.Labels
			p.Labels(&l)
			name := l.Get("__name__")
			rest := l.MatchLabels(false, "__name__")
			key := name
			if rest.Len() > 0 {
				key += rest.String()
			}
			out[strings.ReplaceAll(key, ", ", ",")] = v
		}
	}
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, "recommendation_requests") {
			out = append(out, k)
		}
	}
	return out
}

// TestEveryRoutePanicsIntoAJSON500: a panic on the health routes or /metrics (here: the feature
// store is missing) is recovered into a JSON 500 and an error line, as on /v1/recommendations.
func TestEveryRoutePanicsIntoAJSON500(t *testing.T) {
	f := newFixture(t)
	f.svc.Features = nil
	for _, path := range []string{"/health/ready", "/health/deep", "/metrics"} {
		var r response
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s: the panic escaped the handler: %v", path, p)
				}
			}()
			r = f.get(path)
		}()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if r.status != 500 || json.Unmarshal(r.body, &body) != nil || body.Error.Code != "internal_error" {
			t.Errorf("%s: %d %s, want a JSON 500", path, r.status, r.body)
		}
	}
	lines := f.waitLogLines(t, "route_panicked", 3)
	if exc, _ := lines[0]["exception"].(map[string]any); exc == nil || exc["stack"] == "" {
		t.Errorf("the error line must carry the exception and its stack: %v", lines[0])
	}
}

// TestDeepHealthIsCached: /health/deep stops the world and probes every dependency, so it is
// computed at most once a second however often it is asked for.
func TestDeepHealthIsCached(t *testing.T) {
	f := newFixture(t)
	first := f.get("/health/deep")
	f.advance(500 * time.Millisecond)
	if again := f.get("/health/deep"); !bytes.Equal(again.body, first.body) {
		t.Fatal("a second request within a second must get the cached report")
	}
	f.advance(600 * time.Millisecond)
	if later := f.get("/health/deep"); bytes.Equal(later.body, first.body) || later.status != 200 {
		t.Fatal("after a second the report must be made anew")
	}
	rec := httptest.NewRecorder()
	f.svc.DeepHandler(rec, httptest.NewRequest(http.MethodGet, "/health/deep", nil))
	if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("admin /health/deep: %d %s", rec.Code, rec.Body.String())
	}
}
