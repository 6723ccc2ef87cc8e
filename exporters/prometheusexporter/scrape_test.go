package prometheusexporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// withNativeHistogram adds an exponential histogram (10 values, sum 6.5) to md's first scope.
func withNativeHistogram(md pmetric.Metrics, ts time.Time) {
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("inference.latency")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	p := expPoint(0, -3, []uint64{3, 5, 0, 2}, 0)
	p.SetSum(6.5)
	p.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	p.CopyTo(eh.DataPoints().AppendEmpty())
}

func scrapeOf(t *testing.T, c *scrapeCache, accept string) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c.ServeHTTP(rec, req)
	return rec.Header().Get("Content-Type"), rec.Body.String()
}

const openMetricsAccept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"

func TestScrapeFormats(t *testing.T) {
	c := newScrapeCache(100, time.Minute, zap.NewNop())
	md := fixture()
	withNativeHistogram(md, t0)
	refused, sk := c.update(newTranslator(&Config{}), md, time.Now())
	if refused != 0 || sk.delta != 1 {
		t.Fatalf("refused %d, skipped %+v", refused, sk)
	}

	// OpenMetrics: exemplars on the counter and on the bucket the value falls in.
	ctype, om := scrapeOf(t, c, openMetricsAccept)
	if !strings.HasPrefix(ctype, "application/openmetrics-text") {
		t.Fatalf("content type %q", ctype)
	}
	for _, want := range []string{
		"# TYPE red_requests counter",
		`red_requests_total{http_route="/v1/recommendations",instance="pod-1",job="recsvc"} 42`,
		`red_duration_seconds_bucket{instance="pod-1",job="recsvc",le="0.1"} 6 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 0.07`,
		`red_duration_seconds_bucket{instance="pod-1",job="recsvc",le="0.05"} 5` + "\n",
		`target_info{instance="pod-1",job="recsvc",k8s_pod_name="recsvc-0"} 1`,
		"# EOF",
	} {
		if !strings.Contains(om, want) {
			t.Errorf("OpenMetrics output lacks %q:\n%s", want, om)
		}
	}

	// Prometheus text: parsed back with Prometheus' own parser.
	_, text := scrapeOf(t, c, "")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("text exposition does not parse: %v\n%s", err, text)
	}
	if v := fams["red_requests_total"].GetMetric()[0].GetCounter().GetValue(); v != 42 {
		t.Errorf("red_requests_total = %v", v)
	}
	if h := fams["red_duration_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 7 || h.GetSampleSum() != 1.234 {
		t.Errorf("red_duration_seconds count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}

	// Protobuf: the exponential histogram is a native histogram.
	_, pb := scrapeOf(t, c, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	r := strings.NewReader(pb)
	found := false
	for {
		var mf dto.MetricFamily
		if err := protodelim.UnmarshalFrom(r, &mf); err != nil {
			if err == io.EOF {
				break
			}
			t.Fatal(err)
		}
		if mf.GetName() == "inference_latency_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			found = h.GetSchema() == 0 && h.GetSampleCount() == 10 && len(h.GetPositiveSpan()) == 1 && len(h.GetPositiveDelta()) == 4
			if !found {
				t.Errorf("native histogram: %v", h)
			}
		}
	}
	if !found {
		t.Error("no native histogram in the protobuf exposition")
	}
}

func TestScrapePassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if testenv.Required() {
			t.Fatal("promtool (Debian package prometheus) is required under make test")
		}
		t.Skip("promtool (Debian package prometheus) not installed")
	}
	c := newScrapeCache(100, time.Minute, zap.NewNop())
	c.update(newTranslator(&Config{}), fixture(), time.Now())
	_, text := scrapeOf(t, c, "")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		// promtool exits 3 for lint warnings (e.g. missing HELP) and 1 for errors.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, text)
		}
	}
}

func counterMetrics(name string, series int, value int64, ts time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "recsvc")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i := range series {
		p := sum.DataPoints().AppendEmpty()
		p.SetIntValue(value)
		p.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		p.Attributes().PutStr("route", fmt.Sprintf("/r%d", i))
	}
	return md
}

