package prometheusexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestRealPrometheus pushes a counter and a histogram with an exemplar into the real
// Prometheus and reads them back through its query and exemplar APIs.
func TestRealPrometheus(t *testing.T) {
	base := testenv.PrometheusURL(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = base + "/api/v1/write"
	cfg.Namespace = testenv.UniqueName("t")
	exp := startExporter(t, cfg)

	md := fixture()
	now := time.Now()
	setTimestamps(md, now)
	if err := exp.push(context.Background(), md); err != nil {
		t.Fatal(err)
	}

	query := func(q string) (string, bool) { v := promQuery(base, q); return v, v != "" }
	counter := cfg.Namespace + "_red_requests_total"
	var v string
	testenv.Eventually(t, 30*time.Second, func() bool { var ok bool; v, ok = query(counter); return ok }, "%s not queryable", counter)
	if v != "42" {
		t.Errorf("%s = %s, want 42", counter, v)
	}
	for q, want := range map[string]string{
		cfg.Namespace + `_red_duration_seconds_bucket{le="0.05"}`: "5",
		cfg.Namespace + `_red_duration_seconds_count`:             "7",
		cfg.Namespace + `_red_duration_seconds_sum`:               "1.234",
	} {
		if got, _ := query(q); got != want {
			t.Errorf("%s = %q, want %s", q, got, want)
		}
	}
	var ex struct {
		Data []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string
				Value  string
			}
		}
	}
	q := url.Values{"query": {cfg.Namespace + "_red_duration_seconds_bucket"}, "start": {fmt.Sprint(now.Unix() - 60)}, "end": {fmt.Sprint(now.Unix() + 60)}}
	if err := getJSON(base+"/api/v1/query_exemplars?"+q.Encode(), &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Data) != 1 || ex.Data[0].SeriesLabels["le"] != "0.1" || len(ex.Data[0].Exemplars) != 1 ||
		ex.Data[0].Exemplars[0].Labels["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("exemplar not stored on the le=0.1 bucket: %+v", ex)
	}
}

// TestRealPrometheusContribNames: contrib's const_labels and resource_to_telemetry_conversion
// reach the real Prometheus as labels on the series (without the conversion, a resource
// attribute is only on target_info).
func TestRealPrometheusContribNames(t *testing.T) {
	base := testenv.PrometheusURL(t)
	for _, convert := range []bool{false, true} {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = base + "/api/v1/write"
		cfg.Namespace = testenv.UniqueName("c")
		cfg.ConstLabels = map[string]string{"cluster": "eu-1"}
		cfg.ResourceToTelemetryConversion.Enabled = convert
		exp := startExporter(t, cfg)
		md := fixture()
		setTimestamps(md, time.Now())
		if err := exp.push(context.Background(), md); err != nil {
			t.Fatal(err)
		}
		withPod := cfg.Namespace + `_red_requests_total{cluster="eu-1",job="recsvc",instance="pod-1",k8s_pod_name="recsvc-0"}`
		withoutPod := cfg.Namespace + `_red_requests_total{cluster="eu-1",job="recsvc",instance="pod-1",k8s_pod_name=""}`
		want := withoutPod
		if convert {
			want = withPod
		}
		testenv.Eventually(t, 30*time.Second, func() bool { return promQuery(base, want) == "42" }, "%s not 42 (resource_to_telemetry_conversion %t)", want, convert)
		if convert && promQuery(base, withoutPod) != "" || !convert && promQuery(base, withPod) != "" {
			t.Errorf("resource_to_telemetry_conversion %t: the series has the wrong labels", convert)
		}
	}
}

// startExporter starts an exporter with cfg, shut down when the test ends.
func startExporter(tb testing.TB, cfg *Config) *promExporter {
	tb.Helper()
	exp, err := newExporter(cfg, exportertest.NewNopSettings(NewFactory().Type()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	return exp
}

// promQuery is the value of an instant query that has exactly one result ("" otherwise).
func promQuery(base, q string) string {
	var r struct {
		Data struct{ Result []struct{ Value [2]any } }
	}
	if getJSON(base+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
		return ""
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v
}

func setTimestamps(md pmetric.Metrics, now time.Time) {
	ts := pcommon.NewTimestampFromTime(now)
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	ms.At(0).Sum().DataPoints().At(0).SetTimestamp(ts)
	hp := ms.At(1).Histogram().DataPoints().At(0)
	hp.SetTimestamp(ts)
	hp.Exemplars().At(0).SetTimestamp(ts)
}

func getJSON(u string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("%s", res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// TestRealPrometheusNativeHistogram: an exponential histogram arrives in the real Prometheus
// as a native histogram, its count, sum and a bucket fraction queryable with PromQL.
func TestRealPrometheusNativeHistogram(t *testing.T) {
	base := testenv.PrometheusURL(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = base + "/api/v1/write"
	cfg.Namespace = testenv.UniqueName("n")
	exp := startExporter(t, cfg)

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "recsvc")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("inference.latency")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	// Scale 0: OTel bucket k is (2^k, 2^(k+1)]. 3 values in (0.125, 0.25], 5 in (0.25, 0.5], 2 in (1, 2].
	p := expPoint(0, -3, []uint64{3, 5, 0, 2}, 0)
	p.SetSum(6.5)
	p.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	p.CopyTo(eh.DataPoints().AppendEmpty())
	if err := exp.push(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	name := cfg.Namespace + "_inference_latency_seconds"
	query := func(q string) string { return promQuery(base, q) }
	testenv.Eventually(t, 30*time.Second, func() bool { return query("histogram_count("+name+")") != "" }, "%s not queryable", name)
	for q, want := range map[string]string{
		"histogram_count(" + name + ")":            "10",
		"histogram_sum(" + name + ")":              "6.5",
		"histogram_fraction(0, 0.5, " + name + ")": "0.8",
	} {
		if got := query(q); got != want {
			t.Errorf("%s = %q, want %s", q, got, want)
		}
	}
}

// BenchmarkRemoteWrite: samples/s through the exporter into the real Prometheus, 2,000
// counter series a request, each iteration a new sample of every series; reports the
// exporter's CPU-seconds per million samples (Prometheus' own CPU is not included).
func BenchmarkRemoteWrite(b *testing.B) {
	base := testenv.PrometheusURL(b)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = base + "/api/v1/write"
	cfg.Namespace = testenv.UniqueName("b")
	exp := startExporter(b, cfg)
	const series = 2000
	md := counterMetrics("bench.requests", series, 0, time.Now())
	pts := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	ts := time.Now().Add(-30 * time.Second) // inside the head block, advancing 1 ms an iteration
	cpu0 := cpuSeconds()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i++
		ts = ts.Add(time.Millisecond)
		for k := 0; k < pts.Len(); k++ {
			pts.At(k).SetIntValue(i)
			pts.At(k).SetTimestamp(pcommon.NewTimestampFromTime(ts))
		}
		if err := exp.push(context.Background(), md); err != nil {
			b.Fatal(err)
		}
	}
	samples := float64(series) * float64(b.N)
	b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric((cpuSeconds()-cpu0)/samples*1e6, "CPU-s/Msamples")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
