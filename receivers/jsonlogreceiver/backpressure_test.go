package jsonlogreceiver

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// refusingSink refuses every batch while closed, as memory_limiter does under pressure.
type refusingSink struct {
	consumertest.LogsSink
	mu       sync.Mutex
	closed   bool
	refusals int
}

func (s *refusingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *refusingSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	s.mu.Lock()
	if s.closed {
		s.refusals++
		s.mu.Unlock()
		return errors.New("memory limit reached")
	}
	s.mu.Unlock()
	return s.LogsSink.ConsumeLogs(ctx, ld)
}

func (s *refusingSink) set(closed bool) {
	s.mu.Lock()
	s.closed = closed
	s.mu.Unlock()
}

func (s *refusingSink) refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// TestBackpressureStopsReadingLosesNothing: while the pipeline refuses, the receiver keeps
// offering the same batch (reading stops); when it accepts again, every line arrives once.
func TestBackpressureStopsReadingLosesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	appendLines(t, path, 0, 500)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{path}
	cfg.InputConfig.PollInterval = 20 * time.Millisecond
	cfg.Retry.InitialInterval = 10 * time.Millisecond
	cfg.Retry.MaxInterval = 50 * time.Millisecond
	sink := &refusingSink{closed: true}
	startReceiver(t, cfg, sink)

	testenv.Eventually(t, 10*time.Second, func() bool { return sink.refused() >= 5 }, "the receiver must retry a refused batch")
	if n := sink.LogRecordCount(); n != 0 {
		t.Fatalf("%d records got through a refusing pipeline", n)
	}
	appendLines(t, path, 500, 1000) // more lines arrive meanwhile
	sink.set(false)
	expectEachOnce(t, &sink.LogsSink, 1000)
}
