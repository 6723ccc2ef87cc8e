package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// capturingClient is an otlptrace.Client that keeps what the stock exporter would send.
type capturingClient struct{ got []*tracepb.ResourceSpans }

func (c *capturingClient) Start(context.Context) error { return nil }
func (c *capturingClient) Stop(context.Context) error  { return nil }
func (c *capturingClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.got = append(c.got, rs...)
	return nil
}

// variedSpans ends spans covering every part of the message: two resources, scopes with and
// without version and attributes, every attribute type, events, links, a remote parent, a
// trace state, error and ok statuses, long values (lengths past one varint byte).
func variedSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	var out []sdktrace.ReadOnlySpan
	for i, svc := range []string{"recsvc", "other"} {
		res := resource.NewSchemaless(attribute.String("service.name", svc), attribute.Int("i", i),
			attribute.StringSlice("tags", []string{"a", "b"}))
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(rec))
		trs := []trace.Tracer{tp.Tracer("a"), tp.Tracer("b", trace.WithInstrumentationVersion("1.2.3"),
			trace.WithInstrumentationAttributes(attribute.Bool("scoped", true)), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))}
		ts, _ := trace.ParseTraceState("vendor=value,other=x")
		remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6},
			TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
		for j, tr := range trs {
			ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
			ctx, root := tr.Start(ctx, "recommendation_pipeline", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithLinks(trace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.String("link", "x")}}),
				trace.WithAttributes(
					attribute.Bool("b", j == 0), attribute.Bool("f", false), attribute.Int("n", -42), attribute.Int64("zero", 0),
					attribute.Float64("lat", 37.7749), attribute.Float64("fzero", 0), attribute.Float64("inf", math.Inf(1)),
					attribute.String("s", "v"), attribute.String("empty", ""), attribute.String("long", string(bytes.Repeat([]byte("x"), 300))),
					attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{1, -2, 1 << 40}),
					attribute.Float64Slice("fs", []float64{0.5, -1}), attribute.StringSlice("ss", []string{"", "y"}),
					attribute.ByteSlice("raw", []byte{0, 1, 255}),
					attribute.Slice("mixed", attribute.IntValue(1), attribute.StringValue("two")),
					attribute.Map("m", attribute.String("k", "v"), attribute.Map("inner", attribute.Int("deep", 3))),
				))
			_, child := tr.Start(ctx, "ml_inference", trace.WithSpanKind(trace.SpanKind(j+3)))
			child.AddEvent("checkpoint", trace.WithAttributes(attribute.Int("step", 1)), trace.WithTimestamp(time.Unix(1, 5)))
			child.RecordError(errInjected, trace.WithStackTrace(true))
			child.SetStatus(codes.Error, "inference failed")
			child.End()
			root.SetStatus(codes.Ok, "")
			root.End()
		}
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Ended()...)
	}
	if len(out) != 8 {
		t.Fatalf("ended %d spans, want 8", len(out))
	}
	return out
}

type injectedError struct{}

func (injectedError) Error() string { return "injected" }

var errInjected = injectedError{}

// sortByResource orders resource spans by their encoded resource: the stock transformation
// emits them in map order.
func sortByResource(rss []*tracepb.ResourceSpans) {
	key := func(rs *tracepb.ResourceSpans) []byte {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(rs.GetResource())
		return b
	}
	slices.SortFunc(rss, func(a, b *tracepb.ResourceSpans) int { return bytes.Compare(key(a), key(b)) })
}

// TestWireEncodingMatchesTheStockExporter: our bytes decode to exactly the request the SDK's
// own OTLP transformation builds from the same spans.
func TestWireEncodingMatchesTheStockExporter(t *testing.T) {
	spans := variedSpans(t)
	client := &capturingClient{}
	stock, err := otlptrace.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	if err := stock.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: client.got}

	var enc wireEncoder
	for round := range 2 { // the second round reuses the buffer and the resource cache
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(enc.request(spans), &got); err != nil {
			t.Fatalf("round %d: our bytes are not a valid request: %v", round, err)
		}
		sortByResource(got.ResourceSpans)
		sortByResource(want.ResourceSpans)
		if !proto.Equal(&got, want) {
			t.Fatalf("round %d: encodings differ\nours:  %v\nstock: %v", round, &got, want)
		}
	}
	if err := stock.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// traceServer is an OTLP/gRPC receiver on 127.0.0.1 that can refuse the first calls.