func TestScrapeSeriesCapExpiryAndOrder(t *testing.T) {
	tr := newTranslator(&Config{})
	c := newScrapeCache(3, time.Minute, zap.NewNop())
	start := time.Unix(1_800_000_000, 0)
	if refused, _ := c.update(tr, counterMetrics("hits", 5, 10, start), start); refused != 2 {
		t.Fatalf("want 2 of 5 series refused at max_series 3, got %d", refused)
	}
	if n, refused, _ := c.stats(); n != 3 || refused != 2 {
		t.Fatalf("series %d refused %d", n, refused)
	}
	// An older point (a replay from the persistent queue) never replaces a newer one: the
	// scraped counter never goes backwards.
	c.update(tr, counterMetrics("hits", 1, 4, start.Add(-time.Second)), start)
	_, text := scrapeOf(t, c, "")
	if !strings.Contains(text, `hits_total{job="recsvc",route="/r0"} 10`) {
		t.Fatalf("the counter went backwards:\n%s", text)
	}
	// A live series, updated within the expiration, stays; idle ones go.
	c.update(tr, counterMetrics("hits", 1, 12, start.Add(50*time.Second)), start.Add(50*time.Second))
	c.expire(start.Add(90 * time.Second))
	if n, _, expired := c.stats(); n != 1 || expired != 2 {
		t.Fatalf("after expiry: %d series, %d expired; want the live one only", n, expired)
	}
	_, text = scrapeOf(t, c, "")
	if !strings.Contains(text, `hits_total{job="recsvc",route="/r0"} 12`) {
		t.Fatalf("the live counter must be kept, unreset:\n%s", text)
	}
	// Room again for new series.
	if refused, _ := c.update(tr, counterMetrics("other", 2, 1, start.Add(91*time.Second)), start.Add(91*time.Second)); refused != 0 {
		t.Fatalf("expired series must free their room, %d refused", refused)
	}
}

// TestRealPrometheusScrapes: a throwaway real Prometheus scrapes the exporter's endpoint
// (negotiating protobuf, so native histograms arrive as such) and answers PromQL on it,
// exemplars included.
func TestRealPrometheusScrapes(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		if testenv.Required() {
			t.Fatal("prometheus (Debian package) is required under make test")
		}
		t.Skip("prometheus not installed")
	}
	scrapeAddr := proctest.FreePort(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = ""
	sc := cfg.Scrape.GetOrInsertDefault()
	sc.ServerConfig.NetAddr.Endpoint = scrapeAddr
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	exp := startExporter(t, cfg)
	now := time.Now()
	md := fixture()
	setTimestamps(md, now)
	withNativeHistogram(md, now)
	if err := exp.push(context.Background(), md); err != nil {
		t.Fatal(err)
	}

	promURL := startPrometheus(t, scrapeAddr)
	query := func(q string) string { return promQuery(promURL, q) }
	testenv.Eventually(t, 60*time.Second, func() bool { return query("red_requests_total") == "42" }, "red_requests_total not scraped")
	for q, want := range map[string]string{
		`red_duration_seconds_bucket{le="0.05"}`:     "5",
		"histogram_count(inference_latency_seconds)": "10",
		"histogram_sum(inference_latency_seconds)":   "6.5",
		`target_info{k8s_pod_name="recsvc-0"}`:       "1",
	} {
		if got := query(q); got != want {
			t.Errorf("%s = %q, want %s", q, got, want)
		}
	}
	var ex struct {
		Data []struct {
			Exemplars []struct{ Labels map[string]string }
		}
	}
	q := url.Values{"query": {"red_duration_seconds_bucket"}, "start": {fmt.Sprint(now.Unix() - 60)}, "end": {fmt.Sprint(now.Unix() + 600)}}
	testenv.Eventually(t, 30*time.Second, func() bool {
		return getJSON(promURL+"/api/v1/query_exemplars?"+q.Encode(), &ex) == nil && len(ex.Data) == 1 && len(ex.Data[0].Exemplars) > 0 &&
			ex.Data[0].Exemplars[0].Labels["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
	}, "exemplar not scraped: %+v", ex)
}

// startPrometheus runs a throwaway Prometheus scraping target every second.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf("global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: recobs\n    static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(cfgFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreePort(t)
	p := proctest.Start(t, "prometheus", "prometheus", []string{
		"--config.file=" + cfgFile, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--enable-feature=exemplar-storage,native-histograms",
	}, nil, "http://"+addr+"/-/ready")
	t.Cleanup(func() { p.Stop(t) })
	return "http://" + addr
}
