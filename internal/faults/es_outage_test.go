//go:build faults

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/proctest"
	"github.com/recobs/recobs/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func backends(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("../../scripts/backends.sh", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backends.sh %v: %v\n%s", args, err, out)
	}
}

// TestElasticsearchOutageWithCollectorKill: lines keep coming while Elasticsearch is down;
// the collector is SIGKILLed during the outage and restarted; Elasticsearch comes back.
// Every line must then be in Elasticsearch exactly once.
func TestElasticsearchOutageWithCollectorKill(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	bin := proctest.Build(t, "../../collector", "otelcol-recobs")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	env, health := proctest.CollectorEnv(t, dir, map[string]string{
		"ES_URL":                esURL,
		"JAEGER_OTLP_GRPC":      proctest.FreePort(t),
		"PROM_REMOTE_WRITE_URL": "http://" + proctest.FreePort(t) + "/api/v1/write",
	})
	startCol := func() *proctest.Process {
		return proctest.Start(t, "collector", bin, []string{"--config", "../../otelcol.yaml"}, env, health)
	}
	// Whatever happens, Elasticsearch is up again for whoever runs next.
	t.Cleanup(func() { backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es") })

	run := testenv.UniqueName("outage-")
	f, err := os.OpenFile(filepath.Join(dir, "logs", "recsvc.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	written := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a steady 200 lines/s, like a busy service
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				mu.Lock()
				fmt.Fprintf(f, `{"timestamp":"%s","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%06d","category":"business","status":200}`+"\n",
					time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), run, written)
				written++
				mu.Unlock()
			}
		}
	}()
	count := func(base string) int {
		var r struct{ Count int }
		_ = proctest.PostJSON(base+"/recommendations-*/_count", fmt.Sprintf(`{"query":{"prefix":{"request_id":%q}}}`, run+"-"), &r)
		return r.Count
	}

	col := startCol()
	testenv.Eventually(t, 60*time.Second, func() bool { return count(esURL) > 0 }, "nothing reached Elasticsearch")
	backends(t, nil, "stop", "es")
	time.Sleep(15 * time.Second) // the outage: lines pile up in the persistent queue
	col.Kill(t)                  // and the sidecar dies in the middle of it
	col = startCol()
	defer col.Stop(t)
	time.Sleep(5 * time.Second)
	backends(t, []string{"RECOBS_KEEP_DATA=1"}, "start", "es")
	time.Sleep(5 * time.Second)
	close(stop)
	<-done
	mu.Lock()
	total := written
	mu.Unlock()

	testenv.Eventually(t, 180*time.Second, func() bool { return count(esURL) >= total },
		"after the outage: want %d documents, have %d", total, count(esURL))
	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(dups) > 0 {
		t.Fatalf("wrote %d lines; Elasticsearch holds %d documents, duplicated: %v", total, n, dups)
	}
	t.Logf("%d lines written across an Elasticsearch outage and a collector SIGKILL: all stored once", total)
}
