//go:build faults

package faults

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestReplayOfBacklogIsExact: the sidecar starts on a backlog larger than its sending queue
// (5% of the lines without a timestamp, 1% not JSON, a rotation in between) and is SIGKILLed
// while it is still reading it. Stanza saves offsets at the end of a poll, and a backlog is
// one poll held open by the full queue, so the restart reads the whole backlog again: every
// line must still be stored exactly once — a line's _id comes from where it sits in its file,
// not from when it was read — with the replays absorbed as 409s.
func TestReplayOfBacklogIsExact(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	pod.Args = []string{"--set=exporters::recobs_elasticsearch::sending_queue::queue_size=5000"}
	run := testenv.UniqueName("replay-")
	const perFile = 30000
	var withID, garbage int
	write := func(path string, from int) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		for i := from; i < from+perFile; i++ {
			switch {
			case i%100 == 0:
				fmt.Fprintf(w, "{garbage %s-%06d: not json\n", run, i) // '{': a record of its own, not a continuation
				garbage++
			// recsvc's lines carry their trace context, so none waits in request_correlation:
			// the backlog meets the full queue (the waiting path across a SIGKILL is the
			// Elasticsearch-outage test's).
			case i%20 == 1:
				fmt.Fprintf(w, `{"level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%06d","trace_id":"%032x"}`+"\n", run, i, i+1)
				withID++
			default:
				fmt.Fprintf(w, `{"timestamp":"%s","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%06d","trace_id":"%032x"}`+"\n", ts, run, i, i+1)
				withID++
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	logFile := filepath.Join(pod.LogDir(), "recsvc.log")
	write(logFile, 0)
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	write(logFile, perFile)

	counts := func() (ids, junk int) {
		ids, _, _ = proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
		junk, _, _ = proctest.ESCountAndDuplicates(esURL, "recommendations-*", "message.keyword", "{garbage "+run+"-")
		return ids, junk
	}
	col := pod.Start(t)
	testenv.Eventually(t, 60*time.Second, func() bool { ids, _ := counts(); return ids >= 1000 }, "the backlog must start reaching Elasticsearch")
	col.Kill(t)
	if ids, junk := counts(); ids+junk >= withID+garbage {
		t.Fatalf("the whole backlog was stored before the kill (%d): the test needs a larger one", ids+junk)
	}
	col = pod.Start(t)
	defer col.Stop(t)
	var haveIDs, haveJunk int
	testenv.Eventually(t, 180*time.Second, func() bool { haveIDs, haveJunk = counts(); return haveIDs >= withID && haveJunk >= garbage },
		"want %d lines with a request_id and %d not JSON stored, have %d and %d", withID, garbage, haveIDs, haveJunk)

	ids, dupIDs, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	junk, dupJunk, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "message.keyword", "{garbage "+run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if ids != withID || junk != garbage || len(dupIDs)+len(dupJunk) > 0 {
		t.Fatalf("stored %d/%d lines with a request_id and %d/%d not JSON; duplicated: %v %v", ids, withID, junk, garbage, dupIDs, dupJunk)
	}
	absorbed, err := proctest.SelfMetric(pod.Env["RECOBS_SELF_METRICS_PORT"], "recobs_elasticsearch_documents_duplicate", nil)
	if err != nil || absorbed == 0 {
		t.Fatalf("the replayed lines must come back as 409s (recobs_elasticsearch_documents_duplicate = %v, %v)", absorbed, err)
	}
	// The second life accepted the whole backlog again and restored the first life's queue.
	acct := proctest.ExpectBalancedLogs(t, col, pod.Env["RECOBS_SELF_METRICS_PORT"])
	t.Logf("%d lines, SIGKILL inside the backlog: each stored once; %v replays absorbed as 409s; second life %v", withID+garbage, absorbed, acct)
}
