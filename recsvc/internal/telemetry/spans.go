// Package telemetry sets up recsvc's traces (OTLP to the sidecar) and Prometheus metrics.
package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanQueue is a span processor with a bounded queue that never blocks the request that ends
// a span: when the sidecar is down and the queue is full, spans are dropped and counted.
// Unlike the SDK's batch processor it accounts for every span:
// ended = exported + failed + rejected + dropped + queued (queued includes the batch being
// exported; rejected are spans the receiver refused in an OTLP partial success).
//
// Ending a span appends it to a slice under a mutex; the exporting goroutine is woken only
// when a batch is full (or by its interval), not once a span: a wake-up per span (a channel
// send to a parked goroutine) cost more CPU than the rest of the queueing.
type SpanQueue struct {
	exporter  sdktrace.SpanExporter
	queueSize int
	batchSize int
	interval  time.Duration
	timeout   time.Duration

	mu      sync.Mutex
	pending []sdktrace.ReadOnlySpan // guarded by mu
	stopped bool                    // guarded by mu: spans ended after Shutdown are dropped
	spare   []sdktrace.ReadOnlySpan // owned by the exporting goroutine

	batchReady chan struct{} // capacity 1: pending has reached a batch
	flushReq   chan chan struct{}
	stop       chan struct{}
	done       chan struct{}
	stopOnce   sync.Once

	ended, exported, failed, rejected, dropped atomic.Uint64
	exporting                                  atomic.Int64 // spans taken from pending, not yet exported
	lastOK, failingSince                       atomic.Int64 // unix nanos
}

// SpanQueueOptions size the queue and batches.
type SpanQueueOptions struct {
	QueueSize     int
	BatchSize     int
	Interval      time.Duration
	ExportTimeout time.Duration
}

// NewSpanQueue starts the exporting goroutine.
func NewSpanQueue(exp sdktrace.SpanExporter, o SpanQueueOptions) *SpanQueue {
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	o.BatchSize = min(o.BatchSize, o.QueueSize)
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 5 * time.Second
	}
	q := &SpanQueue{
		exporter: exp, queueSize: o.QueueSize, batchSize: o.BatchSize, interval: o.Interval, timeout: o.ExportTimeout,
		pending:    make([]sdktrace.ReadOnlySpan, 0, o.BatchSize),
		spare:      make([]sdktrace.ReadOnlySpan, 0, o.BatchSize),
		batchReady: make(chan struct{}, 1),
		flushReq:   make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go q.run()
	return q
}

func (q *SpanQueue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd enqueues the span or drops it; it never waits.
func (q *SpanQueue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	q.ended.Add(1)
	q.mu.Lock()
	if q.stopped || len(q.pending) >= q.queueSize {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	q.pending = append(q.pending, s)
	ready := len(q.pending) == q.batchSize
	q.mu.Unlock()
	if ready {
		select {
		case q.batchReady <- struct{}{}:
		default: // already signalled
		}
	}
}

func (q *SpanQueue) run() {
	defer close(q.done)
	tick := time.NewTicker(q.interval)
	defer tick.Stop()
	for {
		select {
		case <-q.batchReady:
		case <-tick.C:
			q.pingWhileFailing()
		case ack := <-q.flushReq:
			q.exportPending()
			close(ack)
			continue
		case <-q.stop:
			q.mu.Lock()
			q.stopped = true
			q.mu.Unlock()
			q.exportPending()
			return
		}
		q.exportPending()
	}
}

// pinger is an exporter that can check its receiver without spans (WireExporter).
type pinger interface {
	Ping(ctx context.Context) error
}

// pingWhileFailing checks, when exports have failed and no span waits to go, whether the
// receiver is back: health follows exports, and without spans to export an idle service
// would stay unhealthy (not ready, so without the traffic that would make spans) forever.
func (q *SpanQueue) pingWhileFailing() {
	p, ok := q.exporter.(pinger)
	if !ok || q.failingSince.Load() == 0 {
		return
	}
	q.mu.Lock()
	idle := len(q.pending) == 0
	q.mu.Unlock()
	if !idle {
		return // the export of what waits tells
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	if p.Ping(ctx) == nil {
		q.lastOK.Store(time.Now().UnixNano())
		q.failingSince.Store(0)
	}
}

// exportPending takes everything queued so far and exports it in batches.
func (q *SpanQueue) exportPending() {
	q.mu.Lock()
	taken := q.pending
	q.pending = q.spare[:0]
	q.exporting.Store(int64(len(taken)))
	q.mu.Unlock()
	for batch := range slices.Chunk(taken, q.batchSize) {
		q.export(batch)
		q.exporting.Add(-int64(len(batch)))
	}
	clear(taken) // the spans are exported: let them go
	q.spare = taken[:0]
}

func (q *SpanQueue) export(batch []sdktrace.ReadOnlySpan) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	now := time.Now().UnixNano()
	accepted := len(batch)
	if err := q.exporter.ExportSpans(ctx, batch); err != nil {
		var partial *PartialSuccessError
		if !errors.As(err, &partial) {
			q.failed.Add(uint64(len(batch)))
			q.failingSince.CompareAndSwap(0, now)
			return
		}
		// The receiver is up and answered: what it refused is counted, not retried (the
		// same spans would be refused again), and the export is healthy.
		otel.Handle(err)
		rejected := int(min(max(partial.Rejected, 0), int64(len(batch))))
		q.rejected.Add(uint64(rejected))
		accepted -= rejected
	}
	q.exported.Add(uint64(accepted))
	q.lastOK.Store(now)
	q.failingSince.Store(0)
}

// ForceFlush exports everything queued so far.
func (q *SpanQueue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flushReq <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued, then shuts the exporter down.
func (q *SpanQueue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.exporter.Shutdown(ctx)
}

// SpanStats are the queue's counts.
type SpanStats struct {
	Ended, Exported, Failed, Rejected, Dropped uint64
	Queued                                     int
}

// Stats returns the counts so far.
func (q *SpanQueue) Stats() SpanStats {
	q.mu.Lock()
	queued := len(q.pending) + int(q.exporting.Load())
	q.mu.Unlock()
	return SpanStats{Ended: q.ended.Load(), Exported: q.exported.Load(), Failed: q.failed.Load(),
		Rejected: q.rejected.Load(), Dropped: q.dropped.Load(), Queued: queued}
}

// Healthy is false once exports have failed continuously for longer than grace.
func (q *SpanQueue) Healthy(now time.Time, grace time.Duration) bool {
	since := q.failingSince.Load()
	return since == 0 || now.Sub(time.Unix(0, since)) <= grace
}
