// Package telemetry sets up recsvc's traces (OTLP to the sidecar) and Prometheus metrics.
package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanQueue is a span processor with a bounded queue that never blocks the request that ends
// a span: when the sidecar is down and the queue is full, spans are dropped and counted.
// Unlike the SDK's batch processor it accounts for every span:
// ended = exported + failed + dropped + queued.
type SpanQueue struct {
	exporter  sdktrace.SpanExporter
	queue     chan sdktrace.ReadOnlySpan
	batchSize int
	interval  time.Duration
	timeout   time.Duration

	flushReq chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	ended, exported, failed, dropped atomic.Uint64
	lastOK, failingSince             atomic.Int64 // unix nanos
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
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 5 * time.Second
	}
	q := &SpanQueue{
		exporter: exp, queue: make(chan sdktrace.ReadOnlySpan, o.QueueSize),
		batchSize: o.BatchSize, interval: o.Interval, timeout: o.ExportTimeout,
		flushReq: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
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
	select {
	case q.queue <- s:
	default:
		q.dropped.Add(1)
	}
}

func (q *SpanQueue) run() {
	defer close(q.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, q.batchSize)
	tick := time.NewTicker(q.interval)
	defer tick.Stop()
	drain := func() {
		for {
			select {
			case s := <-q.queue:
				batch = append(batch, s)
				if len(batch) == q.batchSize {
					q.export(batch)
					batch = batch[:0]
				}
			default:
				q.export(batch)
				batch = batch[:0]
				return
			}
		}
	}
	for {
		select {
		case s := <-q.queue:
			batch = append(batch, s)
			if len(batch) == q.batchSize {
				q.export(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			q.export(batch)
			batch = batch[:0]
		case ack := <-q.flushReq:
			drain()
			close(ack)
		case <-q.stop:
			drain()
			return
		}
	}
}

func (q *SpanQueue) export(batch []sdktrace.ReadOnlySpan) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	now := time.Now().UnixNano()
	if err := q.exporter.ExportSpans(ctx, batch); err != nil {
		q.failed.Add(uint64(len(batch)))
		q.failingSince.CompareAndSwap(0, now)
		return
	}
	q.exported.Add(uint64(len(batch)))
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
	Ended, Exported, Failed, Dropped uint64
	Queued                           int
}

// Stats returns the counts so far.
func (q *SpanQueue) Stats() SpanStats {
	return SpanStats{Ended: q.ended.Load(), Exported: q.exported.Load(), Failed: q.failed.Load(), Dropped: q.dropped.Load(), Queued: len(q.queue)}
}

// Healthy is false once exports have failed continuously for longer than grace.
func (q *SpanQueue) Healthy(now time.Time, grace time.Duration) bool {
	since := q.failingSince.Load()
	return since == 0 || now.Sub(time.Unix(0, since)) <= grace
}
