package elasticsearchexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

const benchBatch = 1000

// benchLogs makes a batch of recsvc-shaped records, unique per call (seq), each with a
// log.record.uid as the json_log receiver gives it.
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
		lr.Attributes().PutStr(recordUIDAttribute, fmt.Sprintf("uid-%d-%d", seq, i))
	}
	return ld
}

// BenchmarkCompress is what `compression: gzip` adds to each document: a 1,000-document
// _bulk body gzipped at the level the exporter gives go-elasticsearch's transport, with the
// compression ratio.
func BenchmarkCompress(b *testing.B) {
	exp, err := newExporter(createDefaultConfig().(*Config), exportertest.NewNopSettings(componentType()))
	if err != nil {
		b.Fatal(err)
	}
	var body bytes.Buffer
	for _, d := range exp.encode(benchLogs(0)) {
		fmt.Fprintf(&body, "{\"create\":{\"_index\":%q,\"_id\":%q}}\n", d.index, d.id)
		body.Write(d.doc)
		body.WriteByte('\n')
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, compressionLevel)
	b.ReportAllocs()
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		out.Reset()
		zw.Reset(&out)
		_, _ = zw.Write(body.Bytes())
		_ = zw.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/doc")
	b.ReportMetric(float64(body.Len())/float64(out.Len()), "ratio")
}

// BenchmarkEncode is the path pushLogs runs before the bulk request: every record of a batch of
// 1,000 encoded, its index named and its _id taken (the record's uid, as from json_log) or
// hashed from the content (as for OTLP records). Allocations and bytes are per document.
func BenchmarkEncode(b *testing.B) {
	exp, err := newExporter(createDefaultConfig().(*Config), exportertest.NewNopSettings(componentType()))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		uid  bool
	}{{"uid", true}, {"content_hash", false}} {
		b.Run(tc.name, func(b *testing.B) {
			ld := benchLogs(0)
			if !tc.uid {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					lrs.At(i).Attributes().Remove(recordUIDAttribute)
				}
			}
			exp.encode(ld) // the buffer size the next batches start from
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			var docs []pending
			for b.Loop() {
				docs = exp.encode(ld)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			perDoc := float64(b.N * benchBatch)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/perDoc, "allocs/doc")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/perDoc, "B/doc")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perDoc, "ns/doc")
			b.ReportMetric(0, "ns/op")
			if len(docs) != benchBatch {
				b.Fatalf("%d documents", len(docs))
			}
		})
	}
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
			if exp.cfg.Compression == "gzip" { // the same request the exporter sends, compressed beforehand
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				_, _ = zw.Write(bodies[n])
				_ = zw.Close()
				bodies[n] = z.Bytes()
			}
		}
		// As the exporter asks: only the status and error of each item (filter_path), the body
		// compressed as the exporter compresses it, and the connection kept for the next request
		// (the body read to its end).
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 16
		client := &http.Client{Transport: transport}
		defer transport.CloseIdleConnections()
		bulkURL := url + "/_bulk?filter_path=" + strings.Join(bulkFilter, ",")
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			req, _ := http.NewRequest(http.MethodPost, bulkURL, bytes.NewReader(bodies[n]))
			req.Header.Set("Content-Type", "application/x-ndjson")
			if exp.cfg.Compression == "gzip" {
				req.Header.Set("Content-Encoding", "gzip")
			}
			res, err := client.Do(req)
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("bulk: %v %v", err, res)
			}
			_, _ = io.Copy(io.Discard, res.Body)
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
