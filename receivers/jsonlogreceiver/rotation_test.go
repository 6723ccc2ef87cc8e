package jsonlogreceiver

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// startOn starts a receiver on dir/*.log* (rotated files included, as stanza follows them by
// fingerprint).
func startOn(t *testing.T, dir string) *consumertest.LogsSink {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(dir, "recsvc.log*")}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	sink := new(consumertest.LogsSink)
	startReceiver(t, cfg, sink)
	return sink
}

// startReceiver creates and starts a receiver with cfg sending to next; it is shut down when
// the test ends.
func startReceiver(t *testing.T, cfg *Config, next consumer.Logs) {
	t.Helper()
	f := NewFactory()
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
}

func line(i int) string {
	return fmt.Sprintf(`{"timestamp":"2026-11-27T10:00:00.000Z","level":"info","logger":"t","event":"e","request_id":"r-%05d"}`+"\n", i)
}

// requestIDs counts each request_id the sink received.
func requestIDs(sink *consumertest.LogsSink) map[string]int {
	seen := map[string]int{}
	eachRecord(sink, func(lr plog.LogRecord) {
		if v, ok := lr.Attributes().Get("request_id"); ok {
			seen[v.Str()]++
		}
	})
	return seen
}

func expectEachOnce(t *testing.T, sink *consumertest.LogsSink, n int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() bool { return len(requestIDs(sink)) >= n }, "want %d lines, have %d", n, len(requestIDs(sink)))
	for id, c := range requestIDs(sink) {
		if c != 1 {
			t.Errorf("%s read %d times", id, c)
		}
	}
	if got := sink.LogRecordCount(); got != n {
		t.Errorf("want %d records, got %d", n, got)
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		if _, err := io.WriteString(f, line(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreateRotation: the file is renamed away and a new one created (what recsvc's writer
// does); lines on both sides of the rotation arrive once.
func TestCreateRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	sink := startOn(t, dir)
	appendLines(t, path, 0, 500)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 500 }, "first lines")
	appendLines(t, path, 500, 600) // written just before the rotation
	rotate(t, path, "create")
	appendLines(t, path, 600, 1000)
	expectEachOnce(t, sink, 1000)
}

// TestCopyTruncateRotation: the file is copied away and truncated in place (logrotate's
// copytruncate); the lines after the truncation are read from the start of the file.
func TestCopyTruncateRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	sink := startOn(t, dir)
	appendLines(t, path, 0, 500)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 500 }, "first lines")
	rotate(t, path, "copytruncate")
	appendLines(t, path, 500, 800)
	expectEachOnce(t, sink, 800)
}
