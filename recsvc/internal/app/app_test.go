package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(testenv.IdleHTTPConns(),
		// fasthttp's process-wide Date-header ticker, and its worker-pool janitor, which
		// notices Stop only when its 10 s sleep ends.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))...)
}

func testConfig(t *testing.T) Config {
	return Config{
		Addr: "127.0.0.1:0", LogFile: filepath.Join(t.TempDir(), "recsvc.log"), LogLevel: "info", LogMaxBytes: 10 << 20,
		PlacesPerCity: 200, CacheSize: 100, FeatureRefresh: time.Minute, FeaturesMaxAge: 5 * time.Minute,
		ExporterGrace: time.Minute, ShutdownTimeout: 10 * time.Second, SentrySampleRate: 1, Telemetry: true,
	}
}

func start(t *testing.T, cfg Config, exp sdktrace.SpanExporter) (*App, context.CancelFunc, chan error) {
	t.Helper()
	a, err := New(context.Background(), cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, cancel, done
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	return res.StatusCode, body
}

func countEvents(t *testing.T, path, event string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"event":"`+event+`"`) {
			n++
		}
	}
	return n
}

// TestShutdownFlushesTelemetry: after a graceful stop, every request's spans reached the
// exporter and every log line is in the file.
func TestShutdownFlushesTelemetry(t *testing.T) {
	mem := keepOnShutdown{tracetest.NewInMemoryExporter()}
	cfg := testConfig(t)
	a, cancel, done := start(t, cfg, mem)
	const n = 20
	for i := range n {
		if status, _ := get(t, fmt.Sprintf("http://%s/v1/recommendations?lat=37.7749&lng=-122.4194&user_id=%d", a.Addr(), i)); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(mem.GetSpans()); got != 4*n {
		t.Errorf("want %d spans flushed at shutdown, got %d", 4*n, got)
	}
	if got := countEvents(t, cfg.LogFile, "recommendation_request"); got != n {
		t.Errorf("want %d request lines in the log, got %d", n, got)
	}
	if countEvents(t, cfg.LogFile, "server_stopped") != 1 {
		t.Error("no server_stopped line: logs not flushed at shutdown")
	}
}

// keepOnShutdown keeps the recorded spans: the in-memory exporter forgets them at Shutdown,
// which is exactly when this test needs to look.
type keepOnShutdown struct{ *tracetest.InMemoryExporter }

func (keepOnShutdown) Shutdown(context.Context) error { return nil }

func TestConfigNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"RECSVC_ADDR":            func(c *Config) { c.Addr = "nope" },
		"RECSVC_LOG_LEVEL":       func(c *Config) { c.LogLevel = "loud" },
		"RECSVC_CACHE_SIZE":      func(c *Config) { c.CacheSize = 0 },
		"RECSVC_FEATURE_REFRESH": func(c *Config) { c.FeatureRefresh = 0 },
		"SENTRY_SAMPLE_RATE":     func(c *Config) { c.SentrySampleRate = 2 },
	} {
		cfg := testConfig(t)
		mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	cfg := testConfig(t)
	cfg.ModelFile = filepath.Join(t.TempDir(), "missing.json")
	if _, err := New(context.Background(), cfg, tracetest.NewInMemoryExporter()); err == nil || !strings.Contains(err.Error(), "RECSVC_MODEL_FILE") {
		t.Errorf("a missing model must fail start naming RECSVC_MODEL_FILE: %v", err)
	}
}

// TestSpansReachRealJaeger exports over OTLP to the real Jaeger and finds the request's
// trace, with the pipeline span and its three children, through Jaeger's query API — once
// with our wire encoder (the default) and once with the SDK's stock OTLP exporter.
func TestSpansReachRealJaeger(t *testing.T) {
	endpoint := testenv.JaegerOTLPGRPC(t)
	query := testenv.JaegerURL(t)
	for _, encoder := range []string{"wire", "sdk"} {
		t.Run(encoder, func(t *testing.T) {
			t.Setenv("RECSVC_SPAN_ENCODER", encoder)
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+endpoint)
			exp, err := telemetry.NewOTLPExporter(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checkTraceInJaeger(t, query, exp)
		})
	}
}

func checkTraceInJaeger(t *testing.T, query string, exp sdktrace.SpanExporter) {
	a, cancel, done := start(t, testConfig(t), exp)
	_, body := get(t, "http://"+a.Addr()+"/v1/recommendations?lat=51.5074&lng=-0.1278&radius_km=3&user_id=42")
	traceID, _ := body["trace_id"].(string)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var got struct {
		Data []struct {
			Spans []struct {
				SpanID        string `json:"spanID"`
				OperationName string
				References    []struct {
					SpanID string `json:"spanID"`
				}
				Tags []struct {
					Key   string
					Value any
				}
			}
		}
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		c := http.Client{Timeout: 5 * time.Second}
		res, err := c.Get(query + "/api/traces/" + traceID)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&got) == nil && len(got.Data) == 1 && len(got.Data[0].Spans) == 4
	}, "trace %s with 4 spans not in Jaeger", traceID)
	var rootID string
	for _, s := range got.Data[0].Spans {
		if s.OperationName == "recommendation_pipeline" {
			rootID = s.SpanID
		}
	}
	for _, s := range got.Data[0].Spans {
		if s.OperationName == "recommendation_pipeline" {
			continue
		}
		if len(s.References) != 1 || s.References[0].SpanID != rootID {
			t.Errorf("%s is not a child of recommendation_pipeline", s.OperationName)
		}
	}
}

// TestSentryDSNStaysSecret: a DSN holds a key. One that does not parse fails start naming
// SENTRY_DSN, and neither the error nor the startup_failed log line shows it; a DSN read from a
// secret file with its trailing newline is taken without it.
func TestSentryDSNStaysSecret(t *testing.T) {
	const key = "k3y-s3cr3t"
	cfg := testConfig(t)
	cfg.SentryDSN = "https//" + key + "@o1.example/12"
	_, err := New(context.Background(), cfg, tracetest.NewInMemoryExporter())
	if err == nil || !strings.Contains(err.Error(), "SENTRY_DSN") || strings.Contains(err.Error(), key) {
		t.Fatalf("a bad DSN must fail start naming SENTRY_DSN without its key: %v", err)
	}
	logged, _ := os.ReadFile(cfg.LogFile)
	if !strings.Contains(string(logged), "startup_failed") || strings.Contains(string(logged), key) {
		t.Fatalf("the startup_failed line must not show the DSN's key:\n%s", logged)
	}

	cfg = testConfig(t)
	cfg.SentryDSN = "https://" + key + "@o1.example/12\n"
	_, cancel, done := start(t, cfg, tracetest.NewInMemoryExporter()) // fails the test if New does
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
