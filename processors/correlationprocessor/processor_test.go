package correlationprocessor

import (
	"context"
	"errors"
	"fmt"
	"github.com/recobs/recobs/processors/correlationprocessor/internal/metadata"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/recobs/recobs/internal/contract/logschema"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

type pair struct {
	traces processor.Traces
	logs   processor.Logs
	tsink  *consumertest.TracesSink
	lsink  *consumertest.LogsSink
}

// newPair builds the traces and logs instances separately, as two pipelines would.
func newPair(t *testing.T, mutate func(*Config)) *pair {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = 300 * time.Millisecond
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := &pair{tsink: new(consumertest.TracesSink), lsink: new(consumertest.LogsSink)}
	var err error
	if p.traces, err = f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, p.tsink); err != nil {
		t.Fatal(err)
	}
	if p.logs, err = f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, p.lsink); err != nil {
		t.Fatal(err)
	}
	if err := p.traces.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := p.logs.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.logs.Shutdown(context.Background())
		_ = p.traces.Shutdown(context.Background())
	})
	return p
}

func span(requestID string, n byte) ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("recommendation_pipeline")
	s.SetTraceID(pcommon.TraceID{0xaa, n})
	s.SetSpanID(pcommon.SpanID{0xbb, n})
	s.Attributes().PutEmptySlice("http.request.header.x-request-id").AppendEmpty().SetStr(requestID)
	return td
}

func logLine(requestID, body string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "legacy-svc")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(body)
	if requestID != "" {
		lr.Attributes().PutStr("request_id", requestID)
	}
	return ld
}

// records returns every record the logs side has sent on, by body.
func (p *pair) records() map[string]plog.LogRecord {
	out := map[string]plog.LogRecord{}
	for _, ld := range p.lsink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out[lrs.At(k).Body().Str()] = lrs.At(k)
				}
			}
		}
	}
	return out
}

func TestSpanFirstThenLog(t *testing.T) {
	p := newPair(t, nil)
	ctx := context.Background()
	_ = p.traces.ConsumeTraces(ctx, span("req-1", 1))
	_ = p.logs.ConsumeLogs(ctx, logLine("req-1", "handled"))
	r, ok := p.records()["handled"]
	if !ok {
		t.Fatal("a matched record must go on at once")
	}
	if r.TraceID() != (pcommon.TraceID{0xaa, 1}) || r.SpanID() != (pcommon.SpanID{0xbb, 1}) {
		t.Fatalf("stamped %s/%s", r.TraceID(), r.SpanID())
	}
	if p.tsink.SpanCount() != 1 {
		t.Fatal("traces must pass through")
	}
}

func TestLogFirstThenSpanWithinWindow(t *testing.T) {
	p := newPair(t, func(c *Config) { c.Window = 5 * time.Second })
	ctx := context.Background()
	_ = p.logs.ConsumeLogs(ctx, logLine("req-2", "early"))
	if _, ok := p.records()["early"]; ok {
		t.Fatal("an unmatched record must wait for its span")
	}
	_ = p.traces.ConsumeTraces(ctx, span("req-2", 2))
	testenv.Eventually(t, 5*time.Second, func() bool { _, ok := p.records()["early"]; return ok }, "record not released after its span came")
	r := p.records()["early"]
	if r.TraceID() != (pcommon.TraceID{0xaa, 2}) {
		t.Fatalf("want it stamped with the late span, got %s", r.TraceID())
	}
	if svc, _ := p.lsink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().Get("service.name"); svc.Str() != "legacy-svc" {
		t.Error("a released record keeps its resource")
	}
}

func TestWindowExpiryReleasesUnstampedAndFlagged(t *testing.T) {
	p := newPair(t, func(c *Config) { c.CopyRequestIDWhenUnmatched = true })
	_ = p.logs.ConsumeLogs(context.Background(), logLine("req-3", "orphan"))
	testenv.Eventually(t, 5*time.Second, func() bool { _, ok := p.records()["orphan"]; return ok }, "record never released")
	r := p.records()["orphan"]
	un, _ := r.Attributes().Get(UnmatchedAttribute)
	copied, _ := r.Attributes().Get(RequestTraceIDAttribute)
	if !r.TraceID().IsEmpty() || !un.Bool() || copied.Str() != "req-3" {
		t.Fatalf("want unstamped, flagged, with the request id as the fallback: %v", r.Attributes().AsRaw())
	}
}