type traceServer struct {
	coltracepb.UnimplementedTraceServiceServer
	mu       sync.Mutex
	refuse   int
	reject   int64 // spans to refuse in a partial success
	requests []*coltracepb.ExportTraceServiceRequest
	headers  []metadata.MD
}

func (s *traceServer) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	s.headers = append(s.headers, md)
	if s.refuse > 0 {
		s.refuse--
		return nil, status.Error(grpccodes.Unavailable, "not yet")
	}
	s.requests = append(s.requests, req)
	if s.reject > 0 {
		return &coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: s.reject, ErrorMessage: "span name too long"}}, nil
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func startTraceServer(t *testing.T, refuse int) (*traceServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ts := &traceServer{refuse: refuse}
	coltracepb.RegisterTraceServiceServer(srv, ts)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ts, ln.Addr().String()
}

// TestWireExporterSendsAndRetries: a receiver that is unavailable twice gets the spans on the
// third try, once, with the configured headers, gzip-compressed or not.
func TestWireExporterSendsAndRetries(t *testing.T) {
	spans := variedSpans(t)
	for _, compression := range []string{"", "gzip"} {
		srv, addr := startTraceServer(t, 2)
		exp, err := NewWireExporter(WireConfig{Endpoint: addr, Insecure: true, Timeout: 30 * time.Second,
			Headers: map[string]string{"x-tenant": "recobs"}, Compression: compression})
		if err != nil {
			t.Fatal(err)
		}
		if err := exp.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.mu.Lock()
		n := 0
		for _, r := range srv.requests {
			for _, rs := range r.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					n += len(ss.Spans)
				}
			}
		}
		if len(srv.requests) != 1 || n != len(spans) || len(srv.headers) != 3 || srv.headers[2].Get("x-tenant")[0] != "recobs" {
			t.Fatalf("compression %q: %d requests with %d spans (want 1 with %d), %d calls", compression, len(srv.requests), n, len(spans), len(srv.headers))
		}
		srv.mu.Unlock()
	}
}

// TestPartialSuccessIsCountedAsRejected: spans a receiver refuses in an OTLP partial success
// are counted as rejected, not exported, and the rest as exported; the export stays healthy.
func TestPartialSuccessIsCountedAsRejected(t *testing.T) {
	srv, addr := startTraceServer(t, 0)
	srv.reject = 3
	exp, err := NewWireExporter(WireConfig{Endpoint: addr, Insecure: true, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var partial *PartialSuccessError
	if err := exp.ExportSpans(context.Background(), variedSpans(t)); !errors.As(err, &partial) || partial.Rejected != 3 {
		t.Fatalf("err = %v, want a PartialSuccessError with 3 rejected", err)
	}
	q := NewSpanQueue(exp, SpanQueueOptions{Interval: time.Hour})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q))
	for range 10 {
		_, s := tp.Tracer("t").Start(context.Background(), "x")
		s.End()
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if st.Ended != 10 || st.Exported != 7 || st.Rejected != 3 || st.Failed != 0 || st.Dropped != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v: want 10 ended = 7 exported + 3 rejected", st)
	}
	if !q.Healthy(time.Now().Add(time.Hour), time.Minute) {
		t.Fatal("a receiver that answered with a partial success is not a failing export")
	}
}

