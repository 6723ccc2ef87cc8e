package promscrapereceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// gaugeValue is the first point of the gauge name in md.
func gaugeValue(md pmetric.Metrics, name string) (float64, bool) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if m := ms.At(k); m.Name() == name && m.Type() == pmetric.MetricTypeGauge && m.Gauge().DataPoints().Len() > 0 {
					return m.Gauge().DataPoints().At(0).DoubleValue(), true
				}
			}
		}
	}
	return 0, false
}

func testConfig(targets ...string) *Config {
	c := createDefaultConfig().(*Config)
	c.JobName, c.Targets = "test", targets
	return c
}

// scrapeAt parses an exposition as a scrape at ms and reconciles it with m.
func scrapeAt(t *testing.T, m *memory, ms int64, body string) (pmetric.MetricSlice, int) {
	t.Helper()
	x, err := parse([]byte(body), "text/plain; version=0.0.4", ms, testConfig("h:1"), nil)
	require.NoError(t, err)
	added := m.reconcile(x, ms)
	ms2 := pmetric.NewMetricSlice()
	x.appendTo(ms2)
	return ms2, added
}

func sumPoint(t *testing.T, ms pmetric.MetricSlice, name, attr string) pmetric.NumberDataPoint {
	t.Helper()
	for i := 0; i < ms.Len(); i++ {
		if m := ms.At(i); m.Name() == name {
			var dps pmetric.NumberDataPointSlice
			if m.Type() == pmetric.MetricTypeSum {
				dps = m.Sum().DataPoints()
			} else {
				dps = m.Gauge().DataPoints()
			}
			for j := 0; j < dps.Len(); j++ {
				if v, _ := dps.At(j).Attributes().Get("k"); v.Str() == attr {
					return dps.At(j)
				}
			}
		}
	}
	t.Fatalf("no %s{k=%q}", name, attr)
	return pmetric.NumberDataPoint{}
}

func ts(ms int64) pcommon.Timestamp { return pcommon.Timestamp(ms * 1e6) }

// TestStartTimes: a counter without a created timestamp starts when its process started if the
// target says when that was, a series that appears later starts at the scrape before, and a
// reset (the value goes down, or the process start moves) starts a new run.
func TestStartTimes(t *testing.T) {
	m := newMemory()
	const head = "# TYPE c_total counter\n# TYPE process_start_time_seconds gauge\n"
	ms, added := scrapeAt(t, m, 10_000, head+"process_start_time_seconds 5\nc_total{k=\"a\"} 3\n")
	assert.Equal(t, 2, added)
	assert.Equal(t, ts(5_000), sumPoint(t, ms, "c_total", "a").StartTimestamp(), "first scrape: the process start")

	ms, added = scrapeAt(t, m, 20_000, head+"process_start_time_seconds 5\nc_total{k=\"a\"} 7\nc_total{k=\"b\"} 1\n")
	assert.Equal(t, 1, added)
	assert.Equal(t, ts(5_000), sumPoint(t, ms, "c_total", "a").StartTimestamp(), "same run")
	assert.Equal(t, ts(10_000), sumPoint(t, ms, "c_total", "b").StartTimestamp(), "appeared after the previous scrape")

	ms, _ = scrapeAt(t, m, 30_000, head+"process_start_time_seconds 5\nc_total{k=\"a\"} 2\nc_total{k=\"b\"} 4\n")
	assert.Equal(t, ts(20_000), sumPoint(t, ms, "c_total", "a").StartTimestamp(), "reset: a new run since the previous scrape")
	assert.Equal(t, ts(10_000), sumPoint(t, ms, "c_total", "b").StartTimestamp())

	ms, _ = scrapeAt(t, m, 40_000, head+"process_start_time_seconds 35\nc_total{k=\"a\"} 9\nc_total{k=\"b\"} 9\n")
	assert.Equal(t, ts(35_000), sumPoint(t, ms, "c_total", "a").StartTimestamp(), "restarted process, value higher than before")
	assert.Equal(t, ts(35_000), sumPoint(t, ms, "c_total", "b").StartTimestamp())

	// Without process_start_time_seconds the first scrape is all there is; gauges have no start.
	m = newMemory()
	ms, _ = scrapeAt(t, m, 10_000, "# TYPE c_total counter\nc_total{k=\"a\"} 3\n# TYPE g gauge\ng{k=\"a\"} 1\n")
	assert.Equal(t, ts(10_000), sumPoint(t, ms, "c_total", "a").StartTimestamp())
	assert.Zero(t, sumPoint(t, ms, "g", "a").StartTimestamp())
}