// TestNoWindowHoldsNothing: with window 0 an unmatched record goes on at once, flagged.
func TestNoWindowHoldsNothing(t *testing.T) {
	p := newPair(t, func(c *Config) { c.Window = 0 })
	_ = p.logs.ConsumeLogs(context.Background(), logLine("req-9", "now"))
	r, ok := p.records()["now"]
	if !ok {
		t.Fatal("with no window nothing may wait")
	}
	if un, _ := r.Attributes().Get(UnmatchedAttribute); !un.Bool() {
		t.Error("flag it unmatched")
	}
}

func TestPassThrough(t *testing.T) {
	p := newPair(t, nil)
	ld := logLine("", "no request id")
	joined := logLine("req-x", "already joined")
	joined.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTraceID(pcommon.TraceID{9})
	_ = p.logs.ConsumeLogs(context.Background(), ld)
	_ = p.logs.ConsumeLogs(context.Background(), joined)
	rs := p.records()
	if _, ok := rs["no request id"]; !ok {
		t.Error("a record without a request id goes straight on")
	}
	if r, ok := rs["already joined"]; !ok || r.TraceID() != (pcommon.TraceID{9}) {
		t.Error("a record with trace context goes straight on, untouched")
	}
}

func TestCapReleasesOldestNeverDrops(t *testing.T) {
	p := newPair(t, func(c *Config) { c.MaxWaitingRecords = 2; c.Window = time.Minute; c.TTL = time.Minute })
	for i := range 5 {
		_ = p.logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("req-%d", i), fmt.Sprintf("line-%d", i)))
	}
	rs := p.records()
	if len(rs) != 3 {
		t.Fatalf("with room for 2, the 3 oldest must have been released at once; got %d", len(rs))
	}
	for i := range 3 {
		if r, ok := rs[fmt.Sprintf("line-%d", i)]; !ok {
			t.Errorf("line-%d not released first", i)
		} else if un, _ := r.Attributes().Get(UnmatchedAttribute); !un.Bool() {
			t.Errorf("line-%d released early must be flagged", i)
		}
	}
	if err := p.logs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(p.records()); got != 5 {
		t.Fatalf("shutdown must release every waiting record: %d of 5", got)
	}
}

func TestTableBoundedByEntries(t *testing.T) {
	tb := newTable(1000, time.Hour)
	now := time.Now()
	for i := range 5000 {
		tb.learn(fmt.Sprintf("r%d", i), ids{}, now)
	}
	const capTotal = 1000
	if tb.len() != capTotal || tb.evictions() != uint64(5000-capTotal) {
		t.Fatalf("len %d evicted %d, want %d and %d", tb.len(), tb.evictions(), capTotal, 5000-capTotal)
	}
	if _, ok := tb.lookup("r4999", now); !ok {
		t.Fatal("the newest entry must be kept")
	}
	if _, ok := tb.lookup("r0", now); ok {
		t.Fatal("the oldest entry must have been evicted")
	}
}

func TestTableExpiresByTTLAndReturnsMemory(t *testing.T) {
	tb := newTable(10_000, time.Minute)
	start := time.Unix(1_700_000_000, 0)
	for i := range 3000 {
		tb.learn(fmt.Sprintf("r%d", i), ids{span: pcommon.SpanID{byte(i)}}, start.Add(time.Duration(i)*time.Millisecond))
	}
	tb.expire(start.Add(time.Minute + 1500*time.Millisecond))
	if n := tb.len(); n != 1500 {
		t.Fatalf("after expiry %d entries remain, want the 1500 learned from 1.5 s on", n)
	}
	if _, ok := tb.lookup("r2999", start.Add(time.Minute)); !ok {
		t.Fatal("an entry within its TTL must be found")
	}
	if _, ok := tb.lookup("r2999", start.Add(2*time.Minute)); ok {
		t.Fatal("an entry past its TTL must not be found even before expire runs")
	}
	tb.expire(start.Add(time.Hour))
	if tb.len() != 0 {
		t.Fatalf("%d entries outlived their TTL", tb.len())
	}
	for i := range tb.shards {
		if tb.shards[i].ring != nil {
			t.Fatal("a drained shard must give its memory back")
		}
	}
}