// exporterToNobody is a wire exporter aimed at a 127.0.0.1 port nothing listens on.
func exporterToNobody(t *testing.T, timeout time.Duration) *WireExporter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	exp, err := NewWireExporter(WireConfig{Endpoint: addr, Insecure: true, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestWireExporterGivesUpAtTheDeadline: with nothing listening the export fails (and the span
// queue counts it) when its context ends, instead of retrying for ever.
func TestWireExporterGivesUpAtTheDeadline(t *testing.T) {
	exp := exporterToNobody(t, time.Minute)
	defer exp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := exp.ExportSpans(ctx, variedSpans(t)); err == nil {
		t.Fatal("an export to nobody succeeded")
	}
}

// TestWireExporterShutdownStopsRetries: an export retrying against a receiver that is down
// returns soon after Shutdown instead of at its deadline, and later exports fail at once.
func TestWireExporterShutdownStopsRetries(t *testing.T) {
	exp := exporterToNobody(t, time.Hour)
	spans := variedSpans(t)
	done := make(chan error, 1)
	go func() { done <- exp.ExportSpans(context.Background(), spans) }()
	// An export in progress holds the exporter's lock; wait for that, so Shutdown meets the
	// retry loop rather than an export that has not begun.
	testenv.Eventually(t, 30*time.Second, func() bool {
		if exp.mu.TryLock() {
			exp.mu.Unlock()
			return false
		}
		return true
	}, "the export never started")
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an export to nobody succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the export kept retrying after Shutdown")
	}
	if err := exp.ExportSpans(context.Background(), spans); !errors.Is(err, errExporterClosed) {
		t.Fatalf("export after Shutdown: %v", err)
	}
}

func TestWireConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		want    WireConfig
		wantErr string
	}{
		{env: map[string]string{}, want: WireConfig{Endpoint: "127.0.0.1:4317", Insecure: true, Timeout: 10 * time.Second}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:14317"}, want: WireConfig{Endpoint: "127.0.0.1:14317", Insecure: true, Timeout: 10 * time.Second}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces:443",
			"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b%20c=x%3Dy", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
			want: WireConfig{Endpoint: "traces:443", Headers: map[string]string{"a": "1", "b c": "x=y"}, Timeout: 2500 * time.Millisecond, Compression: "gzip"}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, want: WireConfig{Endpoint: "collector:4317", Insecure: true, Timeout: 10 * time.Second}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, wantErr: "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "novalue"}, wantErr: "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, wantErr: "OTEL_EXPORTER_OTLP_COMPRESSION"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem"}, wantErr: "RECSVC_SPAN_ENCODER=sdk"},
	} {
		for _, k := range []string{"ENDPOINT", "INSECURE", "HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE"} {
			t.Setenv("OTEL_EXPORTER_OTLP_"+k, "")
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_"+k, "")
		}
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		got, err := WireConfigFromEnv()
		switch {
		case tc.wantErr != "":
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
				t.Errorf("%v: want an error naming %s, got %v", tc.env, tc.wantErr, err)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case got.Endpoint != tc.want.Endpoint || got.Insecure != tc.want.Insecure || got.Timeout != tc.want.Timeout ||
			got.Compression != tc.want.Compression || len(got.Headers) != len(tc.want.Headers):
			t.Errorf("%v: got %+v, want %+v", tc.env, got, tc.want)
		default:
			for k, v := range tc.want.Headers {
				if got.Headers[k] != v {
					t.Errorf("%v: header %q = %q, want %q", tc.env, k, got.Headers[k], v)
				}
			}
		}
	}
}

// TestWireConfigKeepsCredentialsOutOfErrors: OTLP header values and endpoint credentials are
// secrets: a bad value is reported by the variable's name and position, never its content,
// and user:password@ never reaches the gRPC target (whose errors are logged).
func TestWireConfigKeepsCredentialsOutOfErrors(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	for _, tc := range []struct{ k, v string }{
		{"OTEL_EXPORTER_OTLP_HEADERS", "api-key=" + secret + "%zz"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "x=1,Bearer " + secret},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://user:" + secret + "@bad host:4317"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://user:" + secret + "@collector:4317"},
		// A password with a '/' in it: the userinfo does not end at the first '/'.
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://user:ab/" + secret + "@bad host:4317"},
	} {
		for _, k := range []string{"ENDPOINT", "HEADERS"} {
			t.Setenv("OTEL_EXPORTER_OTLP_"+k, "")
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_"+k, "")
		}
		t.Setenv(tc.k, tc.v)
		_, err := WireConfigFromEnv()
		if err == nil {
			t.Fatalf("%s=%q: want an error", tc.k, tc.v)
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), tc.k) {
			t.Errorf("%s: the error must name the variable and not show the secret: %v", tc.k, err)
		}
	}
	for _, k := range []string{"ENDPOINT", "HEADERS"} {
		t.Setenv("OTEL_EXPORTER_OTLP_"+k, "")
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_"+k, "")
	}
	for _, v := range []string{"user:" + secret + "@collector:4317", "user:ab/" + secret + "@collector:4317"} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", v)
		cfg, err := WireConfigFromEnv()
		if err != nil || cfg.Endpoint != "collector:4317" {
			t.Fatalf("endpoint %q, %v: want collector:4317 without the credentials", cfg.Endpoint, err)
		}
	}
}

