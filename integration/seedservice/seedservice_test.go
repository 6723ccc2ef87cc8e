// Package seedservice runs a service written the seed's way — Python, the seed's structlog
// block, the OTel SDK exporting over OTLP gRPC, no hex trace id in its lines — beside the
// sidecar with the shipped otelcol.yaml (only its glob, ports, backends and the service's name
// set), and checks that every one of its requests joins exactly: each line once in
// Elasticsearch with its span's trace id, tracebacks with their lines, its traces in Jaeger,
// its RED series in Prometheus.
package seedservice

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...)
}

// scenario is what the service does for a request, and the events it logs for it.
type scenario struct {
	name   string
	status int
	events []string
}

var (
	ok       = scenario{"ok", 200, []string{"cache_lookup", "recommendation_request"}}
	failing  = scenario{"error", 500, []string{"cache_lookup", "recommendation_failed"}}
	slow     = scenario{"slow", 200, []string{"cache_lookup", "slow_request", "recommendation_request"}}
	critical = scenario{"critical", 503, []string{"cache_lookup", "model_unavailable"}}
)

// doc is what the test reads of a stored document.
type doc struct {
	ID     string `json:"_id"`
	Source struct {
		Event        string         `json:"event"`
		RequestID    string         `json:"request_id"`
		TraceID      string         `json:"trace.id"`
		Level        string         `json:"log.level"`
		Category     string         `json:"category"`
		Tags         []string       `json:"tags"`
		ParseError   string         `json:"log.parse_error"`
		Continuation string         `json:"log.continuation"`
		StackTrace   string         `json:"error.stack_trace"`
		Service      string         `json:"service.name"`
		UserID       string         `json:"user.id"`
		Attributes   map[string]any `json:"attributes"`
	} `json:"_source"`
}

