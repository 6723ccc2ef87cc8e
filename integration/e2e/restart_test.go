package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestCollectorSIGKILLLosesAndDuplicatesNothing writes log lines while the collector is
// SIGKILLed and restarted on the same storage: every line must reach Elasticsearch exactly
// once — the receiver's checkpoint resumes where it was, the persistent queue replays what
// was in flight, and deterministic document ids absorb what is sent twice.
func TestCollectorSIGKILLLosesAndDuplicatesNothing(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	logDir := pod.LogDir()
	startCol := func() *proctest.Process { return pod.Start(t) }

	run := testenv.UniqueName("kill-")
	f, err := os.OpenFile(filepath.Join(logDir, "recsvc.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written := 0
	write := func(n int) {
		for range n {
			fmt.Fprintf(f, `{"timestamp":"%s","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%05d","category":"business","status":200}`+"\n",
				time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), run, written)
			written++
		}
	}
	count := func() int {
		var r struct{ Count int }
		q := fmt.Sprintf(`{"query":{"prefix":{"request_id":%q}}}`, run+"-")
		_ = proctest.PostJSON(esURL+"/recommendations-*/_count", q, &r)
		return r.Count
	}

	col := startCol()
	write(1500)
	testenv.Eventually(t, 60*time.Second, func() bool { return count() > 0 }, "no document reached Elasticsearch")
	// Mid-stream: more lines keep coming while the collector dies without any shutdown.
	write(500)
	col.Kill(t)
	write(1000)

	col = startCol()
	defer col.Stop(t)
	testenv.Eventually(t, 120*time.Second, func() bool { return count() >= written }, "want %d documents after the restart, have %d", written, count())

	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if n != written || len(dups) > 0 {
		t.Fatalf("wrote %d lines; Elasticsearch holds %d documents, duplicated: %v", written, n, dups)
	}
}