// recsvcBatch is 512 spans shaped like recsvc's (a server span and three children per request).
func recsvcBatch(b *testing.B) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "recsvc"), attribute.String("host.name", "pod-1"))))
	tr := tp.Tracer("github.com/recobs/recobs/recsvc")
	for range 128 {
		ctx, root := tr.Start(context.Background(), "recommendation_pipeline", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/v1/recommendations"),
				attribute.StringSlice("http.request.header.x-request-id", []string{"7d3f6a0e5c2b4a19b1f0c8e2d4a6b8c0"})))
		for _, name := range []string{"geospatial_query", "feature_enrichment", "ml_inference"} {
			_, c := tr.Start(ctx, name)
			c.SetAttributes(attribute.Int("candidates_found", 42), attribute.Bool("cache_hit", true), attribute.String("h3.cell", "8828308281fffff"))
			c.End()
		}
		root.SetAttributes(attribute.Float64("location.lat", 37.7749), attribute.Float64("location.lng", -122.4194),
			attribute.Float64("radius_km", 2), attribute.String("category", "cafe"), attribute.Int("limit", 10),
			attribute.Int64("user_id", 12345), attribute.String("location_region", "us-west"), attribute.String("user_segment", "regular"),
			attribute.Int("http.response.status_code", 200))
		root.End()
	}
	_ = tp.Shutdown(context.Background())
	return rec.Ended()
}

// BenchmarkEncode512Spans: our encoder against the stock path (transform to protobuf structs,
// then marshal, as otlptracegrpc does before gRPC sends the bytes).
func BenchmarkEncode512Spans(b *testing.B) {
	spans := recsvcBatch(b)
	b.Run("wire", func(b *testing.B) {
		var enc wireEncoder
		b.ReportAllocs()
		for b.Loop() {
			b.SetBytes(int64(len(enc.request(spans))))
		}
	})
	b.Run("sdk", func(b *testing.B) {
		client := &capturingClient{}
		stock, _ := otlptrace.New(context.Background(), client)
		b.ReportAllocs()
		for b.Loop() {
			client.got = client.got[:0]
			_ = stock.ExportSpans(context.Background(), spans)
			raw, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: client.got})
			b.SetBytes(int64(len(raw)))
		}
	})
}

