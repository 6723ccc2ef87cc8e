package elasticsearchexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

func logsAt(records ...func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "recsvc")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, f := range records {
		f(sl.LogRecords().AppendEmpty())
	}
	return ld
}

func record(ts time.Time, body string, attrs map[string]any) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.Body().SetStr(body)
		lr.SetSeverityText("info")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		if err := lr.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
	}
}

func startExporter(t *testing.T, cfg *Config) *esExporter {
	t.Helper()
	exp, err := newExporter(cfg, exportertest.NewNopSettings(componentType()))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	return exp
}

func componentType() (ct componentTypeT) { return NewFactory().Type() }

// TestRealElasticsearch runs the exporter against the real Elasticsearch: daily routing
// across a UTC midnight, the template on each new index, a replayed batch stored once,
// and a mapping conflict landing in the dead-letter index.
func TestRealElasticsearch(t *testing.T) {
	url := testenv.ElasticsearchURL(t)
	prefix := testenv.UniqueName("recobs-test-")
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{url}
	cfg.Index = prefix + "-%{+YYYY.MM.dd}"
	cfg.DeadLetterIndex = prefix + "-dead-letter"
	cfg.Template = TemplateConfig{Name: prefix, Shards: 1, Replicas: 0}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	es := testenv.ElasticsearchAPI(t, url)
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{prefix + "*"}); err == nil {
			res.Body.Close()
		}
		for _, n := range []string{prefix, prefix + "-dead-letter"} {
			if res, err := es.Indices.DeleteIndexTemplate(n); err == nil {
				res.Body.Close()
			}
		}
	})
	exp := startExporter(t, cfg)
	ctx := context.Background()

	beforeMidnight := time.Date(2026, 11, 27, 23, 59, 59, 999e6, time.UTC)
	afterMidnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	batch := logsAt(
		record(beforeMidnight, "recommendation_request", map[string]any{"request_id": "r1", "shape": map[string]any{"sides": 3}, "location": map[string]any{"lat": 37.7749, "lng": -122.4194}}),
		record(afterMidnight, "recommendation_request", map[string]any{"request_id": "r2", "response_time_ms": 12}),
		record(afterMidnight.Add(time.Millisecond), "recommendation_request", map[string]any{"request_id": "r3", "response_time_ms": 12.5}),
	)
	if err := exp.pushLogs(ctx, batch); err != nil {
		t.Fatalf("first push: %v", err)
	}
	// The same batch again, as after a retry or a queue replayed on restart.
	if err := exp.pushLogs(ctx, batch); err != nil {
		t.Fatalf("replayed push: %v", err)
	}
	// attributes.shape is an object now: a scalar there cannot be indexed, whatever
	// ignore_malformed says (a wrongly typed scalar is only ignored, and kept in _source).
	conflict := logsAt(record(beforeMidnight, "odd_shape", map[string]any{"request_id": "r4", "shape": "round"}))
	if err := exp.pushLogs(ctx, conflict); err != nil {
		t.Fatalf("conflicting push must dead-letter, not fail: %v", err)
	}

	refresh(t, es, prefix+"*")
	day1, day2 := prefix+"-2026.11.27", prefix+"-2026.11.28"
	if n := count(t, es, day1, ""); n != 1 {
		t.Errorf("%s: want 1 document, got %d", day1, n)
	}
	if n := count(t, es, day2, ""); n != 2 {
		t.Errorf("%s: want 2 documents (no duplicate after the replay), got %d", day2, n)
	}
	if n := count(t, es, prefix+"-2026.*", `{"query":{"term":{"request_id":"r4"}}}`); n != 0 {
		t.Errorf("the conflicting document must not be in a daily index, found %d", n)
	}

	// The template gave the new index its mapping.
	res, err := es.Indices.GetMapping(es.Indices.GetMapping.WithIndex(day2))
	if err != nil {
		t.Fatal(err)
	}
	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Type       string         `json:"type"`
				Properties map[string]any `json:"properties"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	decode(t, res, &mapping)
	props := mapping[day2].Mappings.Properties
	if props["location"].Type != "geo_point" || props["@timestamp"].Type != "date_nanos" {
		t.Errorf("template not applied to %s: location=%q @timestamp=%q", day2, props["location"].Type, props["@timestamp"].Type)
	}
	if rt, _ := json.Marshal(props["attributes"].Properties["response_time_ms"]); !strings.Contains(string(rt), `"double"`) {
		t.Errorf("numbers must map as double, got %s", rt)
	}

	// The refused document is retrievable from the dead-letter index, with the reason.
	var hits struct {
		Hits struct {
			Hits []struct {
				Source struct {
					OriginalIndex string                `json:"original_index"`
					Status        int                   `json:"status"`
					Error         struct{ Type string } `json:"error"`
					Document      string                `json:"document"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	res, err = es.Search(es.Search.WithIndex(cfg.DeadLetterIndex))
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res, &hits)
	if len(hits.Hits.Hits) != 1 {
		t.Fatalf("want 1 dead-lettered document, got %d", len(hits.Hits.Hits))
	}
	dl := hits.Hits.Hits[0].Source
	if dl.OriginalIndex != day1 || dl.Status != 400 || !strings.Contains(dl.Error.Type, "parsing_exception") || !strings.Contains(dl.Document, `"r4"`) {
		t.Errorf("dead-letter entry incomplete: %+v", dl)
	}
}

