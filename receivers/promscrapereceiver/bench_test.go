package promscrapereceiver

import (
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkScrape measures what one scrape of recsvc's /metrics costs the sidecar once the body
// is read: the parse, the start times and staleness against the previous scrape, and the OTLP
// metrics, as targetScraper.scrape runs them.
func BenchmarkScrape(b *testing.B) {
	for _, f := range []struct{ file, contentType string }{
		{"recsvc.openmetrics.txt", "application/openmetrics-text; version=1.0.0"},
		{"recsvc.prom.txt", "text/plain; version=0.0.4"},
	} {
		b.Run(f.file, func(b *testing.B) {
			body, err := os.ReadFile(filepath.Join("testdata", f.file))
			if err != nil {
				b.Fatal(err)
			}
			cfg, m := testConfig("h:1"), newMemory()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				x, err := parse(body, f.contentType, int64(i)*1000, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				m.reconcile(x, int64(i)*1000)
				md := pmetric.NewMetrics()
				x.appendTo(md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics())
				if md.DataPointCount() == 0 {
					b.Fatal("no points")
				}
			}
		})
	}
}
