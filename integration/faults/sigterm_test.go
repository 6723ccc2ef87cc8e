//go:build faults

package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// esPID is the pid of the Elasticsearch that scripts/backends.sh started.
func esPID(t *testing.T) int {
	t.Helper()
	state := os.Getenv("RECOBS_STATE")
	if state == "" {
		state = "/tmp/recobs"
	}
	raw, err := os.ReadFile(filepath.Join(state, "elasticsearch", "es.pid"))
	if err != nil {
		t.Fatalf("Elasticsearch's pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestRolloutWhileElasticsearchIsFrozen: a rollout sends the sidecar SIGTERM while
// Elasticsearch is frozen (SIGSTOP: connections open, nothing answers) and the receiver is
// held back by a full sending queue; like Kubernetes, the test waits the grace period (30 s)
// and then kills what is still running. The next sidecar starts on the same storage, the node
// thaws: every line written is stored exactly once, and the second life's account balances.
func TestRolloutWhileElasticsearchIsFrozen(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	// A small queue, one consumer with small batches: it fills within seconds of the freeze.
	pod.Args = []string{"--set=exporters::recobs_elasticsearch::sending_queue::queue_size=3000",
		"--set=exporters::recobs_elasticsearch::sending_queue::num_consumers=1",
		"--set=exporters::recobs_elasticsearch::sending_queue::batch::min_size=500",
		"--set=exporters::recobs_elasticsearch::sending_queue::batch::max_size=1000",
		"--set=exporters::recobs_elasticsearch::timeout=10s"}
	pid := esPID(t)
	thaw := func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(thaw) // whatever happens, the node answers again for whoever runs next

	run := testenv.UniqueName("rollout-")
	w := writeSteadily(t, filepath.Join(pod.LogDir(), "recsvc.log"), 2*time.Millisecond, func(i int) string { // 500 lines/s, recsvc's shape
		return fmt.Sprintf(`{"timestamp":"%s","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%06d","trace_id":"%032x","category":"business","status":200}`+"\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), run, i, i+1)
	})
	count := func() int {
		n, _, _ := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
		return n
	}
	port := pod.Env["RECOBS_SELF_METRICS_PORT"]
	queued := func() float64 {
		v, err := proctest.SelfMetric(port, "otelcol_exporter_queue_size", map[string]string{"exporter": "recobs_elasticsearch"})
		if err != nil {
			return -1
		}
		return v
	}

	col := pod.Start(t)
	testenv.Eventually(t, 60*time.Second, func() bool { return count() > 0 }, "nothing reached Elasticsearch")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The queue fills up and holds the receiver back.
	testenv.Eventually(t, 60*time.Second, func() bool { return queued() >= 2900 }, "the sending queue must fill while the node is frozen (queue size %v)", queued())

	// The rollout: SIGTERM, the grace period, then SIGKILL if it is still there.
	_ = col.Cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { _ = col.Cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = col.Cmd.Process.Kill()
		<-exited
		t.Log("the sidecar was still shutting down after the 30 s grace period: killed, as Kubernetes would")
	}

	col = pod.Start(t)
	defer col.Stop(t)
	thaw()
	before := w.written()
	testenv.Eventually(t, 30*time.Second, func() bool { return w.written() >= before+1000 }, "lines after the rollout")
	total := w.finish()
	testenv.Eventually(t, 180*time.Second, func() bool { return count() >= total }, "want %d documents, have %d", total, count())
	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(dups) > 0 {
		t.Fatalf("wrote %d lines; Elasticsearch holds %d documents, duplicated: %v", total, n, dups)
	}
	acct := proctest.ExpectBalancedLogs(t, col, port)
	t.Logf("%d lines across a rollout with Elasticsearch frozen and the queue full: each stored once; second life %v", total, acct)
}