func TestSeedStyleServiceJoinsExactly(t *testing.T) {
	esURL, promURL, jaegerURL := testenv.ElasticsearchURL(t), testenv.PrometheusURL(t), testenv.JaegerURL(t)
	python := testenv.SeedPython(t)
	run := testenv.UniqueName("seed-")
	pod := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "JAEGER_OTLP_GRPC": testenv.JaegerOTLPGRPC(t), "PROM_REMOTE_WRITE_URL": promURL + "/api/v1/write",
		"RECOBS_RED_FLUSH_INTERVAL": "1s", "RECOBS_SERVICE_NAME": run,
	})
	col := pod.Start(t)
	defer col.Stop(t)

	addr := proctest.FreePort(t)
	logFile := run + ".log"
	svc := proctest.Start(t, "seed-service", python, []string{"app/service.py"}, map[string]string{
		"SEED_LOG_FILE": filepath.Join(pod.LogDir(), logFile), "SEED_PORT": strings.Split(addr, ":")[1],
		"OTEL_SERVICE_NAME": run, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + pod.Env["RECOBS_OTLP_GRPC_ADDR"],
		"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=" + run, "PYTHONUNBUFFERED": "1",
	}, "http://"+addr+"/healthz")

	// 60 requests: every tenth fails in ml_inference (logger.exception), one is slow (a
	// warning), one meets a critical error.
	const n = 60
	sent := map[string]scenario{}
	client := http.Client{Timeout: 10 * time.Second}
	for i := range n {
		sc := ok
		switch {
		case i%10 == 9:
			sc = failing
		case i == 3:
			sc = slow
		case i == 5:
			sc = critical
		}
		id := fmt.Sprintf("%s-%03d", run, i)
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/recommendations?user_id=%d&lat=37.77%d&lng=-122.41&scenario=%s", addr, 1000+i, i%10, sc.name), nil)
		req.Header.Set("X-Request-ID", id)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != sc.status {
			t.Fatalf("%s (%s): status %d, want %d", id, sc.name, res.StatusCode, sc.status)
		}
		sent[id] = sc
	}
	client.CloseIdleConnections()
	svc.Stop(t) // SIGTERM: the SDK exports the spans it still holds

	// Jaeger is the truth for each request's trace: its server span carries the request ID.
	traceOf := map[string]string{}
	testenv.Eventually(t, 60*time.Second, func() bool {
		traceOf = jaegerTraces(t, jaegerURL, run)
		return len(traceOf) == n
	}, "want %d complete traces (4 spans each) of %s in Jaeger, have %d", n, run, len(traceOf))

	// Elasticsearch: every line once, each with its request's trace id.
	want := 1 // service_started
	for _, sc := range sent {
		want += len(sc.events)
	}
	var docs []doc
	search := fmt.Sprintf(`{"size":1000,"query":{"term":{"log.file.name":%q}}}`, logFile)
	testenv.Eventually(t, 60*time.Second, func() bool {
		var r struct{ Hits struct{ Hits []doc } }
		if proctest.PostJSON(esURL+"/recommendations-*/_search", search, &r) != nil {
			return false
		}
		docs = r.Hits.Hits
		return len(docs) >= want
	}, "want %d documents from %s, have %d", want, logFile, len(docs))
	if len(docs) != want {
		t.Fatalf("%d documents for %d lines", len(docs), want)
	}
	events := map[string][]string{}
	for _, d := range docs {
		s := d.Source
		if s.ParseError != "" || s.Attributes["correlation.unmatched"] != nil {
			t.Errorf("%s %s: flagged %q, unmatched %v", s.RequestID, s.Event, s.ParseError, s.Attributes["correlation.unmatched"])
		}
		if s.Service != run {
			t.Errorf("%s %s: service.name %q, want %q (the service's OTEL_SERVICE_NAME)", s.RequestID, s.Event, s.Service, run)
		}
		if s.RequestID == "" {
			if s.Event != "service_started" {
				t.Errorf("a line without a request ID: %+v", s)
			}
			continue
		}
		events[s.RequestID] = append(events[s.RequestID], s.Event)
		if s.TraceID == "" || s.TraceID != traceOf[s.RequestID] {
			t.Errorf("%s %s: trace.id %q, Jaeger's trace %q", s.RequestID, s.Event, s.TraceID, traceOf[s.RequestID])
		}
		checkEvent(t, d)
	}
	for id, sc := range sent {
		got := slices.Sorted(slices.Values(events[id]))
		if wantEvents := slices.Sorted(slices.Values(sc.events)); !slices.Equal(got, wantEvents) {
			t.Errorf("%s (%s): events %v, want %v", id, sc.name, got, wantEvents)
		}
	}

	// The lines without trace context (all but recommendation_request) were joined by their
	// request ID, most after waiting for the SDK's export; the recommendation_request lines
	// carried the trace id in correlation_id and never went through the table.
	waited := 0
	for _, sc := range sent {
		for _, e := range sc.events {
			if e != "recommendation_request" {
				waited++
			}
		}
	}
	port := pod.Env["RECOBS_SELF_METRICS_PORT"]
	outcome := func(o string) int {
		v, _ := proctest.SelfMetric(port, "recobs_correlation_log_records", map[string]string{"outcome": o})
		return int(v)
	}
	if got := outcome("matched") + outcome("matched_after_wait"); got != waited || outcome("unmatched") != 0 {
		t.Errorf("joined by request ID: %d (%d after waiting), unmatched %d; want exactly the %d lines without trace context",
			got, outcome("matched_after_wait"), outcome("unmatched"), waited)
	}

	// RED: every request counted from its server span, the failing and critical ones as errors.
	query := func(q string) string {
		var r struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
			return ""
		}
		return fmt.Sprint(r.Data.Result[0].Value[1])
	}
	red := fmt.Sprintf(`{job=%q}`, run)
	errors := 0
	for _, sc := range sent {
		if sc.status >= 500 {
			errors++
		}
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		return query("sum(red_requests_total"+red+")") == fmt.Sprint(n) && query("sum(red_errors_total"+red+")") == fmt.Sprint(errors)
	}, "RED: requests %q errors %q, want %d and %d", query("sum(red_requests_total"+red+")"), query("sum(red_errors_total"+red+")"), n, errors)
}

// checkEvent checks what the design says of each event: levels, the error tag, categories,
// the traceback kept with its line, the correlation_id's digits.
func checkEvent(t *testing.T, d doc) {
	t.Helper()
	s := d.Source
	want, ok := map[string][2]string{ // level, category
		"cache_lookup": {"info", "infrastructure"}, "recommendation_request": {"info", "business"}, "recommendation_failed": {"error", "business"},
		"slow_request": {"warn", "performance"}, "model_unavailable": {"fatal", "ml"},
	}[s.Event]
	if !ok {
		t.Errorf("unexpected event %q", s.Event)
		return
	}
	wantLevel, wantCategory := want[0], want[1]
	if s.Level != wantLevel || s.Category != wantCategory {
		t.Errorf("%s %s: level %q category %q, want %q %q", s.RequestID, s.Event, s.Level, s.Category, wantLevel, wantCategory)
	}
	if isError := wantLevel == "error" || wantLevel == "fatal"; isError != slices.Contains(s.Tags, "error") {
		t.Errorf("%s %s: tags %v", s.RequestID, s.Event, s.Tags)
	}
	switch s.Event {
	case "recommendation_failed":
		// structlog's exception field and the traceback the stdlib handler appended: both
		// on the line's own document.
		if !strings.HasPrefix(s.Continuation, "Traceback (most recent call last):") || !strings.HasSuffix(s.Continuation, "ModelError: score is NaN for user "+s.UserID) ||
			s.Continuation != s.StackTrace {
			t.Errorf("%s: traceback %q, stack trace %q", s.RequestID, s.Continuation, s.StackTrace)
		}
	case "recommendation_request":
		digits, _ := s.Attributes["correlation_id"].(string)
		n, ok := new(big.Int).SetString(digits, 10)
		if !ok || fmt.Sprintf("%032x", n) != s.TraceID {
			t.Errorf("%s: correlation_id %v is not trace %s, digits exact", s.RequestID, s.Attributes["correlation_id"], s.TraceID)
		}
	default:
		if s.Continuation != "" {
			t.Errorf("%s %s: a continuation %q", s.RequestID, s.Event, s.Continuation)
		}
	}
}

