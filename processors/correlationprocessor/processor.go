package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recobs/recobs/internal/contract/logschema"
	"github.com/recobs/recobs/processors/correlationprocessor/internal/metadata"
)

// recordUIDAttribute is OTel's log.record.uid: a record that has one (the json_log receiver's)
// needs no position.
const recordUIDAttribute = "log.record.uid"

// Attributes set on records that waited in vain.
const (
	UnmatchedAttribute      = "correlation.unmatched"
	RequestTraceIDAttribute = "correlation.request_trace_id"
)

// requestID reads a request ID attribute: a string, or the first string of a list (as in
// http.request.header.x-request-id).
func requestID(attrs pcommon.Map, key string) string {
	v, ok := attrs.Get(key)
	if !ok {
		return ""
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeSlice:
		if v.Slice().Len() > 0 {
			return v.Slice().At(0).AsString()
		}
	}
	return ""
}

// learner is the traces side: it passes traces on untouched and learns request IDs.
type learner struct {
	cfg   *Config
	table *table
	now   func() time.Time
}

func (l *learner) start(context.Context, component.Host) error {
	l.table = acquire(l.cfg)
	return nil
}

func (l *learner) shutdown(context.Context) error {
	if l.table != nil {
		release(l.cfg)
	}
	return nil
}

func (l *learner) process(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	now := l.now()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				if id := requestID(s.Attributes(), l.cfg.SpanAttribute); id != "" {
					l.table.learn(id, ids{trace: s.TraceID(), span: s.SpanID()}, now)
				}
			}
		}
	}
	return td, nil
}

// waiting is one log record held for its span, alone in its own plog.Logs with its
// resource and scope.
type waiting struct {
	seq       uint64 // its key in the wait store
	requestID string
	logs      plog.Logs
	bytes     int
	deadline  time.Time
}

// stamper is the logs side.
type stamper struct {
	cfg    *Config
	id     component.ID
	next   consumer.Logs
	logger *zap.Logger
	store  *waitStore // nil: waiting records live in memory only
	now    func() time.Time
	table  *table
	sizer  plog.ProtoMarshaler

	mu           sync.Mutex
	queue        *list.List // of *waiting, oldest first
	waitingBytes int

	telemetry *metadata.TelemetryBuilder // nil in tests that build a stamper by hand
	shared    atomic.Pointer[table]      // table, for the metrics callback
	stop      chan struct{}
	done      chan struct{}
	stopOnce  sync.Once
}

func (s *stamper) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (s *stamper) Start(ctx context.Context, host component.Host) error {
	s.mu.Lock()
	s.queue = list.New()
	s.mu.Unlock()
	if s.cfg.StorageID != nil {
		store, loaded, err := openWaitStore(ctx, host, *s.cfg.StorageID, s.id, s.cfg.LogAttribute)
		if store == nil {
			return err
		}
		if err != nil {
			s.logger.Error("some waiting records from the last run could not be read", zap.Error(err))
		}
		s.store = store
		// What the last run left waiting waits again, a full window, for its span.
		deadline := s.now().Add(s.cfg.Window)
		s.mu.Lock()
		for _, w := range loaded {
			w.deadline = deadline
			s.queue.PushBack(w)
			s.waitingBytes += w.bytes
		}
		s.mu.Unlock()
		if len(loaded) > 0 {
			s.logger.Info("records left waiting by the last run are waiting again", zap.Int("records", len(loaded)))
			if s.telemetry != nil {
				s.telemetry.CorrelationRestoredRecords.Add(ctx, int64(len(loaded)))
			}
		}
	}
	s.table = acquire(s.cfg)
	s.shared.Store(s.table)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	tick := max(s.cfg.Window/10, 20*time.Millisecond)
	go func() {
		defer close(s.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.releaseDue(context.Background(), false)
				s.table.expire(s.now())
			}
		}
	}()
	return nil
}

// shutdownAttempts is how often Shutdown offers the waiting records to a consumer that
// refuses them (a memory limiter under pressure) before it gives up on them.
const shutdownAttempts = 5

