package prometheusexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/prompb"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// seriesNames lists the distinct __name__ and label names of series, sorted.
func seriesNames(series []prompb.TimeSeries) (names, labelNames []string) {
	seen := map[string]bool{}
	for _, s := range series {
		for _, l := range s.Labels {
			k := l.Name
			if l.Name == "__name__" {
				k = "=" + l.Value
			}
			if !seen[k] {
				seen[k] = true
				if l.Name == "__name__" {
					names = append(names, l.Value)
				} else {
					labelNames = append(labelNames, l.Name)
				}
			}
		}
	}
	sort.Strings(names)
	sort.Strings(labelNames)
	return names, labelNames
}

// TestTranslationStrategies: Prometheus's four otlp.translation_strategy values name the
// fixture's series as Prometheus itself would.
func TestTranslationStrategies(t *testing.T) {
	for strategy, want := range map[otlptranslator.TranslationStrategyOption]string{
		otlptranslator.UnderscoreEscapingWithSuffixes:    "[red_duration_seconds_bucket red_duration_seconds_count red_duration_seconds_sum red_requests_total target_info] [http_route instance job k8s_pod_name le]",
		otlptranslator.UnderscoreEscapingWithoutSuffixes: "[red_duration_bucket red_duration_count red_duration_sum red_requests target_info] [http_route instance job k8s_pod_name le]",
		otlptranslator.NoUTF8EscapingWithSuffixes:        "[red.duration_seconds_bucket red.duration_seconds_count red.duration_seconds_sum red.requests_total target_info] [http.route instance job k8s.pod.name le]",
		otlptranslator.NoTranslation:                     "[red.duration_bucket red.duration_count red.duration_sum red.requests target_info] [http.route instance job k8s.pod.name le]",
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.ResourceToLabels = []string{"k8s.pod.name"}
		cfg.TranslationStrategy = strategy
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", strategy, err)
		}
		series, _, _ := newTranslator(cfg).translate(fixture())
		names, labelNames := seriesNames(series)
		if got := sprint(names) + " " + sprint(labelNames); got != want {
			t.Errorf("%s:\n got %s\nwant %s", strategy, got, want)
		}
	}
}

func sprint(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

// TestRealPrometheusStrategies: names without suffixes, and UTF-8 names kept as they are,
// are stored by the real Prometheus as sent.
func TestRealPrometheusStrategies(t *testing.T) {
	base := testenv.PrometheusURL(t)
	for strategy, q := range map[otlptranslator.TranslationStrategyOption][3]string{
		otlptranslator.UnderscoreEscapingWithoutSuffixes: {"_red_requests", "_red_duration_count", "_red_requests_total"},
		otlptranslator.NoUTF8EscapingWithSuffixes:        {"_red.requests_total", "_red.duration_seconds_count", "_red_requests_total"},
	} {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = base + "/api/v1/write"
		cfg.Namespace = testenv.UniqueName("ns")
		cfg.TranslationStrategy = strategy
		exp := startExporter(t, cfg)
		md := fixture()
		setTimestamps(md, time.Now())
		if err := exp.push(context.Background(), md); err != nil {
			t.Fatal(err)
		}
		sel := func(name string) string { return `{__name__="` + cfg.Namespace + name + `",job="recsvc"}` }
		testenv.Eventually(t, 30*time.Second, func() bool { return promQuery(base, sel(q[0])) == "42" && promQuery(base, sel(q[1])) == "7" },
			"%s: %s not 42, or %s not 7", strategy, sel(q[0]), sel(q[1]))
		if promQuery(base, sel(q[2])) != "" {
			t.Errorf("%s: %s must not exist", strategy, sel(q[2]))
		}
	}
}

// TestSendMetadata: with send_metadata each request carries the type, help and unit of the
// families of its series, once each (remote write 1.0 metadata; Prometheus 2's receiver
// ignores it, Mimir, Cortex and Thanos keep it).
func TestSendMetadata(t *testing.T) {
	var mu sync.Mutex
	var got []prompb.WriteRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		var req prompb.WriteRequest
		if err == nil {
			err = req.Unmarshal(raw)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, send := range []bool{false, true} {
		got = nil
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = srv.URL + "/api/v1/write"
		cfg.SendMetadata = send
		md := fixture()
		md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).SetDescription("Requests (server spans).")
		exp := startExporter(t, cfg)
		if err := exp.push(context.Background(), md); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 1 {
			t.Fatalf("want 1 request, got %d", len(got))
		}
		meta := map[string]prompb.MetricMetadata{}
		for _, m := range got[0].Metadata {
			meta[m.MetricFamilyName] = m
		}
		mu.Unlock()
		if !send {
			if len(meta) != 0 {
				t.Errorf("send_metadata off: %v", meta)
			}
			continue
		}
		if len(meta) != 3 || meta["red_requests_total"].Type != prompb.MetricMetadata_COUNTER || meta["red_requests_total"].Help != "Requests (server spans)." ||
			meta["red_duration_seconds"].Type != prompb.MetricMetadata_HISTOGRAM || meta["red_duration_seconds"].Unit != "seconds" ||
			meta["target_info"].Type != prompb.MetricMetadata_INFO {
			t.Errorf("metadata: %+v", meta)
		}
	}
}
