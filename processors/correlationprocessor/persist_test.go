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
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

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
	tel := componenttest.NewTelemetry()
	defer func() { _ = tel.Shutdown(context.Background()) }()
	set2 := set
	set2.TelemetrySettings = tel.NewTelemetrySettings()
	logs2, err := f.CreateLogs(context.Background(), set2, cfg, sink2)
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
	// The account's term for them: accepted by the last run, taken back by this one.
	if m, err := tel.GetMetric("recobs_correlation_restored_records"); err != nil || m.Data.(metricdata.Sum[int64]).DataPoints[0].Value != 3 {
		t.Fatalf("recobs_correlation_restored_records: %+v, %v; want 3", m, err)
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

// TestRefusedRoomHoldsNothingTwice: when the buffer is full and the next consumer refuses the
// oldest record released to make room, the batch is refused whole and nothing of it waits, so
// the caller's retry holds each record once: every record goes on exactly once.
func TestRefusedRoomHoldsNothingTwice(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = time.Hour
	cfg.MaxWaitingRecords = 2
	sink := &failOnce{}
	logs, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	st := logs.(*stamper)
	for i := range 2 {
		if err := logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("nospan-%d", i), fmt.Sprintf("line-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	third := func() plog.Logs { return logLine("nospan-2", "line-2") }
	if err := logs.ConsumeLogs(context.Background(), third()); err == nil {
		t.Fatal("the refusal of the record released to make room must reach the caller")
	}
	if n := st.waitingRecords(); n != 2 {
		t.Fatalf("%d records wait after the refused batch, want the 2 held before it", n)
	}
	if err := logs.ConsumeLogs(context.Background(), third()); err != nil { // the caller's retry
		t.Fatal(err)
	}
	if err := logs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs()
		for i := 0; i < lrs.Len(); i++ {
			seen[lrs.At(i).ScopeLogs().At(0).LogRecords().At(0).Body().Str()]++
		}
	}
	if len(seen) != 3 || seen["line-0"] != 1 || seen["line-1"] != 1 || seen["line-2"] != 1 {
		t.Fatalf("records sent on: %v, want each of line-0..2 once", seen)
	}
}

// BenchmarkWaitingRecords: the path of lines with a request ID and no trace context whose span
// has not come yet (a seed-style service's lines between two span exports): each waits, kept
// in the real file_storage, and goes on when its span arrives. Batches of 1,000 records; the
// spans come one batch later. Reports records/s.
func BenchmarkWaitingRecords(b *testing.B) {
	_, ext, host := testenv.StartFileStorage(b, b.TempDir())
	defer func() { _ = ext.Shutdown(context.Background()) }()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = b.Name()
	storeID := component.MustNewID("file_storage")
	cfg.StorageID = &storeID
	set := processortest.NewNopSettings(f.Type())
	traces, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	sink := new(countingLogs)
	logs, err := f.CreateLogs(context.Background(), set, cfg, sink)
	if err != nil {
		b.Fatal(err)
	}
	if err := traces.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	if err := logs.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for range batch {
			lr := lrs.AppendEmpty()
			lr.Body().SetStr("cache_lookup")
			lr.Attributes().PutStr("request_id", fmt.Sprintf("req-%d", n))
			lr.Attributes().PutStr(recordUIDAttribute, fmt.Sprintf("uid-%d", n))
			s := spans.AppendEmpty()
			s.SetTraceID(pcommon.TraceID{1, byte(n)})
			s.SetSpanID(pcommon.SpanID{1, byte(n)})
			s.Attributes().PutEmptySlice(cfg.SpanAttribute).AppendEmpty().SetStr(fmt.Sprintf("req-%d", n))
			n++
		}
		if err := logs.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
		if err := traces.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	if err := logs.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	_ = traces.Shutdown(context.Background())
	if got := sink.n.Load(); got != int64(n) {
		b.Fatalf("%d of %d records went on", got, n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

type countingLogs struct{ n atomic.Int64 }

func (c *countingLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.n.Add(int64(ld.LogRecordCount()))
	return nil
}

// boundedLogs refuses, for good, any request larger than a bounded queue could ever take.
type boundedLogs struct {
	consumertest.LogsSink
	largest atomic.Int64
}

func (b *boundedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := int64(ld.LogRecordCount())
	if n > 1000 { // what the next consumer's queue holds at most
		return errors.New("request larger than the queue")
	}
	b.largest.Store(max(b.largest.Load(), n))
	return b.LogsSink.ConsumeLogs(ctx, ld)
}

// TestReleasesAreBounded: however many records are due at once (all of a restart's reloaded
// records share one deadline), they go on in requests of at most maxRelease records.
func TestReleasesAreBounded(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = time.Hour
	sink := &boundedLogs{}
	logs, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lrs.AppendEmpty().Attributes().PutStr("request_id", fmt.Sprintf("nospan-%d", i))
	}
	if err := logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if err := logs.Shutdown(context.Background()); err != nil { // releases all 2,500 at once
		t.Fatal(err)
	}
	if got := sink.LogRecordCount(); got != n {
		t.Fatalf("%d of %d records went on (the largest request %d)", got, n, sink.largest.Load())
	}
}