// Shutdown releases every waiting record. What the next consumer still refuses stays in the
// storage for the next start when there is one; without storage it is lost, and counted
// (outcome lost_at_shutdown) as well as logged.
func (s *stamper) Shutdown(ctx context.Context) error {
	if s.telemetry != nil {
		s.telemetry.Shutdown()
	}
	if s.stop == nil {
		return nil
	}
	var err error
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
		err = s.releaseDue(ctx, true)
		for try := 1; err != nil && try < shutdownAttempts && ctx.Err() == nil; try++ {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(try) * 100 * time.Millisecond):
			}
			err = s.releaseDue(ctx, true)
		}
		if left := s.waitingRecords(); left > 0 {
			if s.store != nil {
				s.logger.Warn("waiting log records stay in storage for the next start", zap.Int("records", left))
			} else {
				s.count(ctx, "lost_at_shutdown", int64(left))
				s.logger.Error("waiting log records lost at shutdown: the next consumer refused them and there is no storage", zap.Int("records", left), zap.Error(err))
			}
		}
		s.shared.Store(nil)
		release(s.cfg)
		if s.store != nil {
			err = errors.Join(err, s.store.close(ctx))
		}
	})
	return err
}

func (s *stamper) waitingRecords() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queue == nil {
		return 0
	}
	return s.queue.Len()
}

func (s *stamper) count(ctx context.Context, outcome string, n int64) {
	if n > 0 {
		s.telemetry.CorrelationLogRecords.Add(ctx, n, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
}

func stamp(lr plog.LogRecord, v ids) {
	lr.SetTraceID(v.trace)
	lr.SetSpanID(v.span)
}

func (s *stamper) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	now := s.now()
	var matched, unmatched, evicted int64
	var held []*waiting
	var heldRecords []plog.LogRecord // held[i]'s record, still in ld
	var heldAt []int64               // held[i]'s position among ld's records, to remove it once room is made
	position := int64(0)             // the record's place in this request (see logschema.RecordPosition)
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				// A request is whole only here: records that wait leave it one by one, and
				// the exporters' batches merge and split requests. A record the receiver
				// gave no identity (OTLP) keeps its place in the request, so two identical
				// records of one request stay two documents.
				at := position
				if _, ok := lr.Attributes().Get(recordUIDAttribute); !ok {
					lr.Attributes().PutInt(logschema.RecordPosition, at)
				}
				position++
				if !lr.TraceID().IsEmpty() {
					continue // the service already joined it
				}
				id := requestID(lr.Attributes(), s.cfg.LogAttribute)
				if id == "" {
					continue
				}
				if v, ok := s.table.lookup(id, now); ok {
					stamp(lr, v)
					matched++
					continue
				}
				if s.cfg.Window == 0 { // no waiting: unmatched now, flagged, sent on with the rest
					unmatched++
					s.flagUnmatched(lr, id)
					continue
				}
				w := &waiting{requestID: id, logs: plog.NewLogs(), deadline: now.Add(s.cfg.Window)}
				wrl := w.logs.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(wrl.Resource())
				wsl := wrl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(wsl.Scope())
				lr.CopyTo(wsl.LogRecords().AppendEmpty())
				w.bytes = s.sizer.LogsSize(w.logs)
				held, heldRecords, heldAt = append(held, w), append(heldRecords, lr), append(heldAt, at)
			}
		}
	}
	if len(held) > 0 {
		// Room first, then hold: when the next consumer refuses what makes room, nothing of
		// this batch is held yet, so the caller's retry holds each record once.
		bytes := 0
		for _, w := range held {
			bytes += w.bytes
		}
		room, byteRoom, err := s.makeRoom(ctx, len(held), bytes)
		if err != nil {
			return err
		}
		// What does not fit even in an empty buffer goes on now, oldest first, flagged.
		next := 0
		for ; next < len(held) && (len(held)-next > room || bytes > byteRoom); next++ {
			bytes -= held[next].bytes
			s.flagUnmatched(heldRecords[next], held[next].requestID)
			evicted++
		}
		held, heldAt = held[next:], heldAt[next:]
		visit := int64(0)
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				sls.At(j).LogRecords().RemoveIf(func(plog.LogRecord) bool {
					wait := len(heldAt) > 0 && heldAt[0] == visit
					if wait {
						heldAt = heldAt[1:]
					}
					visit++
					return wait
				})
			}
		}
		s.hold(ctx, held)
	}
	s.count(ctx, "matched", matched)
	s.count(ctx, "unmatched", unmatched)
	s.count(ctx, "evicted", evicted)
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return s.next.ConsumeLogs(ctx, ld)
}

// hold keeps ws waiting: in the store first, then in the buffer.
func (s *stamper) hold(ctx context.Context, ws []*waiting) {
	if len(ws) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		if err := s.store.hold(ctx, ws); err != nil {
			// Still held, in memory: a crash now could lose them, a refusal here would
			// hand the same records back to a caller that has already moved on.
			s.logger.Warn("waiting records not persisted", zap.Int("records", len(ws)), zap.Error(err))
		}
	}
	for _, w := range ws {
		s.queue.PushBack(w)
		s.waitingBytes += w.bytes
	}
}

