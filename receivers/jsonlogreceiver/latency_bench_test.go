package jsonlogreceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/recobs/recobs/processors/correlationprocessor"
)

// latencySink notes when each line (its request_id is its number) was handed on.
type latencySink struct {
	mu      sync.Mutex
	arrived map[int]time.Time
	all     chan struct{}
	want    int
}

func (s *latencySink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (s *latencySink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	eachLogRecord(ld, func(lr plog.LogRecord) {
		if v, ok := lr.Attributes().Get("request_id"); ok {
			if i, err := strconv.Atoi(v.Str()); err == nil {
				s.arrived[i] = now
			}
		}
	})
	if len(s.arrived) == s.want {
		close(s.all)
	}
	return nil
}

// BenchmarkLogDeliveryLatency: how long recsvc's lines take from its write to the exporters
// at recsvc's benchmark load (1,000 lines/s, each with trace context), through the receiver
// and request_correlation as otelcol.yaml runs them (poll_interval 200 ms): before (every
// line a record, window 0 s) and after (continuation lines kept with their record, window
// 10 s). A record that carries trace context never waits for a span, and a line is held only
// until the next one shows it has no continuation, so the two must match; the last line of a
// burst pays force_flush_period (max-ms). Reports p50, p99 and max in milliseconds.
func BenchmarkLogDeliveryLatency(b *testing.B) {
	for _, c := range []struct {
		name         string
		continuation bool
		window       time.Duration
	}{{"before", false, 0}, {"after", true, correlationprocessor.DefaultWindow}} {
		b.Run(c.name, func(b *testing.B) {
			var all []time.Duration
			for range b.N {
				all = append(all, deliveryLatencies(b, c.continuation, c.window, 2000, time.Millisecond)...)
			}
			slices.Sort(all)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
			b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
			b.ReportMetric(ms(all[len(all)-1]), "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func deliveryLatencies(b *testing.B, continuation bool, window time.Duration, n int, every time.Duration) []time.Duration {
	dir := b.TempDir()
	path := filepath.Join(dir, "recsvc.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	sink := &latencySink{arrived: map[int]time.Time{}, all: make(chan struct{}), want: n}
	pf := correlationprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*correlationprocessor.Config)
	pcfg.Store, pcfg.Window = b.Name(), window
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pcfg, sink)
	if err != nil {
		b.Fatal(err)
	}
	rf := NewFactory()
	cfg := rf.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{path}
	cfg.Continuation.Enabled = continuation
	rcv, err := rf.CreateLogs(context.Background(), receivertest.NewNopSettings(rf.Type()), cfg, proc)
	if err != nil {
		b.Fatal(err)
	}
	host := componenttest.NewNopHost()
	if err := proc.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	if err := rcv.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = rcv.Shutdown(context.Background())
		_ = proc.Shutdown(context.Background())
	}()

	written := make([]time.Time, n)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		line := fmt.Sprintf(`{"timestamp":%q,"level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%d","trace_id":"%032x","span_id":"%016x","category":"business","status":200}`+"\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), i, i+1, i+1)
		written[i] = time.Now()
		if _, err := f.WriteString(line); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-sink.all:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d lines delivered", len(sink.arrived), n)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	out := make([]time.Duration, n)
	for i := range n {
		out[i] = sink.arrived[i].Sub(written[i])
	}
	return out
}
