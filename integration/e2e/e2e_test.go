// Package e2e runs the whole pod against the real backends: recsvc writing its log file and
// exporting spans to the real otelcol-recobs binary (built from collector/ and run with
// otelcol.yaml), which ships logs to Elasticsearch, traces to Jaeger and recsvc's scraped
// metrics to Prometheus. Every request must be found in all three, exactly once.
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
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

type sent struct {
	requestID, traceID string
	status             int
}

func TestPodEndToEnd(t *testing.T) {
	esURL, promURL, jaegerURL := testenv.ElasticsearchURL(t), testenv.PrometheusURL(t), testenv.JaegerURL(t)
	jaegerOTLP := testenv.JaegerOTLPGRPC(t)
	colBin, svcBin := proctest.Build(t, "../../collector", "otelcol-recobs"), proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc")
	dir := t.TempDir()
	otlp, recsvcAddr, health := proctest.FreePort(t), proctest.FreePort(t), proctest.FreePort(t)
	selfPort := strings.Split(proctest.FreePort(t), ":")[1]

	col := proctest.Start(t, "collector", colBin, []string{"--config", "../../otelcol.yaml"}, map[string]string{
		"RECOBS_HEALTH_ADDR":          health,
		"RECOBS_STORAGE_DIR":          filepath.Join(dir, "storage"),
		"RECSVC_LOG_GLOB":             filepath.Join(dir, "logs", "*.log"),
		"RECOBS_OTLP_GRPC_ADDR":       otlp,
		"RECOBS_OTLP_HTTP_ADDR":       proctest.FreePort(t),
		"RECOBS_SELF_METRICS_PORT":    selfPort,
		"RECOBS_SELF_SCRAPE_INTERVAL": "1s",
		"RECSVC_METRICS_TARGET":       recsvcAddr,
		"RECSVC_PPROF_TARGET":         proctest.FreePort(t), // recsvc runs without its admin address here
		"RECSVC_SCRAPE_INTERVAL":      "1s",
		"RECOBS_ES_REPLICAS":          "0",
		"ES_URL":                      esURL,
		"JAEGER_OTLP_GRPC":            jaegerOTLP,
		"PROM_REMOTE_WRITE_URL":       promURL + "/api/v1/write",
		"RECOBS_RED_FLUSH_INTERVAL":   "1s",
	}, "http://"+health+"/status")
	defer col.Stop(t)

	run := testenv.UniqueName("e2e-")

	svc := proctest.Start(t, "recsvc", svcBin, nil, map[string]string{
		"RECSVC_ADDR": recsvcAddr, "RECSVC_ADMIN_ADDR": "", "RECSVC_LOG_FILE": filepath.Join(dir, "logs", "recsvc.log"),
		"RECSVC_ALLOW_FAULT_HEADER": "true", "RECSVC_PLACES_PER_CITY": "200",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + otlp, "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=e2e,service.instance.id=" + run,
	}, "http://"+recsvcAddr+"/health/ready")

	client := http.Client{Timeout: 10 * time.Second}
	var reqs []sent
	// A first wave of every kind, and later (once the first wave's spans are counted) a few
	// more valid requests, so the span counters increase between two samples: Jaeger's
	// Monitor tab shows rates.
	const valid, invalid, failing, later = 24, 3, 3, 4
	send := func(i int) {
		q := fmt.Sprintf("lat=%.4f&lng=-122.4194&radius_km=2&user_id=%d", 37.77+float64(i)*0.001, i)
		fault := ""
		switch {
		case i >= valid+invalid+failing: // the later wave: valid
		case i >= valid+invalid:
			fault = "error"
		case i >= valid:
			q = "lat=123&lng=0"
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+recsvcAddr+"/v1/recommendations?"+q, nil)
		rid := fmt.Sprintf("%s-%02d", run, i)
		req.Header.Set("X-Request-ID", rid)
		if fault != "" {
			req.Header.Set("X-Recsvc-Fault", fault)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			TraceID string `json:"trace_id"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		reqs = append(reqs, sent{rid, body.TraceID, res.StatusCode})
	}
	for i := range valid + invalid + failing {
		send(i)
	}

	// Metrics: recsvc's own counters, scraped by the sidecar, in the real Prometheus.
	query := func(q string) string {
		var r struct {
			Data struct{ Result []struct{ Value [2]any } }
		}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
			return ""
		}
		v, _ := r.Data.Result[0].Value[1].(string)
		return v
	}
	inst := fmt.Sprintf(`{job="recsvc",instance=%q}`, recsvcAddr)
	testenv.Eventually(t, 60*time.Second, func() bool {
		return query("sum(recommendation_requests_total"+inst+")") == fmt.Sprint(valid+failing)
	}, "recommendation_requests_total%s = %q, want %d", inst, query("sum(recommendation_requests_total"+inst+")"), valid+failing)
	testenv.Eventually(t, 30*time.Second, func() bool {
		return query(`sum(recommendation_errors_total{job="recsvc",instance="`+recsvcAddr+`",kind="invalid_request"})`) == fmt.Sprint(invalid) &&
			query("recommendation_latency_seconds_count"+inst) == fmt.Sprint(valid+invalid+failing)
	}, "error and latency counts in Prometheus")

	sm := fmt.Sprintf(`job="recsvc",instance=%q,span_kind="SPAN_KIND_SERVER"`, run)
	testenv.Eventually(t, 60*time.Second, func() bool { return query("sum(traces_span_metrics_calls_total{"+sm+"})") != "" },
		"the first wave's spans counted in traces_span_metrics_calls_total")
	for i := range later {
		send(valid + invalid + failing + i)
	}
	client.CloseIdleConnections()
	svc.Stop(t) // graceful: flushes its spans and log lines
	all := valid + invalid + failing + later

	// RED metrics derived from the server spans: every request, the failing ones as errors,
	// and exemplars on the duration buckets pointing at traces that were really sent.
	red := fmt.Sprintf(`{job="recsvc",instance=%q}`, run)
	testenv.Eventually(t, 60*time.Second, func() bool {
		return query("sum(red_requests_total"+red+")") == fmt.Sprint(all) &&
			query("sum(red_errors_total"+red+")") == fmt.Sprint(failing)
	}, "RED: requests %q errors %q, want %d and %d", query("sum(red_requests_total"+red+")"),
		query("sum(red_errors_total"+red+")"), all, failing)
	// The same spans as contrib's spanmetrics connector counts them (red_metrics/spanmetrics),
	// and Jaeger's Monitor tab reading them from Prometheus.
	testenv.Eventually(t, 60*time.Second, func() bool {
		return query("sum(traces_span_metrics_calls_total{"+sm+"})") == fmt.Sprint(all) &&
			query("sum(traces_span_metrics_calls_total{"+sm+`,status_code="STATUS_CODE_ERROR"})`) == fmt.Sprint(failing) &&
			query("sum(traces_span_metrics_duration_milliseconds_count{"+sm+"})") == fmt.Sprint(all)
	}, "spanmetrics: calls %q errors %q, want %d and %d", query("sum(traces_span_metrics_calls_total{"+sm+"})"),
		query("sum(traces_span_metrics_calls_total{"+sm+`,status_code="STATUS_CODE_ERROR"})`), all, failing)
	// monitor counts the points of recsvc's server spans Jaeger's Monitor tab would draw: a
	// number (not NaN) above min.
	monitor := func(metric string, min float64) (points int) {
		q := url.Values{"service": {"recsvc"}, "spanKind": {"server"}, "endTs": {fmt.Sprint(time.Now().UnixMilli())},
			"lookback": {"600000"}, "step": {"5000"}, "ratePer": {"60000"}, "quantile": {"0.95"}}
		var r struct {
			Metrics []struct {
				MetricPoints []struct {
					GaugeValue struct{ DoubleValue any } `json:"gaugeValue"`
				} `json:"metricPoints"`
			} `json:"metrics"`
		}
		if proctest.GetJSON(jaegerURL+"/api/metrics/"+metric+"?"+q.Encode(), &r) != nil {
			return 0
		}
		for _, m := range r.Metrics {
			for _, p := range m.MetricPoints {
				if v, ok := p.GaugeValue.DoubleValue.(float64); ok && v > min {
					points++
				}
			}
		}
		return points
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		return monitor("calls", 0) > 0 && monitor("latencies", 0) > 0 && monitor("errors", -1) > 0
	},
		"Jaeger's Monitor tab (/api/metrics): %d call-rate, %d latency, %d error-rate points", monitor("calls", 0), monitor("latencies", 0), monitor("errors", -1))
	var ex struct {
		Data []struct {
			Exemplars []struct{ Labels map[string]string }
		}
	}
	now := time.Now().Unix()
	exq := url.Values{"query": {"red_duration_seconds_bucket" + red}, "start": {fmt.Sprint(now - 300)}, "end": {fmt.Sprint(now + 60)}}
	if err := proctest.GetJSON(promURL+"/api/v1/query_exemplars?"+exq.Encode(), &ex); err != nil {
		t.Fatal(err)
	}
	sentTraces := map[string]bool{}
	for _, r := range reqs {
		sentTraces[r.traceID] = true
	}
	found := 0
	for _, d := range ex.Data {
		for _, e := range d.Exemplars {
			if !sentTraces[e.Labels["trace_id"]] {
				t.Errorf("exemplar trace %s is not one of the requests sent", e.Labels["trace_id"])
			}
			found++
		}
	}
	if found == 0 {
		t.Error("no exemplar on red_duration_seconds_bucket")
	}
	checkDashboardMetricsExist(t, promURL)

	// Logs: every request's documents in today's index, once, carrying the trace id.
	type hit struct {
		ID     string `json:"_id"`
		Source struct {
			RequestID string `json:"request_id"`
			Event     string `json:"event"`
			TraceID   string `json:"trace.id"`
		} `json:"_source"`
	}
	var hits []hit
	today := "recommendations-" + time.Now().UTC().Format("2006.01.02")
	search := fmt.Sprintf(`{"size":1000,"query":{"prefix":{"request_id":%q}}}`, run+"-")
	wantDocs := all + invalid + failing // one request line each, plus invalid_request / request_failed
	testenv.Eventually(t, 60*time.Second, func() bool {
		var r struct {
			Hits struct{ Hits []hit }
		}
		if proctest.PostJSON(esURL+"/"+today+"/_search", search, &r) != nil {
			return false
		}
		hits = r.Hits.Hits
		return len(hits) >= wantDocs
	}, "want %d documents for %s in %s, have %d", wantDocs, run, today, len(hits))
	perRequest := map[string]int{}
	ids := map[string]bool{}
	for _, h := range hits {
		ids[h.ID] = true
		if h.Source.Event == "recommendation_request" {
			perRequest[h.Source.RequestID]++
		}
	}
	if len(hits) != wantDocs || len(ids) != wantDocs {
		t.Errorf("want %d distinct documents, got %d hits with %d ids", wantDocs, len(hits), len(ids))
	}
	for _, r := range reqs {
		if perRequest[r.requestID] != 1 {
			t.Errorf("%s: %d recommendation_request documents, want 1", r.requestID, perRequest[r.requestID])
		}
	}
	for _, h := range hits {
		for _, r := range reqs {
			if r.requestID == h.Source.RequestID && r.traceID != "" && h.Source.TraceID != r.traceID {
				t.Errorf("%s: document trace.id %s, response trace_id %s", r.requestID, h.Source.TraceID, r.traceID)
			}
		}
	}

	// Traces: each served request's trace in Jaeger with all four spans.
	for _, r := range reqs {
		if r.status == 400 {
			continue
		}
		var tr struct {
			Data []struct {
				Spans []struct{ OperationName string }
			}
		}
		testenv.Eventually(t, 30*time.Second, func() bool {
			return proctest.GetJSON(jaegerURL+"/api/traces/"+r.traceID, &tr) == nil && len(tr.Data) == 1 && len(tr.Data[0].Spans) == 4
		}, "trace %s of %s (status %d) not complete in Jaeger", r.traceID, r.requestID, r.status)
	}

	// Accountability, from the collector's own metrics in Prometheus: every log record the
	// receiver accepted was sent by the Elasticsearch exporter (the queue is empty by now).
	// The collector's series carry its own service.instance.id (printed in its log lines).
	m := regexp.MustCompile(`"service.instance.id": "([0-9a-f-]{36})"`).FindStringSubmatch(col.Output())
	if m == nil {
		t.Fatalf("no service.instance.id in the collector's output:\n%s", col.Output())
	}
	self := fmt.Sprintf(`{job="otelcol-recobs",instance=%q}`, m[1])
	accepted := `sum(otelcol_receiver_accepted_log_records_total` + self + `)`
	sentLogs := `sum(otelcol_exporter_sent_log_records_total` + self[:len(self)-1] + `,exporter="recobs_elasticsearch"})`
	// (recsvc's own start and stop lines are accepted too: at least wantDocs.)
	testenv.Eventually(t, 60*time.Second, func() bool {
		a, s := query(accepted), query(sentLogs)
		n, err := strconv.Atoi(a)
		return err == nil && a == s && n >= wantDocs
	}, "collector self-metrics: accepted %q, sent %q, want equal and at least %d", query(accepted), query(sentLogs), wantDocs)
}
