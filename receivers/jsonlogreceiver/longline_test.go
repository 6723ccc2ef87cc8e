package jsonlogreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// bodiesAndFlags lists each record's body with its parse error, in order.
func bodiesAndFlags(sink *consumertest.LogsSink) (bodies, flags []string) {
	eachRecord(sink, func(lr plog.LogRecord) {
		bodies = append(bodies, lr.Body().AsString())
		f, _ := lr.Attributes().Get(ParseErrorAttribute)
		flags = append(flags, f.AsString())
	})
	return bodies, flags
}

// TestOverLongLineFlaggedInBothPieces: a line past max_log_size arrives in pieces, each flagged
// truncated — the continuation too, also when it lands in the next batch — while a line of
// exactly max_log_size bytes is one record, not flagged.
func TestOverLongLineFlaggedInBothPieces(t *testing.T) {
	const maxSize = 1024
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	exact := strings.Repeat("e", maxSize)
	long := strings.Repeat("l", maxSize+300)
	appendRaw(t, path, "first\n"+exact+"\n"+long+"\nlast\n")
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(dir, "recsvc.log")}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	cfg.InputConfig.MaxLogSize = maxSize
	sink := new(consumertest.LogsSink)
	startReceiver(t, cfg, sink)
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.LogRecordCount() >= 5 }, "records")
	bodies, flags := bodiesAndFlags(sink)
	want := []struct{ body, flag string }{
		{"first", "not_json"}, {exact, "not_json"}, {long[:maxSize], "truncated,not_json"}, {long[maxSize:], "truncated,not_json"}, {"last", "not_json"},
	}
	if len(bodies) != len(want) {
		t.Fatalf("%d records, want %d: %q", len(bodies), len(want), flags)
	}
	for i, w := range want {
		if bodies[i] != w.body || flags[i] != w.flag {
			t.Errorf("record %d: %d bytes flagged %q, want %d bytes flagged %q", i, len(bodies[i]), flags[i], len(w.body), w.flag)
		}
	}
}
