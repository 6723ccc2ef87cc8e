package jsonlogreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestTimelessLinesGetAReproducibleTime: a line without a timestamp is observed at the time of
// the last line before it that had one — in the same batch, or carried with the file's offset
// across batches and restarts — so a re-read gives it the same time (and daily index), never
// the time of the read.
func TestTimelessLinesGetAReproducibleTime(t *testing.T) {
	logs, storage := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "recsvc.log")
	appendRaw(t, path, `{"timestamp":"2026-12-06T23:59:58.000Z","level":"info","event":"a"}`+"\n"+
		`{"level":"info","event":"b"}`+"\n"+
		`{"timestamp":"2026-12-06T23:59:59.000Z","level":"info","event":"c"}`+"\n"+
		`{"timestamp":"yesterday","level":"info","event":"d"}`+"\n")
	want := map[string]time.Time{
		"b": time.Date(2026, 12, 6, 23, 59, 58, 0, time.UTC),
		"d": time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC),
	}
	observed := func(sink *consumertest.LogsSink) map[string]time.Time {
		out := map[string]time.Time{}
		eachRecord(sink, func(lr plog.LogRecord) {
			if lr.Timestamp() == 0 {
				out[lr.Body().Str()] = lr.ObservedTimestamp().AsTime().UTC()
			}
		})
		return out
	}
	first := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return first.sink.LogRecordCount() == 4 }, "first read")
	got := observed(first.sink)
	for e, w := range want {
		if !got[e].Equal(w) {
			t.Errorf("%s: observed %v, want %v (the line before it)", e, got[e], w)
		}
	}
	first.stop()

	// After a restart the time carried with the offset goes on: not the time of this read.
	appendRaw(t, path, `{"level":"info","event":"e"}`+"\n"+`{"timestamp":"2026-12-07T00:00:01.000Z","level":"info","event":"f"}`+"\n")
	again := startWithStorage(t, logs, storage, "recsvc.log")
	testenv.Eventually(t, 10*time.Second, func() bool { return again.sink.LogRecordCount() == 2 }, "second read")
	if got := observed(again.sink); !got["e"].Equal(want["d"]) {
		t.Errorf("e after a restart: observed %v, want %v (carried with the offset)", got["e"], want["d"])
	}

	// A collector that reads the file again from its start gives every line the same time.
	fresh := startOn(t, logs)
	testenv.Eventually(t, 10*time.Second, func() bool { return fresh.LogRecordCount() == 6 }, "a fresh read")
	got = observed(fresh)
	want["e"] = want["d"]
	for e, w := range want {
		if !got[e].Equal(w) {
			t.Errorf("%s on a fresh read: observed %v, want %v", e, got[e], w)
		}
	}
}