// finish stamps the record in ld if its span is known, else flags it; it returns the outcome.
func (s *stamper) finish(ld plog.Logs, requestID string, now time.Time) string {
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if v, ok := s.table.lookup(requestID, now); ok {
		stamp(lr, v)
		return "matched_after_wait"
	}
	s.flagUnmatched(lr, requestID)
	return "unmatched"
}

func (s *stamper) flagUnmatched(lr plog.LogRecord, requestID string) {
	lr.Attributes().PutBool(UnmatchedAttribute, true)
	if s.cfg.CopyRequestIDWhenUnmatched {
		lr.Attributes().PutStr(RequestTraceIDAttribute, requestID)
	}
}

// releaseDue sends on the waiting records whose span arrived or whose window ended (all of
// them when everything is true).
func (s *stamper) releaseDue(ctx context.Context, everything bool) error {
	now := s.now()
	s.mu.Lock()
	var due []*waiting
	for el := s.queue.Front(); el != nil; {
		w := el.Value.(*waiting)
		next := el.Next()
		if _, known := s.table.lookup(w.requestID, now); known || everything || !now.Before(w.deadline) {
			due = append(due, w)
			s.waitingBytes -= w.bytes
			s.queue.Remove(el)
		}
		el = next
	}
	s.mu.Unlock()
	return s.send(ctx, due, now, "unmatched")
}

// makeRoom sends on the oldest waiting records until n more records of size bytes fit within
// the caps (or nothing waits any more), and returns the room left then, in records and bytes.
func (s *stamper) makeRoom(ctx context.Context, n, bytes int) (room, byteRoom int, err error) {
	now := s.now()
	s.mu.Lock()
	var due []*waiting
	for s.queue.Len() > 0 && (s.queue.Len()+n > s.cfg.MaxWaitingRecords || s.waitingBytes+bytes > s.cfg.MaxWaitingBytes) {
		w := s.queue.Remove(s.queue.Front()).(*waiting)
		due = append(due, w)
		s.waitingBytes -= w.bytes
	}
	room, byteRoom = s.cfg.MaxWaitingRecords-s.queue.Len(), s.cfg.MaxWaitingBytes-s.waitingBytes
	s.mu.Unlock()
	return room, byteRoom, s.send(ctx, due, now, "evicted")
}

// send stamps or flags the records in due and hands them on; unmatched names the outcome of
// those whose span never came. If the next consumer refuses them, they wait again at the
// front of the buffer (and in the store): nothing is dropped.
func (s *stamper) send(ctx context.Context, due []*waiting, now time.Time, unmatched string) error {
	for len(due) > 0 {
		n := min(len(due), maxRelease)
		if err := s.sendChunk(ctx, due[:n], now, unmatched); err != nil {
			// This chunk and the ones after it wait again, in their order, at the front.
			s.mu.Lock()
			for i := len(due) - 1; i >= 0; i-- {
				s.queue.PushFront(due[i])
				s.waitingBytes += due[i].bytes
			}
			s.mu.Unlock()
			s.logger.Error("releasing waiting log records failed; they wait again", zap.Int("records", len(due)), zap.Error(err))
			return err
		}
		due = due[n:]
	}
	return nil
}

// maxRelease bounds the records one release hands on at once: a restart reloads every waiting
// record with the same deadline, and one request of them all could be larger than the next
// consumer's queue can ever take (a blocking queue would then wait forever).
const maxRelease = 1000

// sendChunk hands on one chunk of released records.
func (s *stamper) sendChunk(ctx context.Context, due []*waiting, now time.Time, unmatched string) error {
	out := plog.NewLogs()
	counts := map[string]int64{}
	for _, w := range due {
		rec := plog.NewLogs()
		w.logs.CopyTo(rec)
		outcome := s.finish(rec, w.requestID, now)
		if outcome == "unmatched" {
			outcome = unmatched
		}
		counts[outcome]++
		rec.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	if err := s.next.ConsumeLogs(ctx, out); err != nil {
		return err
	}
	for outcome, n := range counts {
		s.count(ctx, outcome, n)
	}
	if s.store != nil {
		if err := s.store.release(ctx, due); err != nil {
			s.logger.Warn("released records not deleted from the store; a restart would send them again", zap.Error(err))
		}
	}
	return nil
}
