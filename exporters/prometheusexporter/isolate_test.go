package prometheusexporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// gauges is one gauge metric of n points at ts, each its own series (label i).
func gauges(md pmetric.Metrics, name string, from, n int, ts time.Time) {
	if md.ResourceMetrics().Len() == 0 {
		md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	}
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName(name)
	dps := m.SetEmptyGauge().DataPoints()
	for i := from; i < from+n; i++ {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(float64(i))
		dp.Attributes().PutInt("i", int64(i))
	}
}

func startWithTelemetry(t *testing.T, cfg *Config) (*promExporter, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := exportertest.NewNopSettings(NewFactory().Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	exp, err := newExporter(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	return exp, tel
}

func counterValue(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var n int64
	for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
		ok := true
		for _, a := range attrs {
			v, has := p.Attributes.Value(a.Key)
			ok = ok && has && v == a.Value
		}
		if ok {
			n += p.Value
		}
	}
	return n
}

// TestOneBadSampleDoesNotRejectTheBatch: the real Prometheus refuses a whole remote-write
// request for its first out-of-order sample; among 10,000 good samples, one out-of-order
// sample is isolated and counted, and the 10,000 are queryable.
func TestOneBadSampleDoesNotRejectTheBatch(t *testing.T) {
	base := testenv.PrometheusURL(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = base + "/api/v1/write"
	cfg.Namespace = testenv.UniqueName("iso")
	exp, tel := startWithTelemetry(t, cfg)
	now := time.Now()

	first := pmetric.NewMetrics()
	gauges(first, "late", 0, 1, now)
	if err := exp.push(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	gauges(md, "good", 0, 5000, now)
	gauges(md, "late", 0, 1, now.Add(-time.Minute)) // behind what Prometheus holds: out of order
	gauges(md, "good", 5000, 5000, now)
	if err := exp.push(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	q := "count(" + cfg.Namespace + "_good)"
	testenv.Eventually(t, 30*time.Second, func() bool { return promQuery(base, q) == "10000" }, "%s = %q, want 10000", q, promQuery(base, q))
	if got := counterValue(t, tel, "recobs_prometheus_samples_rejected", attribute.String("reason", "out_of_order")); got != 1 {
		t.Fatalf("rejected out_of_order = %d, want 1", got)
	}
	if got := counterValue(t, tel, "recobs_prometheus_samples_sent"); got != 10001 {
		t.Fatalf("samples sent = %d, want 10,001", got)
	}
}

// bodyLimit is a proxy in front of Prometheus that answers 413 to bodies over max bytes.
type bodyLimit struct {
	next    http.Handler
	max     int
	mu      sync.Mutex
	refused int
}

func (b *bodyLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if len(body) > b.max {
		b.mu.Lock()
		b.refused++
		b.mu.Unlock()
		http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	b.next.ServeHTTP(w, r)
}

// TestBodyLimitSplitsTheRequest: a proxy whose body limit is below the request's size answers
// 413; the request is halved until it passes, and every sample is stored. max_batch_size_bytes
// keeps requests under it in the first place.
func TestBodyLimitSplitsTheRequest(t *testing.T) {
	base := testenv.PrometheusURL(t)
	target, _ := url.Parse(base)
	proxy := &bodyLimit{next: httputil.NewSingleHostReverseProxy(target), max: 8 << 10}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	for _, limit := range []int{3_000_000, 8 << 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			proxy.refused = 0
			cfg := createDefaultConfig().(*Config)
			cfg.ClientConfig.Endpoint = srv.URL + "/api/v1/write"
			cfg.Namespace = testenv.UniqueName("split")
			cfg.MaxBatchSizeBytes = limit
			exp, tel := startWithTelemetry(t, cfg)
			md := pmetric.NewMetrics()
			gauges(md, "g", 0, 3000, time.Now())
			if err := exp.push(context.Background(), md); err != nil {
				t.Fatal(err)
			}
			q := "count(" + cfg.Namespace + "_g)"
			testenv.Eventually(t, 30*time.Second, func() bool { return promQuery(base, q) == "3000" }, "%s = %q, want 3000", q, promQuery(base, q))
			switch {
			case limit > proxy.max && proxy.refused == 0:
				t.Fatal("the proxy never refused a body: the test proves nothing")
			case limit <= proxy.max && proxy.refused != 0:
				t.Fatalf("requests under max_batch_size_bytes (%d) were still refused %d times", limit, proxy.refused)
			}
			if got := counterValue(t, tel, "recobs_prometheus_samples_rejected"); got != 0 {
				t.Fatalf("%d samples rejected; none had to be", got)
			}
		})
	}
}
