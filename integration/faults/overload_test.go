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

// TestOverloadUnderMemoryLimit: the service writes log lines at five times the rate the pod
// can deliver to Elasticsearch. The collector must push back (the receiver stops reading;
// the lines wait in the file), keep its resident memory under the limit, and in the end
// deliver every line exactly once.
func TestOverloadUnderMemoryLimit(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	const memLimitMiB, rssLimitMiB = 250, 320 // memory_limiter's limit; the container's
	pod := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "RECOBS_MEMORY_LIMIT_MIB": fmt.Sprint(memLimitMiB), "RECOBS_MEMORY_SPIKE_MIB": "60",
	})
	col := pod.Start(t)
	defer col.Stop(t)

	run := testenv.UniqueName("overload-")
	f, err := os.OpenFile(filepath.Join(pod.LogDir(), "recsvc.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	written := 0
	write := func(n int) {
		ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		for range n {
			// recsvc's line: its trace context on it, so it never waits in request_correlation.
			fmt.Fprintf(w, `{"timestamp":%q,"level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%s-%07d","trace_id":"%032x","span_id":"%016x","category":"business","status":200,"user_id":%d,"response_time_ms":12.5,"cache_hit":false,"location":{"lat":37.7749,"lng":-122.4194},"num_results":10}`+"\n",
				ts, run, written, written+1, written+1, written%5000)
			written++
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		n, _, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
		if err != nil {
			return -1
		}
		return n
	}

	// The sustainable rate: how fast the pod delivers a 60,000-line backlog, from the first
	// document stored to the last.
	const calib = 60_000
	write(calib)
	testenv.Eventually(t, 60*time.Second, func() bool { return count() > 0 }, "nothing delivered")
	start, first := time.Now(), count()
	testenv.Eventually(t, 120*time.Second, func() bool { return count() >= calib }, "calibration backlog not delivered")
	sustainable := float64(calib-first) / time.Since(start).Seconds()

	// Five times that, for 20 s.
	rate := 5 * sustainable
	const overload = 20 * time.Second
	tick := time.NewTicker(50 * time.Millisecond)
	begin, perTick := time.Now(), int(rate/20)
	var peakRSS, peakAnon int64
	sample := func() {
		if rss, err := col.PeakRSS(); err == nil {
			peakRSS = rss
		}
		if anon, err := col.AnonRSS(); err == nil {
			peakAnon = max(peakAnon, anon)
		}
	}
	for time.Since(begin) < overload {
		<-tick.C
		write(perTick)
		sample()
	}
	tick.Stop()
	total := written
	testenv.Eventually(t, 10*time.Minute, func() bool {
		sample()
		return count() >= total
	}, "after the overload: want %d documents, have %d", total, count())
	elapsed := time.Since(begin)
	n, dups, err := proctest.ESCountAndDuplicates(esURL, "recommendations-*", "request_id", run+"-")
	if err != nil {
		t.Fatal(err)
	}
	if n != total || len(dups) > 0 {
		t.Fatalf("wrote %d lines; Elasticsearch holds %d, duplicated: %v", total, n, dups)
	}
	acct := proctest.ExpectBalancedLogs(t, col, pod.Env["RECOBS_SELF_METRICS_PORT"])
	t.Logf("log account: %v", acct)
	if peakAnon > rssLimitMiB<<20 {
		t.Errorf("peak anonymous RSS %d MiB over the %d MiB limit (memory_limiter at %d MiB)", peakAnon>>20, rssLimitMiB, memLimitMiB)
	}
	t.Logf("sustainable %.0f lines/s; wrote %d lines at %.0f lines/s (5x) for %s; all delivered once after %s (%.0f lines/s); peak RSS %d MiB, anonymous %d MiB (limit %d MiB)",
		sustainable, total-calib, rate, overload, elapsed.Round(time.Second), float64(total-calib)/elapsed.Seconds(), peakRSS>>20, peakAnon>>20, rssLimitMiB)
}
