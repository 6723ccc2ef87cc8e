//go:build faults

package faults

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestProfilesThroughElasticsearchOutage: the sidecar collects recsvc's profiles (every 2 s)
// while Elasticsearch is down for 20 s; when it is back, every profile the receiver counted as
// collected is in the profiles index exactly once, none failed, and the log account balances
// with the profiles pipeline in it.
func TestProfilesThroughElasticsearchOutage(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	admin, recsvcAddr := proctest.FreePort(t), proctest.FreePort(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "RECSVC_PPROF_TARGET": admin, "RECSVC_PROFILE_INTERVAL": "2s", "RECSVC_CPU_PROFILE_DURATION": "1s",
	})
	t.Cleanup(func() { backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es") })
	col := pod.Start(t)
	defer col.Stop(t)
	svc := proctest.Start(t, "recsvc", proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc"), nil, map[string]string{
		"RECSVC_ADDR": recsvcAddr, "RECSVC_ADMIN_ADDR": admin, "RECSVC_LOG_FILE": filepath.Join(pod.LogDir(), "recsvc.log"),
		"RECSVC_PLACES_PER_CITY": "200", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + pod.Env["RECOBS_OTLP_GRPC_ADDR"],
	}, "http://"+recsvcAddr+"/health/live")
	defer svc.Stop(t)

	port := pod.Env["RECOBS_SELF_METRICS_PORT"]
	metric := func(name string, match map[string]string) float64 {
		v, _ := proctest.SelfMetric(port, name, match)
		return v
	}
	count := func() int {
		var r struct{ Count int }
		_ = proctest.PostJSON(esURL+"/profiles-*/_count", fmt.Sprintf(`{"query":{"term":{"service.instance.id":%q}}}`, admin), &r)
		return r.Count
	}
	testenv.Eventually(t, 60*time.Second, func() bool { return count() > 0 }, "no profile reached Elasticsearch")
	backends(t, nil, "stop", "es")
	before := metric("recobs_pprof_profiles_collected", nil)
	testenv.Eventually(t, 60*time.Second, func() bool { return metric("recobs_pprof_profiles_collected", nil) >= before+15 },
		"profiles collected during the outage")
	queued := metric("otelcol_exporter_queue_size", map[string]string{"exporter": "recobs_elasticsearch/profiles"})
	if queued == 0 {
		t.Errorf("no profile queued during the outage")
	}
	backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es")
	svc.Stop(t) // no more profiles: the count settles
	// (A fetch that was answered before recsvc stopped may still be counted: compare anew.)
	var collected float64
	testenv.Eventually(t, 120*time.Second, func() bool {
		collected = metric("recobs_pprof_profiles_collected", nil)
		return float64(count()) >= collected
	}, "after the outage: want %.0f profiles in Elasticsearch, have %d", collected, count())
	// A profile's _id comes from its target, type and start, so a retried one overwrites
	// itself: more documents than collected profiles would be a duplicate under another id.
	refused := metric("recobs_pprof_profiles_failed", map[string]string{"reason": "refused"})
	if n := count(); float64(n) != collected || refused != 0 {
		t.Fatalf("collected %.0f profiles; Elasticsearch holds %d; refused %.0f", collected, n, refused)
	}
	acct := proctest.ExpectBalancedLogs(t, col, port)
	t.Logf("%.0f profiles collected, %.0f of them queued at once during a 20+ s outage: all stored once; %v", collected, queued, acct)
}
