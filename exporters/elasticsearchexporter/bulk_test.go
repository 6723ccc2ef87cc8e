package elasticsearchexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// fakeBulk answers _bulk with 201 for every item, refusing bodies over maxBody with 413.
type fakeBulk struct {
	mu       sync.Mutex
	maxBody  int
	requests int
	refused  int
	largest  int
	items    int
	bodies   []string // the bodies it took
}

func (f *fakeBulk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/_bulk") {
		_, _ = io.WriteString(w, `{"acknowledged":true}`)
		return
	}
	body := readBody(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxBody > 0 && len(body) > f.maxBody {
		f.refused++
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	f.requests++
	f.largest = max(f.largest, len(body))
	f.bodies = append(f.bodies, string(body))
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var items []string
	for i := 0; i < len(lines); i += 2 {
		items = append(items, `{"create":{"status":201}}`)
	}
	f.items += len(items)
	fmt.Fprintf(w, `{"errors":false,"items":[%s]}`, strings.Join(items, ","))
}

func manyRecords(n, bodyBytes int) []func(plog.LogRecord) {
	now := time.Now()
	var out []func(plog.LogRecord)
	for i := range n {
		out = append(out, record(now.Add(time.Duration(i)), fmt.Sprintf("%06d", i)+strings.Repeat("x", bodyBytes), map[string]any{"request_id": fmt.Sprintf("r%d", i)}))
	}
	return out
}

func TestBulkSplitByBytes(t *testing.T) {
	fake := &fakeBulk{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.URL}
	cfg.BulkMaxBytes = 4096
	exp := startExporter(t, cfg)
	if err := exp.pushLogs(context.Background(), logsAt(manyRecords(60, 200)...)); err != nil {
		t.Fatal(err)
	}
	if fake.items != 60 || fake.requests < 4 || fake.largest > cfg.BulkMaxBytes {
		t.Fatalf("60 documents in %d requests (largest %d bytes, cap %d): %d items", fake.requests, fake.largest, cfg.BulkMaxBytes, fake.items)
	}
	// A document larger than the cap still goes, alone.
	if err := exp.pushLogs(context.Background(), logsAt(manyRecords(1, 10_000)...)); err != nil {
		t.Fatal(err)
	}
	if fake.items != 61 {
		t.Fatalf("the oversize document was not sent: %d items", fake.items)
	}
}

// TestBulkHalvesOn413: a server whose http.max_content_length is below bulk_max_bytes
// answers 413; the exporter halves its requests until they pass, losing nothing.
func TestBulkHalvesOn413(t *testing.T) {
	fake := &fakeBulk{maxBody: 3000}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.URL}
	exp := startExporter(t, cfg)
	if err := exp.pushLogs(context.Background(), logsAt(manyRecords(40, 150)...)); err != nil {
		t.Fatal(err)
	}
	if fake.items != 40 || fake.refused == 0 || fake.largest > 3000 {
		t.Fatalf("items %d refused %d largest %d", fake.items, fake.refused, fake.largest)
	}
}

// TestBulkSplitRealElasticsearch: many small requests into the real node, every document once.
func TestBulkSplitRealElasticsearch(t *testing.T) {
	url := testenv.ElasticsearchURL(t)
	prefix := testenv.UniqueName("recobs-split-")
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{url}
	cfg.Index = prefix + "-%{+YYYY.MM.dd}"
	cfg.DeadLetterIndex = prefix + "-dead-letter"
	cfg.Template = TemplateConfig{Name: prefix, Shards: 1, Replicas: 0}
	cfg.BulkMaxBytes = 8192
	es := testenv.ElasticsearchAPI(t, url)
	t.Cleanup(func() { cleanupIndices(es, prefix) })
	exp := startExporter(t, cfg)
	if err := exp.pushLogs(context.Background(), logsAt(manyRecords(300, 100)...)); err != nil {
		t.Fatal(err)
	}
	refresh(t, es, prefix+"-*")
	if n := count(t, es, prefix+"-2*", ""); n != 300 {
		t.Fatalf("want 300 documents, got %d", n)
	}
}

func cleanupIndices(es *esapi.API, prefix string) {
	if res, err := es.Indices.Delete([]string{prefix + "*"}); err == nil {
		res.Body.Close()
	}
	for _, n := range []string{prefix, prefix + "-dead-letter"} {
		if res, err := es.Indices.DeleteIndexTemplate(n); err == nil {
			res.Body.Close()
		}
	}
}

// readBody is a request's body as Elasticsearch reads it (gunzipped when the exporter
// compressed it); r.Body is left to be read again as sent.
func readBody(r *http.Request) []byte {
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if r.Header.Get("Content-Encoding") != "gzip" {
		return raw
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	plain, _ := io.ReadAll(zr)
	return plain
}

// TestEncodeBufferIsBounded: the buffer a batch starts with is bounded by one bulk request,
// whatever the previous batch's average was: a batch with a 1 MiB line followed by a
// 5,000-record batch does not ask for gigabytes.
func TestEncodeBufferIsBounded(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	e := &esExporter{cfg: cfg}
	e.pattern, _ = parseIndexPattern(cfg.Index)
	big := plog.NewLogs()
	big.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 1<<20))
	e.encode(big)
	small := plog.NewLogs()
	lrs := small.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 5000 {
		lrs.AppendEmpty().Body().SetStr("cache_miss")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.encode(small)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*uint64(cfg.BulkMaxBytes) {
		t.Fatalf("encoding 5,000 small records after a 1 MiB one allocated %d MiB", got>>20)
	}
	for n, want := range map[[3]int]int{{5000, 1 << 20, 8 << 20}: 8 << 20, {100, 300, 8 << 20}: 30000, {10, 0, 8 << 20}: 2560} {
		if got := encodeBufferSize(n[0], n[1], n[2]); got != want {
			t.Errorf("encodeBufferSize%v = %d, want %d", n, got, want)
		}
	}
}

// TestDeadLetterTooLargeIsKeptBare: a document too large for a proxy's body limit is refused
// (413) alone; its dead-letter entry, which copies it, is refused too. The entry is written
// again without the document — which document, where, why and how large — instead of being
// retried forever.
func TestDeadLetterTooLargeIsKeptBare(t *testing.T) {
	fake := &fakeBulk{maxBody: 3000}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.URL}
	exp := startExporter(t, cfg)
	if err := exp.pushLogs(context.Background(), logsAt(manyRecords(1, 10_000)...)); err != nil {
		t.Fatalf("the document must end in the dead-letter index, not in a retry: %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.items != 1 || len(fake.bodies) != 1 || !strings.Contains(fake.bodies[0], `"document_omitted":true`) ||
		!strings.Contains(fake.bodies[0], `"status":413`) || !strings.Contains(fake.bodies[0], cfg.DeadLetterIndex) {
		t.Fatalf("want one bare dead-letter entry, got %d items: %q", fake.items, fake.bodies)
	}
}

// TestStartsWhileElasticsearchIsFrozen: a node that accepts connections and answers nothing
// (SIGSTOPped, a hung proxy) must not hold the collector's start: the template attempt at
// start gives up after templateAtStartTimeout, and the template is installed before the first
// bulk instead.
func TestStartsWhileElasticsearchIsFrozen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{"http://" + ln.Addr().String()}
	started := time.Now()
	startExporter(t, cfg)
	if took := time.Since(started); took > templateAtStartTimeout+5*time.Second {
		t.Fatalf("start took %v with a frozen node", took)
	}
}
