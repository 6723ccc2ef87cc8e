// Package scaleout shows the shape past one machine on loopback: a sidecar hands traces and
// its correlated logs to Kafka keyed by trace ID; two gateway processes of the same
// distribution share the partitions in one consumer group, derive RED metrics and ship logs.
// Correlation and RED numbers must stay exact although the traffic is split.
package scaleout

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...)
}

type node struct {
	proc *proctest.Process
	env  map[string]string
}

func startNode(t *testing.T, bin, name, config string, env map[string]string) *node {
	t.Helper()
	dir := t.TempDir()
	health := proctest.FreePort(t)
	full := map[string]string{
		"RECOBS_STORAGE_DIR":       filepath.Join(dir, "storage"),
		"RECOBS_HEALTH_ADDR":       health,
		"RECOBS_SELF_METRICS_PORT": strings.Split(proctest.FreePort(t), ":")[1],
	}
	for k, v := range env {
		full[k] = v
	}
	p := proctest.Start(t, name, bin, []string{"--config", config}, full, "http://"+health+"/status")
	t.Cleanup(func() { p.Stop(t) })
	return &node{proc: p, env: full}
}

// assigned is how many partitions the gateway's Kafka receiver holds now.
func (n *node) assigned() int {
	port := n.env["RECOBS_SELF_METRICS_PORT"]
	start, err1 := proctest.SelfMetric(port, "otelcol_kafka_receiver_partition_start", nil)
	closed, err2 := proctest.SelfMetric(port, "otelcol_kafka_receiver_partition_close", nil)
	if err1 != nil {
		return 0
	}
	if err2 != nil {
		closed = 0
	}
	return int(start - closed)
}

