// Package testenv hands tests the real backends that scripts/backends.sh started on
// 127.0.0.1 (it exports ES_URL, PROM_URL, JAEGER_URL, …). Under `make test` and CI
// (RECOBS_BACKENDS=required) a missing backend fails the test; a plain `go test` skips it.
package testenv // import "github.com/recobs/recobs/internal/testutil/testenv"

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// IdleHTTPConns are the goleak options of a package whose tests talk HTTP to the real
// backends: after the last request the shared transport keeps its keep-alive connections,
// a read loop parked in the poller and a write loop each. They are pooled, not leaked.
func IdleHTTPConns() []goleak.Option {
	return []goleak.Option{goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait")}
}

// Required reports whether missing backends are failures rather than skips.
func Required() bool { return os.Getenv("RECOBS_BACKENDS") == "required" }

func lookup(tb testing.TB, env, what string) string {
	tb.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if Required() {
		tb.Fatalf("%s is not set: start the backends with scripts/backends.sh start (it writes %s)", env, what)
	}
	tb.Skipf("%s not set; run `make test` to start the real backends", env)
	return ""
}

// ElasticsearchURL is the real Elasticsearch's HTTP URL.
func ElasticsearchURL(tb testing.TB) string {
	return lookup(tb, "ES_URL", "$RECOBS_STATE/backends.env")
}

// PrometheusURL is the real Prometheus' HTTP URL.
func PrometheusURL(tb testing.TB) string { return lookup(tb, "PROM_URL", "$RECOBS_STATE/backends.env") }

// JaegerURL is the real Jaeger's query API URL.
func JaegerURL(tb testing.TB) string { return lookup(tb, "JAEGER_URL", "$RECOBS_STATE/backends.env") }

// JaegerBinary is the Jaeger v2 binary scripts/build-jaeger.sh built, for a test that runs
// (and stops) a Jaeger of its own.
func JaegerBinary(tb testing.TB) string {
	return lookup(tb, "JAEGER_BIN", "$RECOBS_STATE/backends.env")
}

// SeedPython is the python of the seed-style service's virtual environment
// (scripts/install-python.sh: structlog and the OTel SDK, pinned).
func SeedPython(tb testing.TB) string {
	return lookup(tb, "RECOBS_SEED_PYTHON", "the output of scripts/install-python.sh")
}

// Chromium is Debian's chromium, which scripts/install-deps.sh installs for the browser tests.
func Chromium(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if Required() {
			tb.Fatal("chromium is not installed: scripts/install-deps.sh installs it")
		}
		tb.Skip("chromium is not installed")
	}
	return path
}

// JaegerOTLPGRPC is the host:port of Jaeger's OTLP gRPC receiver.
func JaegerOTLPGRPC(tb testing.TB) string {
	return lookup(tb, "JAEGER_OTLP_GRPC", "$RECOBS_STATE/backends.env")
}

// UniqueName returns prefix plus a random suffix, for throwaway indices and series.
func UniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Eventually polls cond every interval until it returns true or the deadline passes.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// KafkaBrokers is the real Kafka broker's host:port (scripts/backends.sh start kafka).
func KafkaBrokers(tb testing.TB) string {
	return lookup(tb, "KAFKA_BROKERS", "$RECOBS_STATE/backends.env")
}

// CPUTime is the CPU (user and system) this process has used so far, on every thread: a
// benchmark divides it by its operations to count what background goroutines and the
// garbage collector spend for them, which ns/op (wall time on one goroutine) leaves out.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
