// Package filelogref measures contrib's filelog receiver with json_parser, timestamp and
// severity parsing (the reference the json_log receiver's issue names) in-process, into a
// discarding consumer, on the same file and in the same way as BenchmarkReceiver in
// receivers/jsonlogreceiver: `make bench` prints the two side by side. Its own module, so the
// reference's dependencies stay out of recobs' go.mod.
package filelogref

import (
	"bufio"
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type countingSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	n := int64(ld.LogRecordCount())
	if total := c.n.Add(n); total >= c.want && total-n < c.want {
		close(c.done)
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFilelogJSON reads RECOBS_BENCH_FILE with the configuration bench/compare gives
// the reference collector.
func BenchmarkFilelogJSON(b *testing.B) {
	path := os.Getenv("RECOBS_BENCH_FILE")
	if path == "" {
		b.Fatal("RECOBS_BENCH_FILE: the file of log lines to read (make bench writes it)")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	f.Close()
	factory := filelogreceiver.NewFactory()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, wall time.Duration
	for range b.N {
		cfg := factory.CreateDefaultConfig()
		err := confmap.NewFromStringMap(map[string]any{
			"include": []string{path}, "start_at": "beginning", "poll_interval": "10ms",
			"operators": []any{map[string]any{
				"type": "json_parser", "on_error": "send_quiet",
				"timestamp": map[string]any{"parse_from": "attributes.timestamp", "layout_type": "gotime", "layout": "2006-01-02T15:04:05.000Z07:00"},
				"severity":  map[string]any{"parse_from": "attributes.level"},
			}},
		}).Unmarshal(cfg)
		if err != nil {
			b.Fatal(err)
		}
		sink := &countingSink{want: int64(n), done: make(chan struct{})}
		rcv, err := factory.CreateLogs(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, sink)
		if err != nil {
			b.Fatal(err)
		}
		c0, w0 := cpuTime(), time.Now()
		if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		<-sink.done
		cpu += cpuTime() - c0
		wall += time.Since(w0)
		if err := rcv.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	lines := float64(n) * float64(b.N)
	b.ReportMetric(lines/wall.Seconds(), "lines/s")
	b.ReportMetric(lines/cpu.Seconds(), "lines/CPU-s")
	b.ReportMetric(0, "ns/op")
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}
