package prometheusexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// TestRealPrometheus pushes a counter and a histogram with an exemplar into the real
// Prometheus and reads them back through its query and exemplar APIs.
func TestRealPrometheus(t *testing.T) {
	base := testenv.PrometheusURL(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = base + "/api/v1/write"
	cfg.Namespace = testenv.UniqueName("t")
	exp, err := newExporter(cfg, exportertest.NewNopSettings(NewFactory().Type()))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer exp.shutdown(context.Background())

	md := fixture()
	now := time.Now()
	setTimestamps(md, now)
	if err := exp.push(context.Background(), md); err != nil {
		t.Fatal(err)
	}

	query := func(q string) (string, bool) {
		var r struct {
			Data struct{ Result []struct{ Value [2]any } }
		}
		if getJSON(base+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
			return "", false
		}
		v, _ := r.Data.Result[0].Value[1].(string)
		return v, true
	}
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
