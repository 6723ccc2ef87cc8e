package elasticsearchexporter

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testenv"
)

const benchBatch = 1000

// benchLogs makes a batch of recsvc-shaped records, unique per call (seq).
func benchLogs(seq int) plog.Logs {
	res, scope, proto := sampleRecord()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	scope.CopyTo(sl.Scope())
	now := time.Now()
	for i := range benchBatch {
		lr := sl.LogRecords().AppendEmpty()
		proto.CopyTo(lr)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.Attributes().PutStr("request_id", fmt.Sprintf("bench-%d-%d", seq, i))
	}
	return ld
}

// BenchmarkRealElasticsearch compares documents/s through the exporter (encode, _id hash,
// bulk, per-item handling) with the ceiling of the same node: the same documents, pre-encoded
// into a _bulk body, posted by a bare HTTP client. Run with -benchtime=Nx (N batches of 1,000).
func BenchmarkRealElasticsearch(b *testing.B) {
	url := testenv.ElasticsearchURL(b)
	prefix := testenv.UniqueName("bench-")
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{url}
	cfg.Index = prefix + "-%{+YYYY.MM.dd}"
	cfg.DeadLetterIndex = prefix + "-dlq"
	cfg.Template = TemplateConfig{Name: prefix, Shards: 1, Replicas: 0}
	exp, err := newExporter(cfg, exportertest.NewNopSettings(componentType()))
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer exp.shutdown(context.Background())
	defer func() {
		req, _ := http.NewRequest(http.MethodDelete, url+"/"+prefix+"*", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()

	b.Run("ceiling", func(b *testing.B) {
		bodies := make([][]byte, b.N)
		for n := range bodies {
			var body bytes.Buffer
			for _, d := range exp.encode(benchLogs(1_000_000 + n)) {
				fmt.Fprintf(&body, "{\"create\":{\"_index\":%q,\"_id\":%q}}\n", d.index+"-ceiling", d.id)
				body.Write(d.doc)
				body.WriteByte('\n')
			}
			bodies[n] = body.Bytes()
		}
		client := &http.Client{}
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			res, err := client.Post(url+"/_bulk", "application/x-ndjson", bytes.NewReader(bodies[n]))
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("bulk: %v %v", err, res)
			}
			res.Body.Close()
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("exporter", func(b *testing.B) {
		batches := make([]plog.Logs, b.N)
		for n := range batches {
			batches[n] = benchLogs(n)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			if err := exp.pushLogs(context.Background(), batches[n]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "docs/s")
	})
}