// TestPartialBulkRetry: a 429 on one item of a bulk hands back exactly that record for a retry.
func TestPartialBulkRetry(t *testing.T) {
	var bulks int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			_, _ = io.WriteString(w, `{"acknowledged":true}`)
			return
		}
		bulks++
		body := readBody(r)
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		var items []string
		for i := 0; i < len(lines); i += 2 {
			status := 201
			if i/2 == 2 {
				status = 429
			}
			items = append(items, fmt.Sprintf(`{"create":{"_index":"x","_id":"%d","status":%d}}`, i/2, status))
		}
		fmt.Fprintf(w, `{"errors":true,"items":[%s]}`, strings.Join(items, ","))
	}))
	defer srv.Close()

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.URL}
	exp := startExporter(t, cfg)
	now := time.Now()
	ld := logsAt(
		record(now, "a", map[string]any{"request_id": "1"}),
		record(now, "b", map[string]any{"request_id": "2"}),
		record(now, "c", map[string]any{"request_id": "3"}),
		record(now, "d", map[string]any{"request_id": "4"}),
	)
	err := exp.pushLogs(context.Background(), ld)
	var partial consumererror.Logs
	if !errors.As(err, &partial) {
		t.Fatalf("want a partial-retry error, got %v", err)
	}
	if consumererror.IsPermanent(err) {
		t.Fatal("a 429 must be retryable")
	}
	retry := partial.Data()
	if retry.LogRecordCount() != 1 {
		t.Fatalf("want exactly the throttled record back, got %d", retry.LogRecordCount())
	}
	if got := retry.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str(); got != "c" {
		t.Errorf("want record c (item 3) back, got %q", got)
	}
	if svc, _ := retry.ResourceLogs().At(0).Resource().Attributes().Get("service.name"); svc.Str() != "recsvc" {
		t.Error("the retried record must keep its resource")
	}
}

func refresh(t *testing.T, es *esapi.API, index string) {
	t.Helper()
	res, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(index))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

func count(t *testing.T, es *esapi.API, index, query string) int {
	t.Helper()
	opts := []func(*esCountRequest){es.Count.WithIndex(index)}
	if query != "" {
		opts = append(opts, es.Count.WithBody(strings.NewReader(query)))
	}
	res, err := es.Count(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Count int `json:"count"`
	}
	decode(t, res, &c)
	return c.Count
}

func decode(t *testing.T, res *esResponse, v any) {
	t.Helper()
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s: %s", res.Status(), b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
