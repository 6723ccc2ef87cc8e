//go:build conformance

// Package conformance compares the prometheus_scrape receiver with contrib's prometheus
// receiver. Contrib's receiver links all of Prometheus's service discovery (the Kubernetes
// client, the AWS, Azure and GCP SDKs: ~800 packages, most of a cold `make test`'s compile),
// so the test is built only with the conformance tag: `make test-faults` (which CI runs) runs
// it, `make test` does not.
package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/receivers/promscrapereceiver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformsToContribReceiver scrapes the same expositions with this receiver and with
// contrib's prometheus receiver (Prometheus's own scrape loop) and compares every point: names,
// types, attributes, values, buckets, quantiles, exemplars, the resource, and the scrape's own
// series. Where the two may differ by design the comparison says so (see canonical).
func TestConformsToContribReceiver(t *testing.T) {
	for _, tc := range []struct{ file, contentType string }{
		// recsvc's own /metrics, captured in both formats it serves (client_golang's promhttp).
		{"recsvc.openmetrics.txt", "application/openmetrics-text; version=1.0.0; charset=utf-8"},
		{"recsvc.prom.txt", "text/plain; version=0.0.4; charset=utf-8"},
		// Every OpenMetrics type, exemplars (good and bad trace ids), created timestamps,
		// explicit timestamps, a target's own job/instance labels, escaped and empty values.
		{"golden.openmetrics.txt", "application/openmetrics-text; version=1.0.0; charset=utf-8"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "testdata", tc.file))
			require.NoError(t, err)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			target := strings.TrimPrefix(srv.URL, "http://")

			ours := firstScrape(t, promscrapereceiver.NewFactory(), func(cfg any) {
				c := cfg.(*promscrapereceiver.Config)
				c.JobName, c.Targets, c.ScrapeInterval = "conformance", []string{target}, time.Hour
			})
			theirs := firstScrape(t, prometheusreceiver.NewFactory(), func(cfg any) {
				cm := confmap.NewFromStringMap(map[string]any{
					// Discovery at once and a short interval: the first scrape comes within a second.
					"discovery_reload_on_startup": true,
					"config": map[string]any{"scrape_configs": []any{map[string]any{
						"job_name": "conformance", "scrape_interval": "1s", "scrape_timeout": "1s",
						"static_configs": []any{map[string]any{"targets": []any{target}}},
					}}},
				})
				require.NoError(t, cm.Unmarshal(cfg))
			})
			got, want := canonical(ours), canonical(theirs)
			require.NotEmpty(t, want)
			require.Equal(t, want, got, "left: contrib's prometheus receiver, right: prometheus_scrape")
		})
	}
}

// firstScrape runs a receiver until it delivers its first scrape with up = 1.
func firstScrape(t *testing.T, f receiver.Factory, configure func(any)) pmetric.Metrics {
	t.Helper()
	cfg := f.CreateDefaultConfig()
	configure(cfg)
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	var found pmetric.Metrics
	require.Eventually(t, func() bool {
		for _, md := range sink.AllMetrics() {
			for _, line := range canonical(md) {
				if strings.HasPrefix(line, "up Gauge") && strings.HasSuffix(line, "} 1 flags=0") {
					found = md
					return true
				}
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "%s delivered no successful scrape", f.Type())
	return found
}

// canonical writes a scrape as sorted lines, one per point, leaving out what two scrapes of
// the same bytes cannot share or where this receiver differs on purpose:
//   - the time of the scrape (a point's timestamp unless the exposition wrote one, the
//     scrape's duration, an exemplar's default time);
//   - start timestamps of points without a created timestamp: contrib leaves them unset, this
//     receiver sets them (see memory.reconcile), so only created ones are compared;
//   - the scope (contrib names its own);
//   - scrape_series_added (contrib's first scrape may count differently; both count new series).
func canonical(md pmetric.Metrics) []string {
	var out []string
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		out = append(out, "resource "+attrString(rm.Resource().Attributes()))
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				out = append(out, metricLines(ms.At(k))...)
			}
		}
	}
	slices.Sort(out)
	return out
}