// jaegerTraces maps each request ID of service to its trace, for the traces Jaeger has with
// all four of the seed's spans.
func jaegerTraces(t *testing.T, jaegerURL, service string) map[string]string {
	t.Helper()
	var r struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				OperationName string `json:"operationName"`
				Tags          []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
			} `json:"spans"`
		} `json:"data"`
	}
	q := url.Values{"service": {service}, "limit": {"1000"}, "lookback": {"1h"}}
	if err := proctest.GetJSON(jaegerURL+"/api/traces?"+q.Encode(), &r); err != nil {
		return nil
	}
	out := map[string]string{}
	for _, tr := range r.Data {
		var names []string
		requestID := ""
		for _, s := range tr.Spans {
			names = append(names, s.OperationName)
			if s.OperationName != "recommendation_pipeline" {
				continue
			}
			for _, tag := range s.Tags {
				if tag.Key == "http.request.header.x-request-id" {
					requestID = requestIDOf(tag.Value)
				}
			}
		}
		slices.Sort(names)
		if requestID != "" && slices.Equal(names, []string{"feature_enrichment", "geospatial_query", "ml_inference", "recommendation_pipeline"}) {
			out[requestID] = tr.TraceID
		}
	}
	return out
}

// requestIDOf reads the request ID from the tag Jaeger shows for a string-array attribute
// (a JSON array in a string).
func requestIDOf(v any) string {
	s, _ := v.(string)
	var arr []string
	if json.Unmarshal([]byte(s), &arr) == nil && len(arr) > 0 {
		return arr[0]
	}
	return s
}

// TestIdenticalOTLPRecordsKeptARetryStoredOnce: an OTLP/HTTP request carrying the same record
// twice (a service logging cache_miss twice in one millisecond) stores both; the same request
// sent again, as a retrying client does, stores nothing more.
func TestIdenticalOTLPRecordsKeptARetryStoredOnce(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	col := pod.Start(t)
	defer col.Stop(t)

	run := testenv.UniqueName("otlp-")
	now := time.Now().UnixNano()
	record := func(body string) string {
		return fmt.Sprintf(`{"timeUnixNano":"%d","severityText":"INFO","body":{"stringValue":%q},"attributes":[{"key":"otlp_run","value":{"stringValue":%q}}]}`, now, body, run)
	}
	request := fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":%q}}]},"scopeLogs":[{"scope":{"name":"app"},"logRecords":[%s,%s,%s]}]}]}`,
		run, record("cache_miss"), record("cache_miss"), record("cache_hit"))
	for range 2 { // the second is the client's retry
		res, err := http.Post("http://"+pod.Env["RECOBS_OTLP_HTTP_ADDR"]+"/v1/logs", "application/json", strings.NewReader(request))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("OTLP/HTTP: %s", res.Status)
		}
	}
	port := pod.Env["RECOBS_SELF_METRICS_PORT"]
	count := func() int {
		var r struct{ Count int }
		_ = proctest.PostJSON(esURL+"/recommendations-*/_count", fmt.Sprintf(`{"query":{"term":{"attributes.otlp_run":%q}}}`, run), &r)
		return r.Count
	}
	duplicates := func() int {
		v, _ := proctest.SelfMetric(port, "recobs_elasticsearch_documents_duplicate", nil)
		return int(v)
	}
	testenv.Eventually(t, 60*time.Second, func() bool { return count() == 3 && duplicates() == 3 },
		"want the 3 records of the request stored and its 3 resent ones absorbed; stored %d, absorbed %d", count(), duplicates())
}
