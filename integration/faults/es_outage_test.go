//go:build faults

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...)
}

func backends(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("../../scripts/backends.sh", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backends.sh %v: %v\n%s", args, err, out)
	}
}

// TestElasticsearchOutageWithCollectorKill: lines keep coming while Elasticsearch is down
// for 60 s; the collector is SIGKILLed half-way through the outage and restarted;
// Elasticsearch comes back. The exporter's queue-size self-metric must show the backlog and
// then drain to zero; every line must be in Elasticsearch exactly once; the collector's peak
// RSS must stay under its memory limit.
func TestElasticsearchOutageWithCollectorKill(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	const memLimitMiB = 400
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL, "RECOBS_MEMORY_LIMIT_MIB": fmt.Sprint(memLimitMiB)})
	env := pod.Env
	startCol := func() *proctest.Process { return pod.Start(t) }
	// Whatever happens, Elasticsearch is up again for whoever runs next.
	t.Cleanup(func() { backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es") })

	run := testenv.UniqueName("outage-")
	// A steady 200 lines/s, like a busy service; no trace context, so they wait in
	// request_correlation too, across the SIGKILL.
	w := writeSteadily(t, filepath.Join(pod.LogDir(), "recsvc.log"), 5*time.Millisecond, func(i int) string {
		return fmt.Sprintf(`{"timestamp":"%s","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%06d","category":"business","status":200}`+"\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), run, i)
	})
	count := func(base string) int {
		var r struct{ Count int }
		_ = proctest.PostJSON(base+"/recommendations-*/_count", fmt.Sprintf(`{"query":{"prefix":{"request_id":%q}}}`, run+"-"), &r)
		return r.Count
	}

	queued := func() float64 {
		v, err := proctest.SelfMetric(env["RECOBS_SELF_METRICS_PORT"], "otelcol_exporter_queue_size", map[string]string{"exporter": "recobs_elasticsearch"})
		if err != nil {
			return -1
		}
		return v
	}
	var peakRSS int64
	notePeak := func(p *proctest.Process) {
		if rss, err := p.PeakRSS(); err == nil {
			peakRSS = max(peakRSS, rss)
		}
	}

	col := startCol()
	testenv.Eventually(t, 60*time.Second, func() bool { return count(esURL) > 0 }, "nothing reached Elasticsearch")
	backends(t, nil, "stop", "es")
	outageEnd := time.Now().Add(60 * time.Second)
	// The backlog shows in the exporter's queue-size self-metric.
	testenv.Eventually(t, 30*time.Second, func() bool { return queued() >= 100 }, "queue size %v during the outage, want the backlog", queued())
	time.Sleep(time.Until(outageEnd.Add(-30 * time.Second))) // the outage goes on
	notePeak(col)
	col.Kill(t) // and the sidecar dies in the middle of it
	col = startCol()
	defer col.Stop(t)
	testenv.Eventually(t, 30*time.Second, func() bool { return queued() > 0 }, "the persisted backlog must be back in the queue after the restart, queue size %v", queued())
	time.Sleep(time.Until(outageEnd)) // the rest of the 60 s outage
	backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es")
	total := w.finish()
	testenv.Eventually(t, 180*time.Second, func() bool { return queued() == 0 }, "the queue must drain after the outage, queue size %v", queued())

	testenv.Eventually(t, 180*time.Second, func() bool { return count(esURL) >= total },
		"after the outage: want %d documents, have %d", total, count(esURL))
	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(dups) > 0 {
		t.Fatalf("wrote %d lines; Elasticsearch holds %d documents, duplicated: %v", total, n, dups)
	}
	notePeak(col)
	acct := proctest.ExpectBalancedLogs(t, col, env["RECOBS_SELF_METRICS_PORT"]) // the restored backlog included
	t.Logf("after the restart: %v", acct)
	if peakRSS > memLimitMiB<<20 {
		t.Errorf("collector peak RSS %d MiB exceeds its %d MiB memory limit", peakRSS>>20, memLimitMiB)
	}
	t.Logf("%d lines written across a 60 s Elasticsearch outage and a collector SIGKILL: all stored once; peak RSS %d MiB", total, peakRSS>>20)
}
