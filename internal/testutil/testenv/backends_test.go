package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, IdleHTTPConns()...)
}

// TestElasticsearchRoundTrip shows the real server passes go-elasticsearch's product check
// with no shim, and serves composable index templates, _bulk, _count and _search.
func TestElasticsearchRoundTrip(t *testing.T) {
	es := ElasticsearchAPI(t, ElasticsearchURL(t))
	name := UniqueName("testenv-")
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{name + "-*"}); err == nil {
			res.Body.Close()
		}
		if res, err := es.Indices.DeleteIndexTemplate(name); err == nil {
			res.Body.Close()
		}
	})
	tmpl := fmt.Sprintf(`{"index_patterns":["%s-*"],"priority":500,"template":{"settings":{"number_of_replicas":0},
		"mappings":{"properties":{"request_id":{"type":"keyword"},"n":{"type":"integer"}}}}}`, name)
	ok := esOK(t)
	ok(es.Indices.PutIndexTemplate(name, strings.NewReader(tmpl))).Body.Close()

	index := name + "-2026.11.27"
	var bulk bytes.Buffer
	for i := range 3 {
		fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q,\"_id\":\"doc-%d\"}}\n{\"request_id\":\"r%d\",\"n\":%d}\n", index, i, i, i)
	}
	var br struct{ Errors bool }
	decodeES(t, ok(es.Bulk(&bulk, es.Bulk.WithRefresh("true"))), &br)
	if br.Errors {
		t.Fatal("bulk reported item errors")
	}

	var c struct{ Count int }
	decodeES(t, ok(es.Count(es.Count.WithIndex(index))), &c)
	if c.Count != 3 {
		t.Fatalf("_count: want 3, got %d", c.Count)
	}
	var sr struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			}
		}
	}
	decodeES(t, ok(es.Search(es.Search.WithIndex(index), es.Search.WithBody(strings.NewReader(`{"query":{"term":{"request_id":"r1"}}}`)))), &sr)
	if len(sr.Hits.Hits) != 1 || sr.Hits.Hits[0].ID != "doc-1" {
		t.Fatalf("_search: want doc-1, got %+v", sr.Hits.Hits)
	}
	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct{ Type string }
		}
	}
	decodeES(t, ok(es.Indices.GetMapping(es.Indices.GetMapping.WithIndex(index))), &mapping)
	if got := mapping[index].Mappings.Properties["n"].Type; got != "integer" {
		t.Fatalf("composable template not applied: n mapped as %q", got)
	}
}

// TestPrometheusRemoteWriteAndQuery writes a sample with an exemplar over remote write 1.0
// and reads both back through the HTTP API.
func TestPrometheusRemoteWriteAndQuery(t *testing.T) {
	base := PrometheusURL(t)
	metric := UniqueName("testenv_roundtrip_")
	now := time.Now().UnixMilli()
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:    []prompb.Label{{Name: "__name__", Value: metric}, {Name: "job", Value: "testenv"}},
		Samples:   []prompb.Sample{{Value: 42, Timestamp: now}},
		Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}, Value: 42, Timestamp: now}},
	}}}
	raw, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("remote write: %s: %s", res.Status, body)
	}

	var value string
	Eventually(t, 30*time.Second, func() bool {
		var r struct {
			Data struct {
				Result []struct{ Value [2]any }
			}
		}
		if getJSON(base+"/api/v1/query?query="+url.QueryEscape(metric), &r) != nil || len(r.Data.Result) == 0 {
			return false
		}
		value, _ = r.Data.Result[0].Value[1].(string)
		return true
	}, "%s never became queryable", metric)
	if value != "42" {
		t.Fatalf("want 42, got %s", value)
	}
	q := url.Values{"query": {metric}, "start": {fmt.Sprint(now/1000 - 60)}, "end": {fmt.Sprint(now/1000 + 60)}}
	var ex struct {
		Data []struct {
			Exemplars []struct{ Labels map[string]string }
		}
	}
	if err := getJSON(base+"/api/v1/query_exemplars?"+q.Encode(), &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Data) != 1 || len(ex.Data[0].Exemplars) != 1 || ex.Data[0].Exemplars[0].Labels["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("exemplar not stored: %+v", ex)
	}
}

// TestJaegerOTLPRoundTrip sends a two-span trace to Jaeger's OTLP receiver and finds it by
// trace id through the query API.
func TestJaegerOTLPRoundTrip(t *testing.T) {
	query := JaegerURL(t)
	conn, err := grpc.NewClient(JaegerOTLPGRPC(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	service := UniqueName("testenv-svc-")
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	traceID := pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(time.Now().UnixNano())}
	start := time.Now().Add(-time.Second)
	root := ss.Spans().AppendEmpty()
	root.SetName("recommendation_pipeline")
	root.SetTraceID(traceID)
	root.SetSpanID(pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1})
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(80 * time.Millisecond)))
	child := ss.Spans().AppendEmpty()
	child.SetName("geospatial_query")
	child.SetTraceID(traceID)
	child.SetSpanID(pcommon.SpanID{2, 2, 2, 2, 2, 2, 2, 2})
	child.SetParentSpanID(root.SpanID())
	child.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	child.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(20 * time.Millisecond)))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}

	var got struct {
		Data []struct {
			Spans []struct {
				OperationName string
				References    []struct{ SpanID string }
			}
			Processes map[string]struct{ ServiceName string }
		}
	}
	Eventually(t, 30*time.Second, func() bool {
		return getJSON(query+"/api/traces/"+traceID.String(), &got) == nil && len(got.Data) == 1 && len(got.Data[0].Spans) == 2
	}, "trace %s not found in Jaeger", traceID)
	names := map[string]bool{}
	for _, s := range got.Data[0].Spans {
		names[s.OperationName] = true
	}
	if !names["recommendation_pipeline"] || !names["geospatial_query"] {
		t.Fatalf("spans: %+v", got.Data[0].Spans)
	}
	for _, p := range got.Data[0].Processes {
		if p.ServiceName != service {
			t.Fatalf("service name: want %s, got %s", service, p.ServiceName)
		}
	}
}

func getJSON(u string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// esOK returns a checker for go-elasticsearch calls: it fails the test on a transport error
// or an error status and returns the response.
func esOK(t *testing.T) func(*esapi.Response, error) *esapi.Response {
	return func(res *esapi.Response, err error) *esapi.Response {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError() {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Fatalf("%s: %s", res.Status(), b)
		}
		return res
	}
}

func decodeES(t *testing.T, res *esapi.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestDebianPrometheusServiceStaysOff: installing Debian's prometheus package enables a
// service that would listen on 0.0.0.0:9090 after a reboot; scripts/install-deps.sh masks it.
func TestDebianPrometheusServiceStaysOff(t *testing.T) {
	if _, err := os.Stat("/lib/systemd/system/prometheus.service"); err != nil {
		t.Skip("Debian's prometheus package is not installed here")
	}
	if os.Geteuid() != 0 {
		t.Skip("install-deps.sh masks the service only as root")
	}
	if target, err := os.Readlink("/etc/systemd/system/prometheus.service"); err != nil || target != "/dev/null" {
		t.Errorf("prometheus.service is not masked (%q, %v): run scripts/install-deps.sh", target, err)
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/prometheus.service"); err == nil {
		t.Error("prometheus.service is still enabled (multi-user.target.wants)")
	}
}