// TestDisappearedSeriesEnd: a series the next scrape lacks gets one point flagged "no recorded
// value" at that scrape's time (Prometheus's staleness marker), and is forgotten.
func TestDisappearedSeriesEnd(t *testing.T) {
	m := newMemory()
	body := "# TYPE c_total counter\nc_total{k=\"a\"} 1\nc_total{k=\"b\"} 1\n# TYPE h histogram\nh_bucket{k=\"a\",le=\"1\"} 1\nh_bucket{k=\"a\",le=\"+Inf\"} 2\nh_count{k=\"a\"} 2\nh_sum{k=\"a\"} 3\n"
	scrapeAt(t, m, 10_000, body)
	ms, _ := scrapeAt(t, m, 20_000, "# TYPE c_total counter\nc_total{k=\"a\"} 2\n")
	b := sumPoint(t, ms, "c_total", "b")
	assert.True(t, b.Flags().NoRecordedValue())
	assert.Equal(t, ts(20_000), b.Timestamp())
	assert.False(t, sumPoint(t, ms, "c_total", "a").Flags().NoRecordedValue())
	var h pmetric.HistogramDataPoint
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() == "h" {
			h = ms.At(i).Histogram().DataPoints().At(0)
		}
	}
	require.NotEqual(t, pmetric.HistogramDataPoint{}, h, "the histogram's end")
	assert.True(t, h.Flags().NoRecordedValue())
	assert.Equal(t, []float64{1}, h.ExplicitBounds().AsRaw())

	ms, _ = scrapeAt(t, m, 30_000, "# TYPE c_total counter\nc_total{k=\"a\"} 3\n")
	assert.Equal(t, 1, ms.Len(), "an ended series is ended once")

	x := m.endAll(40_000)
	ms = pmetric.NewMetricSlice()
	x.appendTo(ms)
	assert.True(t, sumPoint(t, ms, "c_total", "a").Flags().NoRecordedValue(), "a failed scrape ends every series")
	assert.Empty(t, m.series)
}

