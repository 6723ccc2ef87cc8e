package elasticsearchexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/recobs/recobs/internal/testutil/testenv"
)

// flakyProxy stands in front of the real Elasticsearch, as a proxy or load balancer does,
// and answers status instead of forwarding for the first `fail` _bulk requests into the
// daily indices (dead-letter writes pass).
type flakyProxy struct {
	next     http.Handler
	status   int
	mu       sync.Mutex
	fail     int
	answered int
}

func (p *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/_bulk") {
		body := readBody(r)
		p.mu.Lock()
		refuse := p.fail > 0 && !bytes.Contains(body, []byte("-dead-letter\""))
		if refuse {
			p.fail--
			p.answered++
		}
		p.mu.Unlock()
		if refuse {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(p.status)
			_, _ = io.WriteString(w, "<html><body>"+http.StatusText(p.status)+" from the proxy</body></html>")
			return
		}
	}
	p.next.ServeHTTP(w, r)
}

// TestNoStatusDropsABatch: 5,000 records in batches of 1,000 through the factory's exporter
// (queue and retries as in production) and a proxy that answers the first three _bulk
// requests with status. Whatever the status, every document is stored (a proxy's 404, 408,
// 502 are retried like Elasticsearch's 429 and 503) — or, for a 400 that refuses the whole
// body, dead-lettered with the status and reason. None is dropped.
func TestNoStatusDropsABatch(t *testing.T) {
	esURL := testenv.ElasticsearchURL(t)
	target, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	es := testenv.ElasticsearchAPI(t, esURL)
	for _, status := range []int{400, 401, 404, 408, 429, 502, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			proxy := &flakyProxy{next: httputil.NewSingleHostReverseProxy(target), status: status, fail: 3}
			srv := httptest.NewServer(proxy)
			defer srv.Close()
			prefix := testenv.UniqueName("recobs-proxy-")
			t.Cleanup(func() { cleanupIndices(es, prefix) })
			cfg := createDefaultConfig().(*Config)
			cfg.Endpoints = []string{srv.URL}
			cfg.Index = prefix + "-%{+YYYY.MM.dd}"
			cfg.DeadLetterIndex = prefix + "-dead-letter"
			cfg.Template = TemplateConfig{Name: prefix, Shards: 1, Replicas: 0}
			cfg.Retry.InitialInterval, cfg.Retry.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
			q := cfg.Queue.Get()
			q.NumConsumers = 1
			batch := exporterhelper.NewDefaultBatchConfig()
			batch.MinSize, batch.MaxSize, batch.FlushTimeout = 1000, 1000, 100*time.Millisecond
			q.Batch = configoptional.Some(batch)

			f := NewFactory()
			exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				t.Fatal(err)
			}
			if err := exp.ConsumeLogs(context.Background(), logsAt(manyRecords(5000, 20)...)); err != nil {
				t.Fatal(err)
			}
			wantStored, wantDead := 5000, 0
			if status == http.StatusBadRequest {
				wantStored, wantDead = 2000, 3000
			}
			var stored, dead int
			testenv.Eventually(t, 60*time.Second, func() bool {
				// A new index answers 503 until its shard is up: polled, not fatal.
				var ok1, ok2 bool
				stored, ok1 = tryCount(es, prefix+"-2*")
				dead, ok2 = tryCount(es, prefix+"-dead-letter*")
				return ok1 && ok2 && stored+dead >= 5000
			}, "documents stored or dead-lettered")
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if stored != wantStored || dead != wantDead {
				t.Fatalf("status %d: %d stored, %d dead-lettered; want %d and %d", status, stored, dead, wantStored, wantDead)
			}
			if proxy.answered != 3 {
				t.Fatalf("the proxy answered %d requests itself, want 3", proxy.answered)
			}
			if dead > 0 {
				refresh(t, es, prefix+"-dead-letter")
				if n := count(t, es, prefix+"-dead-letter", `{"query":{"bool":{"filter":[{"term":{"status":400}},{"match":{"error.reason":"proxy"}}]}}}`); n != dead {
					t.Fatalf("%d of %d dead-lettered documents carry the status and the proxy's reason", n, dead)
				}
			}
		})
	}
}

// tryCount counts the documents of index after a refresh; false while Elasticsearch cannot
// answer yet.
func tryCount(es *esapi.API, index string) (int, bool) {
	if res, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(index)); err == nil {
		res.Body.Close()
	}
	res, err := es.Count(es.Count.WithIndex(index))
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	if res.IsError() {
		return 0, false
	}
	var c struct {
		Count int `json:"count"`
	}
	return c.Count, json.NewDecoder(res.Body).Decode(&c) == nil
}
