// Package spanmetricsref measures contrib's spanmetrics connector on the same span batch as
// recobs' red_metrics connector (bench/testdata/spans-1000.json.gz), for `make bench`. It is
// a module of its own so that the root module does not depend on the connector.
package spanmetricsref

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func fixture(tb testing.TB) ptrace.Traces {
	f, err := os.Open("../testdata/spans-1000.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return td
}

// BenchmarkSpanmetrics: the connector configured like red_metrics — the same dimensions, the
// seed's buckets, exemplars on — consuming batches of 1,000 server spans.
func BenchmarkSpanmetrics(b *testing.B) {
	td := fixture(b)
	f := spanmetricsconnector.NewFactory()
	cfg := f.CreateDefaultConfig().(*spanmetricsconnector.Config)
	cfg.Dimensions = []spanmetricsconnector.Dimension{{Name: "http.route"}, {Name: "category"}, {Name: "location_region"}}
	cfg.Histogram.Explicit.GetOrInsertDefault().Buckets = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
		250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second}
	cfg.Exemplars.Enabled = true
	c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	n := td.SpanCount()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "spans/s")
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
