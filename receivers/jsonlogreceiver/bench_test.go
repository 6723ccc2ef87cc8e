package jsonlogreceiver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// countingSink counts records and keeps nothing, like a discarding exporter.
type countingSink struct{ n atomic.Int64 }

func (c *countingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.n.Add(int64(ld.LogRecordCount()))
	return nil
}

// writeRealisticLog writes n recsvc-shaped lines: ~5 % errors with stacks, ~1 % malformed.
func writeRealisticLog(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		switch {
		case i%100 == 0:
			fmt.Fprintf(w, "garbage line %d {not json\n", i)
		case i%20 == 0:
			fmt.Fprintf(w, `{"timestamp":"2026-11-27T10:00:%02d.%03dZ","level":"error","logger":"recsvc.api","event":"request_failed","request_id":"%032x","trace_id":"%032x","span_id":"%016x","category":"ml","user_id":%d,"location":{"lat":37.7749,"lng":-122.4194},"radius_km":2,"place_category":"cafe","limit":10,"status":500,"exception":{"type":"model.InferenceError","message":"score is NaN","stack":"goroutine 42 [running]:\nrecsvc/internal/model.(*Model).Score(...)\n\t/src/model.go:88"}}`+"\n",
				i%60, i%1000, i, i+1, i+2, i)
		default:
			fmt.Fprintf(w, `{"timestamp":"2026-11-27T10:00:%02d.%03dZ","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%032x","trace_id":"%032x","span_id":"%016x","category":"business","user_id":%d,"user_segment":"students","location":{"lat":37.7749,"lng":-122.4194},"radius_km":2,"place_category":"all","num_results":10,"response_time_ms":0.85,"cache_hit":true,"status":200}`+"\n",
				i%60, i%1000, i, i+1, i+2, i)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReceiver reads a whole file of realistic lines through the real receiver (file
// input, recobs_json, conversion to pdata) into a discarding consumer. RECOBS_BENCH_LINES sets
// the file's size (default 200,000; `make bench` uses 1,000,000). Reports lines/s (wall),
// lines per CPU-second, allocations per op (divide by the lines) and the process' peak RSS.
func BenchmarkReceiver(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("RECOBS_BENCH_LINES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	writeRealisticLog(b, filepath.Join(dir, "recsvc.log"), n)
	f := NewFactory()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, wall time.Duration
	for range b.N {
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.InputConfig.Include = []string{filepath.Join(dir, "recsvc.log")}
		cfg.InputConfig.PollInterval = 10 * time.Millisecond
		sink := &countingSink{}
		rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		if err != nil {
			b.Fatal(err)
		}
		c0, w0 := cpuTime(), time.Now()
		if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		for sink.n.Load() < int64(n) {
			time.Sleep(time.Millisecond)
		}
		cpu += cpuTime() - c0
		wall += time.Since(w0)
		_ = rcv.Shutdown(context.Background())
	}
	lines := float64(n) * float64(b.N)
	b.ReportMetric(lines/wall.Seconds(), "lines/s")
	b.ReportMetric(lines/cpu.Seconds(), "lines/CPU-s")
	b.ReportMetric(0, "ns/op")
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}