func metricLines(m pmetric.Metric) []string {
	head := fmt.Sprintf("%s %s unit=%q help=%q", m.Name(), m.Type(), m.Unit(), m.Description())
	if t, ok := m.Metadata().Get("prometheus.type"); ok {
		head += " prometheus.type=" + t.Str()
	}
	scrapeTimed := m.Name() == "scrape_duration_seconds" || m.Name() == "scrape_series_added"
	ts := func(start, at pcommon.Timestamp) string {
		s := ""
		if start != 0 {
			s = fmt.Sprintf(" start=%d", start)
		}
		if at != 0 && !isScrapeTime(at) {
			s += fmt.Sprintf(" at=%d", at)
		}
		return s
	}
	var out []string
	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		var dps pmetric.NumberDataPointSlice
		if m.Type() == pmetric.MetricTypeGauge {
			dps = m.Gauge().DataPoints()
		} else {
			dps = m.Sum().DataPoints()
			head += fmt.Sprintf(" %s monotonic=%t", m.Sum().AggregationTemporality(), m.Sum().IsMonotonic())
		}
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			v := fmt.Sprintf("%g", dp.DoubleValue())
			if scrapeTimed {
				v = "(scrape-dependent)"
			}
			out = append(out, fmt.Sprintf("%s {%s} %s flags=%d%s%s", head, attrString(dp.Attributes()), v, dp.Flags(), ts(createdOnly(dp.StartTimestamp()), dp.Timestamp()), exemplarString(dp.Exemplars())))
		}
	case pmetric.MetricTypeHistogram:
		head += " " + m.Histogram().AggregationTemporality().String()
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			out = append(out, fmt.Sprintf("%s {%s} count=%d sum=%g bounds=%v buckets=%v flags=%d%s%s", head, attrString(dp.Attributes()), dp.Count(), dp.Sum(), dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw(), dp.Flags(), ts(createdOnly(dp.StartTimestamp()), dp.Timestamp()), exemplarString(dp.Exemplars())))
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			var qs []string
			for q := 0; q < dp.QuantileValues().Len(); q++ {
				qs = append(qs, fmt.Sprintf("%g:%g", dp.QuantileValues().At(q).Quantile(), dp.QuantileValues().At(q).Value()))
			}
			out = append(out, fmt.Sprintf("%s {%s} count=%d sum=%g quantiles=%v flags=%d%s", head, attrString(dp.Attributes()), dp.Count(), dp.Sum(), qs, dp.Flags(), ts(createdOnly(dp.StartTimestamp()), dp.Timestamp())))
		}
	default:
		out = append(out, head+" (unexpected type)")
	}
	return out
}

// A created timestamp in the expositions is a whole or half second in the past; a start this
// receiver derives (the scrape or process start) is compared by TestStartTimes instead.
func createdOnly(ts pcommon.Timestamp) pcommon.Timestamp {
	if ts.AsTime().Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return ts
	}
	return 0
}

// isScrapeTime is true for a time within the last minute: the scrape's, not the exposition's.
func isScrapeTime(ts pcommon.Timestamp) bool { return time.Since(ts.AsTime()) < time.Minute }

func exemplarString(es pmetric.ExemplarSlice) string {
	var s []string
	for i := 0; i < es.Len(); i++ {
		e := es.At(i)
		at := ""
		if !isScrapeTime(e.Timestamp()) {
			at = fmt.Sprintf(" at=%d", e.Timestamp())
		}
		s = append(s, fmt.Sprintf("{trace=%s span=%s value=%g%s attrs=%s}", e.TraceID(), e.SpanID(), e.DoubleValue(), at, attrString(e.FilteredAttributes())))
	}
	if len(s) == 0 {
		return ""
	}
	return " exemplars=" + strings.Join(s, ",")
}

func attrString(m pcommon.Map) string {
	var kv []string
	m.Range(func(k string, v pcommon.Value) bool {
		kv = append(kv, k+"="+v.AsString())
		return true
	})
	slices.Sort(kv)
	return strings.Join(kv, ",")
}