func TestCapacityHonoursBytes(t *testing.T) {
	if got := capacity(1_000_000, 32<<20); got != (32<<20)/entryBytes {
		t.Fatalf("capacity %d", got)
	}
	if got := capacity(1000, 128<<20); got != 1000 {
		t.Fatalf("capacity %d", got)
	}
}

// TestTableBytesPerEntry holds the table to entryBytes, the figure max_bytes is converted
// with, at sizes that catch the maps just before and after they grow: a million request IDs
// a minute within the configured memory.
func TestTableBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million entries")
	}
	keys := make([]string, 1_000_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", i, i&0xffff, i&0xfff, i&0xfff, i)
	}
	for _, n := range []int{230_000, 460_000, 800_000, 1_000_000} {
		before := heapInUse()
		tb := newTable(n, time.Minute)
		now := time.Now()
		for i, k := range keys[:n] {
			tb.learn(k, ids{trace: pcommon.TraceID{byte(i)}}, now.Add(time.Duration(i)*60*time.Microsecond))
		}
		after := heapInUse()
		perEntry := float64(after-before) / float64(n)
		t.Logf("%d request IDs learned: %.1f bytes each, %.1f MiB", n, perEntry, float64(after-before)/(1<<20))
		if tb.len() != n {
			t.Fatalf("the table holds %d of %d", tb.len(), n)
		}
		if perEntry > entryBytes {
			t.Fatalf("%.1f bytes per entry exceeds entryBytes (%d): max_bytes would be exceeded", perEntry, entryBytes)
		}
		runtime.KeepAlive(tb)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestConcurrentPipelinesUnderRace(t *testing.T) {
	p := newPair(t, func(c *Config) { c.Window = 2 * time.Second })
	var wg sync.WaitGroup
	const n = 400
	for g := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range n {
				_ = p.logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("g%d-%d", g, i)))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range n {
				_ = p.traces.ConsumeTraces(context.Background(), span(fmt.Sprintf("g%d-%d", g, i), byte(i)))
			}
		}()
	}
	wg.Wait()
	testenv.Eventually(t, 10*time.Second, func() bool { return len(p.records()) == 2*n }, "want %d records out", 2*n)
	for body, r := range p.records() {
		if r.TraceID().IsEmpty() {
			t.Fatalf("%s: its span arrived within the window, yet it went out unstamped", body)
		}
	}
}

