package jsonlogreceiver

import (
	"bytes"
	"context"
	"io"
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

	"github.com/recobs/recobs/internal/testutil/loggen"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// countingSink counts records and keeps nothing, like a discarding exporter; done closes when
// want records have arrived (so the benchmark waits without a polling loop of its own
// adding to the CPU time it measures).
type countingSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func newCountingSink(want int) *countingSink {
	return &countingSink{want: int64(want), done: make(chan struct{})}
}

func (c *countingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *countingSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	n := int64(ld.LogRecordCount())
	if total := c.n.Add(n); total >= c.want && total-n < c.want {
		close(c.done)
	}
	return nil
}

// writeRealisticLog writes n recsvc-shaped lines: ~5 % errors with stacks, ~1 % malformed.
func writeRealisticLog(tb testing.TB, path string, n int) {
	if err := loggen.WriteFile(path, n); err != nil {
		tb.Fatal(err)
	}
}

// benchFile is the file of lines to read and how many lines it has.
func benchFile(b *testing.B) (string, int) {
	if path := os.Getenv("RECOBS_BENCH_FILE"); path != "" {
		return path, countLines(b, path)
	}
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("RECOBS_BENCH_LINES")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "recsvc.log")
	writeRealisticLog(b, path, n)
	return path, n
}

// countLines counts a file's lines in small reads: the process' peak RSS is measured.
func countLines(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte("\n"))
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiver reads a whole file of realistic lines through the real receiver (file
// input, parsing, conversion to pdata) into a discarding consumer. RECOBS_BENCH_FILE names the
// file to read (`make bench` gives this one and bench/filelogref the same); without it,
// RECOBS_BENCH_LINES lines (default 200,000) are written first. Reports lines/s (wall), lines
// per CPU-second, allocations per op (divide by the lines) and the process' peak RSS.
func BenchmarkReceiver(b *testing.B) {
	path, n := benchFile(b)
	f := NewFactory()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, wall time.Duration
	for range b.N {
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.InputConfig.Include = []string{path}
		cfg.InputConfig.PollInterval = 10 * time.Millisecond
		sink := newCountingSink(n)
		rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		if err != nil {
			b.Fatal(err)
		}
		c0, w0 := testenv.CPUTime(), time.Now()
		if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		<-sink.done
		cpu += testenv.CPUTime() - c0
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
