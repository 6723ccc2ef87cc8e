//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestPrometheusOutage: a counter keeps arriving over OTLP while Prometheus is down for a
// while; after it returns, every sample — those from the outage included — is in Prometheus.
func TestPrometheusOutage(t *testing.T) {
	promURL := testenv.PrometheusURL(t)
	otlp := proctest.FreePort(t)
	col := proctest.NewCollector(t, "../..", map[string]string{"RECOBS_OTLP_GRPC_ADDR": otlp, "PROM_REMOTE_WRITE_URL": promURL + "/api/v1/write"}).Start(t)
	defer col.Stop(t)
	t.Cleanup(func() { backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "prom") })

	conn, err := grpc.NewClient(otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pmetricotlp.NewGRPCClient(conn)
	job := testenv.UniqueName("promfault-")
	start := time.Now()
	sent := 0
	send := func() {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", job)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("fault.ticks")
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		p := sum.DataPoints().AppendEmpty()
		p.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		p.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		p.SetIntValue(int64(sent + 1))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md)); err != nil {
			t.Fatalf("export %d: %v", sent, err)
		}
		sent++
	}
	query := func(q string) (float64, bool) {
		var r struct {
			Data struct{ Result []struct{ Value [2]any } }
		}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
			return 0, false
		}
		v, _ := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
		return v, true
	}
	series := fmt.Sprintf(`fault_ticks_total{job=%q}`, job)
	every := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			send()
		}
	}

	every(3 * time.Second)
	testenv.Eventually(t, 30*time.Second, func() bool { _, ok := query(series); return ok }, "%s never reached Prometheus", series)
	backends(t, nil, "stop", "prom")
	every(15 * time.Second) // the outage
	backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "prom")
	every(3 * time.Second)

	testenv.Eventually(t, 90*time.Second, func() bool {
		v, ok := query(fmt.Sprintf("count_over_time(%s[10m])", series))
		return ok && int(v) == sent
	}, "want all %d samples of %s in Prometheus after the outage", sent, series)
	if v, _ := query(series); int(v) != sent {
		t.Errorf("latest value %v, want %d", v, sent)
	}
	checkRSS(t, col)
	t.Logf("%d samples across a 15 s Prometheus outage: all stored", sent)
}
