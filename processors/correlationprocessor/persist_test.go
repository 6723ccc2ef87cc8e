package correlationprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestWaitingRecordsSurviveACrash: records waiting for their span are in file_storage; a
// process that dies without shutting down leaves them there, and the next start sends them
// on — stamped if their span is known by then — and removes them from the store.
func TestWaitingRecordsSurviveACrash(t *testing.T) {
	dir := t.TempDir()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = 3 * time.Second
	storeID := component.MustNewID("file_storage")
	cfg.StorageID = &storeID
	set := processortest.NewNopSettings(f.Type())

	// First run: three records wait; then the process "dies": the ticker stops, nothing is
	// released, the storage is closed as the kernel would close its file.
	_, ext, host := testenv.StartFileStorage(t, dir)
	sink := new(consumertest.LogsSink)
	logs, err := f.CreateLogs(context.Background(), set, cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("req-%d", i), fmt.Sprintf("line-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if sink.LogRecordCount() != 0 {
		t.Fatal("the records must be waiting")
	}
	crash(t, logs.(*stamper))
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Second run on the same directory: the span of req-1 is known this time.
	_, ext, host = testenv.StartFileStorage(t, dir)
	defer func() { _ = ext.Shutdown(context.Background()) }()
	traces, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	sink2 := new(consumertest.LogsSink)
	logs2, err := f.CreateLogs(context.Background(), set, cfg, sink2)
	if err != nil {
		t.Fatal(err)
	}
	if err := traces.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if err := logs2.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if err := traces.ConsumeTraces(context.Background(), span("req-1", 1)); err != nil {
		t.Fatal(err)
	}
	p := &pair{lsink: sink2}
	testenv.Eventually(t, 10*time.Second, func() bool { return sink2.LogRecordCount() >= 1 }, "the record whose span came must go on")
	if r := p.records()["line-1"]; r.TraceID().IsEmpty() {
		t.Fatal("line-1 must be stamped with its span's trace")
	}
	if err := logs2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := traces.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(p.records()); got != 3 {
		t.Fatalf("after the restart %d of the 3 waiting records went on", got)
	}

	// Third run: nothing is left in the store.
	sink3 := new(consumertest.LogsSink)
	logs3, err := f.CreateLogs(context.Background(), set, cfg, sink3)
	if err != nil {
		t.Fatal(err)
	}
	if err := logs3.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if err := logs3.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := sink3.LogRecordCount(); n != 0 {
		t.Fatalf("%d records sent twice", n)
	}
}

// crash stops the stamper's ticker and drops it without releasing anything.
func crash(t *testing.T, s *stamper) {
	t.Helper()
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
		if s.telemetry != nil {
			s.telemetry.Shutdown()
		}
		release(s.cfg)
		_ = s.store.close(context.Background())
	})
}

// failOnce refuses its first batch, then keeps what it is given.
type failOnce struct {
	consumertest.LogsSink
	failed atomic.Bool
}

func (f *failOnce) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("queue full")
	}
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

// TestRefusedReleaseWaitsAgain: when the next consumer refuses released records, they go
// back to the front of the buffer and are sent on the next tick — never dropped.
func TestRefusedReleaseWaitsAgain(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = 200 * time.Millisecond
	sink := &failOnce{}
	logs, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logs.Shutdown(context.Background()) }()
	for i := range 3 {
		if err := logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("nospan-%d", i), fmt.Sprintf("line-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return sink.failed.Load() && sink.LogRecordCount() == 3 },
		"after one refusal, all 3 records must still arrive: %d", sink.LogRecordCount())
}