// TestBrokenHistogramIsNamed: a histogram OTLP cannot carry (buckets that decrease, no _count)
// is left out of the scrape, and named for the scrape's warning rather than dropped silently.
func TestBrokenHistogramIsNamed(t *testing.T) {
	x, err := parse([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 3\nh_bucket{le=\"+Inf\"} 5\nh_count 5\nh_sum 1\n"+
		"# TYPE n histogram\nn_bucket{le=\"+Inf\"} 1\nn_sum 1\n# TYPE ok histogram\nok_bucket{le=\"+Inf\"} 1\nok_count 1\n"), "text/plain", 1, testConfig("h:1"), nil)
	require.NoError(t, err)
	ms := pmetric.NewMetricSlice()
	assert.Equal(t, []string{"h", "n"}, x.appendTo(ms))
	require.Equal(t, 1, ms.Len())
	assert.Equal(t, "ok", ms.At(0).Name())
}

func TestMalformedExpositionFailsTheScrape(t *testing.T) {
	_, err := parse([]byte("# TYPE c counter\nc{k=\"a} 1\n"), "text/plain", 1, testConfig("h:1"), nil)
	require.Error(t, err)
	cfg := testConfig("h:1")
	cfg.SampleLimit = 1
	_, err = parse([]byte("a 1\nb 2\n"), "text/plain", 1, cfg, nil)
	require.ErrorIs(t, err, errSampleLimit)
}

// TestScrapeOutcomes runs the receiver against a target that answers, then fails with a 500,
// then sends a body over the limit, then answers again: up follows, the failures end the
// series, and the receiver's own counts say what was delivered.
func TestScrapeOutcomes(t *testing.T) {
	var mode atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Contains(t, r.Header.Get("Accept"), "application/openmetrics-text")
		assert.NotEmpty(t, r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"))
		switch mode.Load() {
		case 1:
			http.Error(w, "boom", http.StatusInternalServerError)
		case 2:
			_, _ = w.Write([]byte("big " + strings.Repeat("1", 4096) + "\n"))
		default:
			_, _ = w.Write([]byte("# TYPE c_total counter\nc_total 1\n"))
		}
	}))
	defer srv.Close()
	cfg := testConfig(strings.TrimPrefix(srv.URL, "http://"))
	cfg.ScrapeInterval, cfg.BodySizeLimit = 20*time.Millisecond, 1024
	sink := new(consumertest.MetricsSink)
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(NewFactory().Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	waitUp := func(want float64) pmetric.Metrics {
		var found pmetric.Metrics
		require.Eventually(t, func() bool {
			all := sink.AllMetrics()
			if len(all) == 0 {
				return false
			}
			found = all[len(all)-1]
			v, _ := gaugeValue(found, "up")
			return v == want
		}, 10*time.Second, 5*time.Millisecond, "up never became %v", want)
		return found
	}
	md := waitUp(1)
	res := md.ResourceMetrics().At(0).Resource().Attributes()
	job, _ := res.Get("service.name")
	assert.Equal(t, "test", job.Str())
	for m := int32(1); m <= 2; m++ {
		// A failure, then an answer again: its series are back.
		sink.Reset()
		mode.Store(m)
		waitUp(0)
		sink.Reset()
		mode.Store(0)
		md := waitUp(1)
		require.Equal(t, "c_total", md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name())
	}
	// The first failed scrape after a good one carries the counter's end.
	sink.Reset()
	mode.Store(1)
	require.Eventually(t, func() bool {
		for _, md := range sink.AllMetrics() {
			ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
			for i := 0; i < ms.Len(); i++ {
				if ms.At(i).Name() == "c_total" && ms.At(i).Sum().DataPoints().At(0).Flags().NoRecordedValue() {
					return true
				}
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "no end for c_total after a failed scrape")
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mut   func(*Config)
		field string
	}{
		{"no job", func(c *Config) { c.JobName = "" }, "job_name"},
		{"no targets", func(c *Config) { c.Targets = nil }, "targets"},
		{"url target", func(c *Config) { c.Targets = []string{"http://h:1/metrics"} }, "targets[0]"},
		{"twice", func(c *Config) { c.Targets = []string{"h:1", "h:1"} }, "targets[1]"},
		{"scheme", func(c *Config) { c.Scheme = "ftp" }, "scheme"},
		{"path", func(c *Config) { c.MetricsPath = "metrics" }, "metrics_path"},
		{"interval", func(c *Config) { c.ScrapeInterval = 0 }, "scrape_interval"},
		{"timeout", func(c *Config) { c.ScrapeInterval, c.ScrapeTimeout = time.Second, 2*time.Second }, "scrape_timeout"},
		{"limit", func(c *Config) { c.BodySizeLimit = 10 }, "body_size_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("h:1")
			require.NoError(t, c.Validate())
			tc.mut(c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
	c := testConfig("h:1")
	c.ScrapeInterval = 5 * time.Second
	assert.Equal(t, 5*time.Second, c.timeout(), "the timeout defaults to the interval when shorter than 10s")
}
