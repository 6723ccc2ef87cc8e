package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestContinuationLinesAcrossSIGKILL: a traceback stays with its line through a SIGKILL, and
// a traceback that comes after its record went on is stored once, its lines flagged records
// of their own. Three moments:
// the collector dies while a record waits for what follows it (the re-read keeps record and
// traceback together), after a record went on alone (the late traceback is a flagged record of
// its own), and with record and traceback written together (one document).
func TestContinuationLinesAcrossSIGKILL(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	pod := proctest.NewCollector(t, "../..", map[string]string{"ES_URL": esURL})
	run := testenv.UniqueName("cont-")
	f, err := os.OpenFile(filepath.Join(pod.LogDir(), run+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	record := func(n int) string {
		return fmt.Sprintf(`{"timestamp":"%s","level":"error","logger":"app","event":"failed","request_id":"%s-%d"}`+"\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), run, n)
	}
	traceback := func(n int) string {
		return fmt.Sprintf("Traceback (most recent call last):\n  File \"app.py\", line %d, in handle\nValueError: %s-%d\n", n, run, n)
	}
	write := func(s string) {
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	type stored struct {
		ID     string `json:"_id"`
		Source struct {
			RequestID    string `json:"request_id"`
			Message      string `json:"message"`
			Continuation string `json:"log.continuation"`
			ParseError   string `json:"log.parse_error"`
		} `json:"_source"`
	}
	docs := func() []stored {
		var r struct{ Hits struct{ Hits []stored } }
		_ = proctest.PostJSON(esURL+"/recommendations-*/_search", fmt.Sprintf(`{"size":100,"query":{"term":{"log.file.name":%q}}}`, run+".log"), &r)
		return r.Hits.Hits
	}
	has := func(requestID string) bool {
		for _, d := range docs() {
			if d.Source.RequestID == requestID {
				return true
			}
		}
		return false
	}

	col := pod.Start(t)
	write(record(1) + traceback(1)) // together
	write(record(2))                // goes on alone, once the flush period passes
	testenv.Eventually(t, 60*time.Second, func() bool { return has(run + "-2") }, "record 2 not stored")
	col.Kill(t)
	write(traceback(2)) // after its record went on: a record of its own
	write(record(3))

	col = pod.Start(t)
	write(traceback(3)) // record 3 and its traceback go on together, by the flush
	testenv.Eventually(t, 60*time.Second, func() bool { return has(run + "-3") }, "record 3 not stored")
	write(record(4))
	col.Kill(t) // at once: record 4 still waits for what follows it (the flush period is 500 ms)
	write(traceback(4))
	write(record(5))

	col = pod.Start(t)
	defer col.Stop(t)
	testenv.Eventually(t, 60*time.Second, func() bool { return has(run + "-5") }, "record 5 not stored")

	got := map[string]string{} // request ID (or the flagged traceback) → continuation
	for _, d := range docs() {
		key := d.Source.RequestID
		if key == "" { // a line of the late traceback: a record of its own, flagged
			key, d.Source.Continuation = "flagged:"+d.Source.Message, d.Source.ParseError
		}
		if _, dup := got[key]; dup {
			t.Errorf("%s stored twice", key)
		}
		got[key] = d.Source.Continuation
	}
	trim := func(s string) string { return strings.TrimSuffix(s, "\n") }
	want := map[string]string{
		run + "-1": trim(traceback(1)), run + "-2": "", run + "-3": trim(traceback(3)), run + "-4": trim(traceback(4)), run + "-5": "",
	}
	for _, line := range strings.Split(trim(traceback(2)), "\n") {
		want["flagged:"+line] = "not_json"
	}
	if len(got) != len(want) {
		t.Errorf("documents %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: continuation %q, want %q", k, got[k], w)
		}
	}
}