func TestGatewaysSplitByTraceIDStayExact(t *testing.T) {
	brokers, esURL, promURL := testenv.KafkaBrokers(t), testenv.ElasticsearchURL(t), testenv.PrometheusURL(t)
	// Each tier runs its own distribution, as deployed: the pod's sidecar and the gateway.
	bin := proctest.Build(t, "../../collector/kafka", "otelcol-recobs-kafka")
	gatewayBin := proctest.Build(t, "../../collector/gateway", "otelcol-recobs-gateway")
	run := testenv.UniqueName("scale-")
	common := map[string]string{
		"KAFKA_BROKERS":             brokers,
		"RECOBS_KAFKA_TOPIC_PREFIX": run,
		"RECOBS_KAFKA_GROUP":        run,
		"ES_URL":                    esURL,
		"RECOBS_ES_REPLICAS":        "0",
		"PROM_REMOTE_WRITE_URL":     promURL + "/api/v1/write",
		"JAEGER_OTLP_GRPC":          proctest.FreePort(t), // traces to Jaeger are not what this test checks
		"RECOBS_RED_FLUSH_INTERVAL": "1s",
	}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range common {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	logDir := t.TempDir()
	otlp := proctest.FreePort(t)
	sidecar := startNode(t, bin, "sidecar", "../../deploy/scaleout/sidecar.yaml", with(map[string]string{
		"RECSVC_LOG_GLOB": filepath.Join(logDir, "*.log"), "RECOBS_OTLP_GRPC_ADDR": otlp, "RECOBS_CORRELATION_WINDOW": "10s",
	}))
	_ = sidecar
	conn, err := grpc.NewClient(otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	logFile := filepath.Join(logDir, "recsvc.log")
	appendLog := func(lines []string) {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, l := range lines {
			if _, err := f.WriteString(l + "\n"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var runBytes [10]byte
	_, _ = rand.Read(runBytes[:])
	traceID := func(i int) pcommon.TraceID {
		id := pcommon.TraceID{0x5c, byte(i >> 16), byte(i >> 8), byte(i)}
		copy(id[4:], runBytes[:])
		return id
	}
	send := func(service string, from, to int) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		now := time.Now()
		for i := from; i < to; i++ {
			tid := traceID(i)
			root := pcommon.SpanID{1, byte(i >> 16), byte(i >> 8), byte(i)}
			for k, name := range []string{"recommendation_pipeline", "geospatial_query", "feature_enrichment", "ml_inference"} {
				s := spans.AppendEmpty()
				s.SetTraceID(tid)
				s.SetSpanID(pcommon.SpanID{byte(k + 1), byte(i >> 16), byte(i >> 8), byte(i)})
				s.SetName(name)
				s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
				s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(5+i%50) * time.Millisecond)))
				if k == 0 {
					s.SetKind(ptrace.SpanKindServer)
					s.Attributes().PutStr("http.route", "/v1/recommendations")
					s.Attributes().PutEmptySlice("http.request.header.x-request-id").AppendEmpty().SetStr(fmt.Sprintf("%s-%05d", run, i))
					if i%10 == 0 {
						s.Status().SetCode(ptrace.StatusCodeError)
					}
				} else {
					s.SetParentSpanID(root)
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
	logLine := func(requestID string) string {
		return fmt.Sprintf(`{"timestamp":%q,"level":"info","logger":"legacy.api","event":"recommendation_request","request_id":%q,"category":"business"}`,
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), requestID)
	}

	// Warm-up: the topics exist before the gateways join, so the group splits them at once.
	appendLog([]string{logLine(run + "-warmup")})
	send(run+"-warmup", 900_000, 900_001)

	gateways := []*node{
		startNode(t, gatewayBin, "gateway-1", "../../deploy/scaleout/gateway.yaml", with(map[string]string{"RECOBS_GATEWAY_ID": "g1"})),
		startNode(t, gatewayBin, "gateway-2", "../../deploy/scaleout/gateway.yaml", with(map[string]string{"RECOBS_GATEWAY_ID": "g2"})),
	}
	testenv.Eventually(t, 90*time.Second, func() bool {
		a, b := gateways[0].assigned(), gateways[1].assigned()
		return a > 0 && b > 0 && a+b == 16 // 8 partitions for spans, 8 for logs
	}, "the two gateways must share the 16 partitions: %d and %d", gateways[0].assigned(), gateways[1].assigned())

	// The requests: each one's log line first (no trace context: the sidecar must join it by
	// request ID while it waits), then its spans.
	const n = 400
	var lines []string
	for i := range n {
		lines = append(lines, logLine(fmt.Sprintf("%s-%05d", run, i)))
	}
	appendLog(lines)
	for from := 0; from < n; from += 100 {
		send(run, from, from+100)
	}

	query := func(q string) map[string]float64 {
		var r struct {
			Data struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		out := map[string]float64{}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil {
			return out
		}
		for _, res := range r.Data.Result {
			v, _ := strconv.ParseFloat(res.Value[1].(string), 64)
			out[res.Metric["gateway"]] = v
		}
		return out
	}
	total := func(m map[string]float64) (s float64) {
		for _, v := range m {
			s += v
		}
		return s
	}
	requests := fmt.Sprintf(`sum by (gateway) (red_requests_total{job=%q})`, run)
	errs := fmt.Sprintf(`sum by (gateway) (red_errors_total{job=%q})`, run)
	testenv.Eventually(t, 90*time.Second, func() bool { return total(query(requests)) == n && total(query(errs)) == n/10 },
		"RED across gateways: requests %v (want %d), errors %v (want %d)", query(requests), n, query(errs), n/10)
	split := query(requests)
	if len(split) != 2 || split["g1"] == 0 || split["g2"] == 0 {
		t.Errorf("traffic must be split across both gateways: %v", split)
	}

	// Logs: every request's line in Elasticsearch once, stamped with its own trace.
	type hit struct {
		Source struct {
			RequestID string `json:"request_id"`
			TraceID   string `json:"trace.id"`
		} `json:"_source"`
	}
	var hits []hit
	search := fmt.Sprintf(`{"size":1000,"query":{"prefix":{"request_id":"%s-0"}}}`, run)
	testenv.Eventually(t, 90*time.Second, func() bool {
		var r struct{ Hits struct{ Hits []hit } }
		if proctest.PostJSON(esURL+"/recommendations-*/_search", search, &r) != nil {
			return false
		}
		hits = r.Hits.Hits
		return len(hits) >= n
	}, "want %d log documents, have %d", n, len(hits))
	if len(hits) != n {
		t.Fatalf("want exactly %d log documents, got %d", n, len(hits))
	}
	for _, h := range hits {
		var i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(h.Source.RequestID, run+"-"), "%d", &i); err != nil {
			t.Fatalf("request id %q", h.Source.RequestID)
		}
		if h.Source.TraceID != traceID(i).String() {
			t.Errorf("%s: trace.id %q, want %s", h.Source.RequestID, h.Source.TraceID, traceID(i))
		}
	}
	t.Logf("%d requests split across gateways %v: RED exact, every log line joined to its own trace", n, split)
}