// BenchmarkLearn1M: the table holding a million request IDs; reports bytes per entry.
func BenchmarkLearn1M(b *testing.B) {
	ids1m := make([]string, 1_000_000)
	for i := range ids1m {
		ids1m[i] = fmt.Sprintf("%032x", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb := newTable(len(ids1m), time.Minute)
		now := time.Now()
		for _, id := range ids1m {
			tb.learn(id, ids{}, now)
		}
	}
	b.ReportMetric(float64(len(ids1m))*float64(b.N)/b.Elapsed().Seconds(), "ids/s")
}

func TestSelfMetricsShowTableAndWaiting(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.MaxEntries = 2
	cfg.Window = time.Hour
	set := processortest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	lsink := new(consumertest.LogsSink)
	traces, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	logs, err := f.CreateLogs(context.Background(), set, cfg, lsink)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface {
		Start(context.Context, component.Host) error
	}{traces, logs} {
		if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if err := traces.ConsumeTraces(context.Background(), span(fmt.Sprintf("r%d", i), byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := logs.ConsumeLogs(context.Background(), logLine("r4", "matched")); err != nil {
		t.Fatal(err)
	}
	if err := logs.ConsumeLogs(context.Background(), logLine("never", "waits")); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"recobs_correlation_table_entries":   2,
		"recobs_correlation_table_evictions": 3,
		"recobs_correlation_waiting_records": 1,
		"recobs_correlation_log_records":     1,
	}
	for name, v := range want {
		m, err := tel.GetMetric(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := sumInt64(m); got != v {
			t.Errorf("%s = %d, want %d", name, got, v)
		}
	}
	if err := logs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := traces.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lsink.LogRecordCount() != 2 {
		t.Fatalf("%d records out, want both", lsink.LogRecordCount())
	}
}

func sumInt64(m metricdata.Metrics) int64 {
	var n int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			n += p.Value
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			n += p.Value
		}
	}
	return n
}

// BenchmarkStampLogs: the logs side on batches of 1,000 records whose spans are known.
func BenchmarkStampLogs(b *testing.B) {
	tb := newTable(1_000_000, time.Hour)
	now := time.Now()
	const batch = 1000
	for i := range batch {
		tb.learn(fmt.Sprintf("req-%d", i), ids{trace: pcommon.TraceID{1}, span: pcommon.SpanID{1}}, now)
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Window = 0
	telemetry, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	s := &stamper{cfg: cfg, next: consumertest.NewNop(), table: tb, now: time.Now, telemetry: telemetry}
	tmpl := plog.NewLogs()
	lrs := tmpl.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range batch {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr("recommendation_request")
		lr.Attributes().PutStr("request_id", fmt.Sprintf("req-%d", i))
	}
	ld := plog.NewLogs()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tmpl.CopyTo(ld)
		b.StartTimer()
		if err := s.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "logs/s")
}

// BenchmarkLearnSpans: the traces side on batches of 1,000 server spans.
func BenchmarkLearnSpans(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	l := &learner{cfg: cfg, table: newTable(1_000_000, time.Hour), now: time.Now}
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	n := 0
	for range 1000 {
		s := spans.AppendEmpty()
		s.Attributes().PutEmptySlice(cfg.SpanAttribute).AppendEmpty().SetStr(fmt.Sprintf("req-%d", n))
		n++
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.process(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// refusingLogs refuses every batch, as a memory limiter under pressure does.
type refusingLogs struct{ consumertest.LogsSink }

func (*refusingLogs) ConsumeLogs(context.Context, plog.Logs) error {
	return errors.New("memory limit reached")
}

// TestShutdownCountsWhatItCannotRelease: without storage, records still waiting when the next
// consumer refuses them at shutdown are lost; they are counted (lost_at_shutdown), not only
// logged.
func TestShutdownCountsWhatItCannotRelease(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Store = t.Name()
	cfg.Window = time.Hour
	set := processortest.NewNopSettings(f.Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	logs, err := f.CreateLogs(context.Background(), set, cfg, &refusingLogs{})
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := logs.ConsumeLogs(context.Background(), logLine(fmt.Sprintf("wait-%d", i), "line")); err != nil {
			t.Fatal(err)
		}
	}
	if err := logs.Shutdown(context.Background()); err == nil {
		t.Fatal("shutdown must report that it could not release the records")
	}
	m, err := tel.GetMetric("recobs_correlation_log_records")
	if err != nil {
		t.Fatal(err)
	}
	var lost int64
	for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, _ := p.Attributes.Value("outcome"); v.AsString() == "lost_at_shutdown" {
			lost += p.Value
		}
	}
	if lost != 3 {
		t.Fatalf("lost_at_shutdown = %d, want 3", lost)
	}
}

// TestRecordsKeepTheirPlaceInTheRequest: records without log.record.uid get their place in
// the request they came in, before any of them waits; a record with a uid gets none.
func TestRecordsKeepTheirPlaceInTheRequest(t *testing.T) {
	p := newPair(t, nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, req := range []string{"r-1", "r-1", "", "r-2"} { // two identical records that wait
		lr := lrs.AppendEmpty()
		lr.Body().SetStr("cache_miss")
		if req != "" {
			lr.Attributes().PutStr("request_id", req)
		}
		if i == 3 {
			lr.Attributes().PutStr(recordUIDAttribute, "line-uid")
		}
	}
	if err := p.logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return p.lsink.LogRecordCount() == 4 }, "records released")
	var positions []any
	for _, got := range p.lsink.AllLogs() {
		for i := 0; i < got.ResourceLogs().Len(); i++ {
			rl := got.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < rl.Len(); j++ {
				v, ok := rl.At(j).Attributes().Get(logschema.RecordPosition)
				if !ok {
					positions = append(positions, nil)
					continue
				}
				positions = append(positions, v.Int())
			}
		}
	}
	seen := map[any]int{}
	for _, p := range positions {
		seen[p]++
	}
	if len(positions) != 4 || seen[int64(0)] != 1 || seen[int64(1)] != 1 || seen[int64(2)] != 1 || seen[nil] != 1 {
		t.Fatalf("positions %v, want 0, 1, 2 and none for the record with a uid", positions)
	}
}