// TestWireEncodingRandomSpans: random attribute sets (every type, values from empty to 70 KB,
// so lengths of one to three varint bytes at every nesting level), events and links, compared
// with the stock transformation span by span.
func TestWireEncodingRandomSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		n := []int{0, 1, 127, 128, 300, 16383, 16384, 70000}[rng.IntN(8)]
		return strings.Repeat(string(rune('a'+rng.IntN(26))), n)
	}
	var value func(depth int) attribute.Value
	value = func(depth int) attribute.Value {
		switch rng.IntN(11) {
		case 0:
			return attribute.BoolValue(rng.IntN(2) == 0)
		case 1:
			return attribute.Int64Value(rng.Int64() - rng.Int64())
		case 2:
			return attribute.Float64Value(rng.NormFloat64() * 1e6)
		case 3:
			return attribute.BoolSliceValue([]bool{true, false, rng.IntN(2) == 0})
		case 4:
			return attribute.Int64SliceValue([]int64{rng.Int64(), -1, 0})
		case 5:
			return attribute.Float64SliceValue([]float64{rng.Float64(), 0})
		case 6:
			return attribute.StringSliceValue([]string{str(), str()})
		case 7:
			return attribute.ByteSliceValue([]byte(str()))
		case 8:
			if depth < 3 {
				return attribute.SliceValue(value(depth+1), value(depth+1))
			}
		case 9:
			if depth < 3 {
				return attribute.MapValue(attribute.KeyValue{Key: "k", Value: value(depth + 1)}, attribute.KeyValue{Key: attribute.Key(str()), Value: value(depth + 1)})
			}
		}
		return attribute.StringValue(str())
	}
	attrs := func() []attribute.KeyValue {
		kvs := make([]attribute.KeyValue, rng.IntN(6))
		for i := range kvs {
			kvs[i] = attribute.KeyValue{Key: attribute.Key(fmt.Sprintf("k%d-%d", i, rng.IntN(1000))), Value: value(0)}
		}
		return kvs
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(resource.NewSchemaless(attrs()...)))
	tr := tp.Tracer("random")
	for range 200 {
		var links []trace.Link
		for range rng.IntN(3) {
			links = append(links, trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{byte(rng.IntN(255) + 1)}, SpanID: trace.SpanID{byte(rng.IntN(255) + 1)}, Remote: rng.IntN(2) == 0}), Attributes: attrs()})
		}
		_, s := tr.Start(context.Background(), str(), trace.WithAttributes(attrs()...), trace.WithLinks(links...), trace.WithSpanKind(trace.SpanKind(rng.IntN(7))))
		for range rng.IntN(3) {
			s.AddEvent(str(), trace.WithAttributes(attrs()...))
		}
		s.SetStatus(codes.Code(rng.IntN(3)), str())
		s.End()
	}
	_ = tp.Shutdown(context.Background())
	spans := rec.Ended()

	client := &capturingClient{}
	stock, err := otlptrace.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	var enc wireEncoder
	for i := range spans {
		client.got = nil
		if err := stock.ExportSpans(context.Background(), spans[i:i+1]); err != nil {
			t.Fatal(err)
		}
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(enc.request(spans[i:i+1]), &got); err != nil {
			t.Fatalf("span %d: %v", i, err)
		}
		if want := (&coltracepb.ExportTraceServiceRequest{ResourceSpans: client.got}); !proto.Equal(&got, want) {
			t.Fatalf("span %d differs:\nours:  %.2000v\nstock: %.2000v", i, &got, want)
		}
	}
	_ = stock.Shutdown(context.Background())
}

// TestWirePingReachesTheReceiver: a ping is one OTLP export with no spans, answered by a
// receiver that is up and failing when none listens.
func TestWirePingReachesTheReceiver(t *testing.T) {
	srv, addr := startTraceServer(t, 0)
	exp, err := NewWireExporter(WireConfig{Endpoint: addr, Insecure: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	if err := exp.Ping(context.Background()); err != nil {
		t.Fatalf("ping of a receiver that is up: %v", err)
	}
	srv.mu.Lock()
	if len(srv.requests) != 1 || len(srv.requests[0].ResourceSpans) != 0 {
		t.Errorf("want one export with no spans, got %d requests", len(srv.requests))
	}
	srv.mu.Unlock()
	nobody := exporterToNobody(t, time.Second)
	defer nobody.Shutdown(context.Background())
	if err := nobody.Ping(context.Background()); err == nil {
		t.Fatal("a ping to nobody succeeded")
	}
}
