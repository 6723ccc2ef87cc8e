package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/recobs/recobs/internal/contract/jsonenc"

	"github.com/recobs/recobs/exporters/elasticsearchexporter/internal/metadata"
)

// compressionLevel is gzip's fastest. BenchmarkCompress measures what a level costs a
// document: the default level takes the sidecar about three times the CPU of the fastest, and
// the fastest already shrinks a bulk of JSON lines many times over.
const compressionLevel = gzip.BestSpeed

type esExporter struct {
	cfg     *Config
	logger  *zap.Logger
	pattern indexPattern
	// client is go-elasticsearch's transport; the requests are esapi's. Not elasticsearch.Client:
	// its constructor builds every API of esapi (about 6 MB of the sidecar's binary) for the two
	// this exporter sends.
	client    *elastictransport.Client
	conns     *http.Transport
	telemetry *metadata.TelemetryBuilder

	templateMu    sync.Mutex
	templateReady bool

	docBytes atomic.Int64 // the average encoded document of the last batch: sizes the next one's buffer
}

func newExporter(cfg *Config, set exporter.Settings) (*esExporter, error) {
	pattern, err := parseIndexPattern(cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &esExporter{cfg: cfg, logger: set.Logger, pattern: pattern, telemetry: tb}, nil
}

func (e *esExporter) start(ctx context.Context, host component.Host) error {
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	transport.MaxIdleConnsPerHost = 16
	urls := make([]*url.URL, len(e.cfg.Endpoints))
	for i, ep := range e.cfg.Endpoints {
		if urls[i], err = url.Parse(strings.TrimRight(ep, "/")); err != nil {
			return fmt.Errorf("endpoints[%d]: not a URL", i) // the error would repeat the URL, password included
		}
	}
	var rt http.RoundTripper = transport
	if auth := e.cfg.Auth.Get(); auth != nil {
		authenticator, err := auth.GetHTTPClientAuthenticator(ctx, host.GetExtensions())
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		if rt, err = authenticator.RoundTripper(transport); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	header := http.Header{}
	for name, value := range e.cfg.Headers {
		header.Set(name, string(value))
	}
	client, err := elastictransport.New(elastictransport.Config{
		URLs:      urls,
		UserAgent: "otelcol-recobs",
		Header:    header,
		// Bodies are gzipped with a pool of writers (one per concurrent request, reused).
		CompressRequestBody:      e.cfg.Compression == "gzip",
		CompressRequestBodyLevel: compressionLevel,
		PoolCompressor:           true,
		Username:                 e.cfg.username(),
		Password:                 string(e.cfg.Password),
		APIKey:                   string(e.cfg.APIKey),
		Transport:                rt,
		// exporterhelper owns retries (with backoff and the persistent queue); a second
		// retry loop in the client would hide failures from it.
		DisableRetry: true,
	})
	if err != nil {
		return fmt.Errorf("elasticsearch client: %w", err)
	}
	e.client, e.conns = client, transport
	// Elasticsearch may be down while the sidecar starts, or frozen (connections accepted,
	// nothing answered): the attempt at start is bounded, so the collector starts and takes
	// lines into its queue; the template is then installed before the first successful bulk.
	startCtx, cancel := context.WithTimeout(ctx, templateAtStartTimeout)
	defer cancel()
	if err := e.ensureTemplates(startCtx); err != nil {
		e.logger.Warn("index template not installed yet; will retry before the first bulk", zap.Error(err))
	}
	return nil
}

// templateAtStartTimeout bounds the template install at start.
const templateAtStartTimeout = 5 * time.Second

func (e *esExporter) shutdown(context.Context) error {
	if e.conns != nil {
		e.conns.CloseIdleConnections()
	}
	return nil
}

func (e *esExporter) ensureTemplates(ctx context.Context) error {
	e.templateMu.Lock()
	defer e.templateMu.Unlock()
	if e.templateReady {
		return nil
	}
	body, err := indexTemplate(e.cfg.Template, []string{e.pattern.wildcard()})
	if err != nil {
		return err
	}
	if err := e.putTemplate(ctx, e.cfg.Template.Name, body); err != nil {
		return err
	}
	dl, err := deadLetterTemplate(e.cfg.Template, e.cfg.DeadLetterIndex)
	if err != nil {
		return err
	}
	if err := e.putTemplate(ctx, e.cfg.Template.Name+"-dead-letter", dl); err != nil {
		return err
	}
	e.templateReady = true
	return nil
}

func (e *esExporter) putTemplate(ctx context.Context, name string, body []byte) error {
	res, err := esapi.IndicesPutIndexTemplateRequest{Name: name, Body: bytes.NewReader(body)}.Do(ctx, e.client)
	if err != nil {
		return fmt.Errorf("put index template %s: %w", name, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("put index template %s: %s: %s", name, res.Status(), msg)
	}
	return nil
}

// pending is one document of a bulk request and where it came from.
type pending struct {
	index, id string
	doc       []byte
	rl, sl    int
	lr        plog.LogRecord
}

func (e *esExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if err := e.ensureTemplates(ctx); err != nil {
		return err // retryable: nothing was written yet
	}
	docs := e.encode(ld)
	if len(docs) == 0 {
		return nil
	}
	items, err := e.bulk(ctx, docs, func(p *pending) (string, []byte) { return p.index, p.doc })
	if err != nil {
		e.telemetry.ElasticsearchDocumentsRetried.Add(ctx, int64(len(docs)))
		return err
	}

	var retry, dead []*pending
	var deadItems []bulkItem
	var indexed, dup int64
	for i, it := range items {
		switch {
		case it.Status == http.StatusCreated || it.Status == http.StatusOK:
			indexed++
		case it.Status == http.StatusConflict:
			dup++ // stored by an earlier attempt: success, not a duplicate
		case it.Status == http.StatusTooManyRequests || it.Status >= 500:
			retry = append(retry, &docs[i])
		default:
			dead = append(dead, &docs[i])
			deadItems = append(deadItems, it)
		}
	}
	e.telemetry.ElasticsearchDocumentsIndexed.Add(ctx, indexed)
	e.telemetry.ElasticsearchDocumentsDuplicate.Add(ctx, dup)

	if len(dead) > 0 {
		failed, err := e.deadLetter(ctx, dead, deadItems)
		retry = append(retry, failed...)
		if err != nil {
			e.logger.Warn("dead-letter write failed; those documents will be retried", zap.Error(err))
		}
	}
	if len(retry) > 0 {
		e.telemetry.ElasticsearchDocumentsRetried.Add(ctx, int64(len(retry)))
		return consumererror.NewLogs(fmt.Errorf("%d of %d documents need a retry (429/5xx)", len(retry), len(docs)), subset(ld, retry))
	}
	return nil
}

// encode turns every record into its document. The documents of a batch share one buffer
// (sized from the last batch's average, at most one bulk request's worth, grown by doubling:
// a few allocations a batch, not several a document), and the index name is formatted once
// an hour of timestamps, so a record from the json_log receiver (whose _id is its
// log.record.uid) costs no allocation of its own.
func (e *esExporter) encode(ld plog.Logs) []pending {
	n := ld.LogRecordCount()
	docs := make([]pending, 0, n)
	buf := make([]byte, 0, encodeBufferSize(n, int(e.docBytes.Load()), e.cfg.BulkMaxBytes))
	now := time.Now()
	earliest, latest := now.Add(-e.cfg.IndexTimeWindow.Past), now.Add(e.cfg.IndexTimeWindow.Future)
	inWindow := func(t time.Time) bool { return !t.Before(earliest) && !t.After(latest) }
	var hour time.Time
	var index string
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				received := now
				if lr.ObservedTimestamp() != 0 {
					received = lr.ObservedTimestamp().AsTime()
				}
				ts := received
				if lr.Timestamp() != 0 {
					ts = lr.Timestamp().AsTime()
				}
				// The record's own time picks its index only within the window; outside, the
				// time it was received does, or now when that is outside too (an observed time
				// a service set, or json_log's carried from an earlier line).
				at, outOfWindow := ts, !inWindow(ts)
				if outOfWindow {
					at = received
					if !inWindow(at) {
						at = now
					}
				}
				// Index names change at most hourly (the finest date token is HH).
				if h := at.UTC().Truncate(time.Hour); index == "" || !h.Equal(hour) {
					hour, index = h, e.pattern.name(at)
				}
				start := len(buf)
				buf = appendDocument(buf, rl.Resource(), sl.Scope(), lr, ts)
				if outOfWindow {
					buf = append(buf[:len(buf)-1], `,"log.index_time_out_of_window":true}`...)
				}
				// A slice of the buffer as it is now: when append moves the buffer, the
				// documents already encoded keep the array they were written into.
				doc := buf[start:len(buf):len(buf)]
				docs = append(docs, pending{index: index, id: documentID(index, lr, doc), doc: doc, rl: i, sl: j, lr: lr})
			}
		}
	}
	if n > 0 {
		e.docBytes.Store(int64(len(buf)/n) + 16)
	}
	return docs
}

// encodeBufferSize is the first capacity of a batch's buffer: n documents of the last batch's
// average size, but never more than one bulk request (bulkMax): one batch with a 1 MiB line
// must not make the next 5,000-record batch ask for 5 GiB up front. What the documents really
// need is still grown into, by doubling.
func encodeBufferSize(n, avg, bulkMax int) int {
	avg = max(avg, 256)
	if n > bulkMax/avg {
		return bulkMax
	}
	return n * avg
}

type bulkItem struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *bulkError `json:"error,omitempty"`
}

type bulkError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// bulkResponse is the _bulk answer, trimmed by filter_path to what we act on. Every action
// we send is a create.
type bulkResponse struct {
	Errors bool `json:"errors"`
	Items  []struct {
		Create bulkItem `json:"create"`
	} `json:"items"`
}

// bulkFilter keeps Elasticsearch from sending (and us from parsing) what we ignore.
var bulkFilter = []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"}

// actionOverhead bounds the bytes of one document's action line ({"create":{...}}).
const actionOverhead = 160

// bulk sends docs with op_type create, in requests of at most bulk_max_bytes, and returns
// one item per document, in order. When a later request fails as a whole, what earlier
// requests stored stays stored: the rest come back as items to retry.
func (e *esExporter) bulk(ctx context.Context, docs []pending, target func(*pending) (string, []byte)) ([]bulkItem, error) {
	items := make([]bulkItem, 0, len(docs))
	limit := e.cfg.BulkMaxBytes
	for start := 0; start < len(docs); {
		end, size := start, 0
		for end < len(docs) {
			_, doc := target(&docs[end])
			if end > start && size+len(doc)+actionOverhead > limit {
				break
			}
			size += len(doc) + actionOverhead
			end++
		}
		got, err := e.bulkRequest(ctx, docs[start:end], target, size)
		var tooLarge *errTooLarge
		var refused *errRefused
		switch {
		case errors.As(err, &tooLarge) && end-start > 1:
			// Elasticsearch's http.max_content_length (or a proxy's body limit) is below
			// ours: halve and go on.
			limit = max(size/2, 1)
			continue
		case errors.As(err, &tooLarge):
			items = append(items, bulkItem{Status: http.StatusRequestEntityTooLarge, Error: &bulkError{Type: "request_entity_too_large", Reason: tooLarge.Error()}})
		case errors.As(err, &refused):
			// The whole body refused as malformed: no retry can change that, so every
			// document of the request goes to the dead-letter index with the reason.
			for range docs[start:end] {
				items = append(items, bulkItem{Status: refused.status, Error: &bulkError{Type: "bulk_request_refused", Reason: refused.Error()}})
			}
		case err != nil && start == 0:
			return nil, err
		case err != nil:
			for range docs[start:] {
				items = append(items, bulkItem{Status: http.StatusServiceUnavailable, Error: &bulkError{Type: "bulk_request_failed", Reason: err.Error()}})
			}
			return items, nil
		default:
			items = append(items, got...)
		}
		start = end
	}
	return items, nil
}

type errTooLarge struct{ msg string }

func (e *errTooLarge) Error() string { return e.msg }

// errRefused is a whole _bulk request refused as malformed (400).
type errRefused struct {
	status int
	msg    string
}

func (e *errRefused) Error() string { return e.msg }

func (e *esExporter) bulkRequest(ctx context.Context, docs []pending, target func(*pending) (string, []byte), size int) ([]bulkItem, error) {
	var body bytes.Buffer
	body.Grow(size)
	for i := range docs {
		index, doc := target(&docs[i])
		body.WriteString(`{"create":{"_index":`)
		body.Write(jsonenc.AppendString(body.AvailableBuffer(), index))
		body.WriteString(`,"_id":`)
		body.Write(jsonenc.AppendString(body.AvailableBuffer(), docs[i].id))
		body.WriteString("}}\n")
		body.Write(doc)
		body.WriteByte('\n')
	}
	start := time.Now()
	res, err := esapi.BulkRequest{Body: &body, FilterPath: bulkFilter}.Do(ctx, e.client)
	e.telemetry.ElasticsearchBulkDuration.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		return nil, fmt.Errorf("bulk request: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		err := fmt.Errorf("bulk request: %s: %s", res.Status(), msg)
		switch res.StatusCode {
		case http.StatusRequestEntityTooLarge:
			return nil, &errTooLarge{msg: err.Error()}
		case http.StatusBadRequest:
			return nil, &errRefused{status: res.StatusCode, msg: err.Error()}
		case http.StatusUnauthorized, http.StatusForbidden:
			// Credentials being rotated or a role being fixed: the documents are fine and
			// wait in the queue until they are accepted.
			e.logger.Error("Elasticsearch refused the credentials; documents stay queued", zap.Int("status", res.StatusCode))
		default:
			// Anything else — 429, 5xx, and the 404, 408 or 502 of a proxy or load
			// balancer in front of a cluster during a failover — says nothing about our
			// documents: they wait in the queue and are retried with backoff, never dropped.
			e.logger.Warn("bulk request failed; documents stay queued", zap.Int("status", res.StatusCode))
		}
		return nil, err
	}
	var br bulkResponse
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		return nil, fmt.Errorf("bulk response: %w", err)
	}
	if len(br.Items) != len(docs) {
		return nil, fmt.Errorf("bulk response has %d items for %d documents", len(br.Items), len(docs))
	}
	items := make([]bulkItem, len(docs))
	for i := range br.Items {
		items[i] = br.Items[i].Create
	}
	return items, nil
}

// maxDeadLetterDocument caps the copy of a refused document in its dead-letter entry.
const maxDeadLetterDocument = 1 << 20

// deadLetter stores refused documents, with the reason, in the dead-letter index. It returns
// the documents that could not be stored there either, for a retry.
func (e *esExporter) deadLetter(ctx context.Context, docs []*pending, items []bulkItem) ([]*pending, error) {
	now := time.Now().UTC()
	batch := make([]pending, len(docs))
	for i, p := range docs {
		batch[i] = pending{index: e.cfg.DeadLetterIndex, id: p.id, doc: deadLetterEntry(now, p, items[i], true)}
		e.logger.Warn("document refused by Elasticsearch; written to the dead-letter index",
			zap.String("index", p.index), zap.String("id", p.id), zap.Int("status", items[i].Status),
			zap.String("reason", reason(items[i])))
	}
	res, err := e.bulk(ctx, batch, func(p *pending) (string, []byte) { return p.index, p.doc })
	if err != nil {
		return docs, err
	}
	// An entry refused as too large (a proxy whose body limit is below even the entry's
	// first MiB) would be refused at every retry: it is written again without the document,
	// keeping what says which document it was and why.
	var bare []int
	for i, it := range res {
		if it.Status == http.StatusRequestEntityTooLarge {
			bare = append(bare, i)
		}
	}
	if len(bare) > 0 {
		again := make([]pending, len(bare))
		for j, i := range bare {
			again[j] = pending{index: e.cfg.DeadLetterIndex, id: docs[i].id, doc: deadLetterEntry(now, docs[i], items[i], false)}
			e.logger.Error("dead-letter entry too large even for the dead-letter index; kept without the document",
				zap.String("index", docs[i].index), zap.String("id", docs[i].id), zap.Int("document_bytes", len(docs[i].doc)))
		}
		resAgain, err := e.bulk(ctx, again, func(p *pending) (string, []byte) { return p.index, p.doc })
		if err != nil {
			return docs, err
		}
		for j, i := range bare {
			res[i] = resAgain[j]
		}
	}
	var failed []*pending
	var stored int64
	for i, it := range res {
		if it.Status == http.StatusCreated || it.Status == http.StatusOK || it.Status == http.StatusConflict {
			stored++
			continue
		}
		failed = append(failed, docs[i])
	}
	e.telemetry.ElasticsearchDocumentsDeadLettered.Add(ctx, stored)
	if len(failed) > 0 {
		return failed, fmt.Errorf("%d documents refused by the dead-letter index too", len(failed))
	}
	return nil, nil
}

// deadLetterEntry is the dead-letter document for p, refused with it: where it was going, why
// it was refused, and — withDocument — the document itself (its first MiB, flagged when cut);
// without, only its size.
func deadLetterEntry(now time.Time, p *pending, it bulkItem, withDocument bool) []byte {
	var b []byte
	b = append(b, `{"@timestamp":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","original_index":`...)
	b = jsonenc.AppendString(b, p.index)
	b = append(b, `,"original_id":`...)
	b = jsonenc.AppendString(b, p.id)
	b = append(b, `,"status":`...)
	b = fmt.Appendf(b, "%d", it.Status)
	if it.Error != nil {
		b = append(b, `,"error":{"type":`...)
		b = jsonenc.AppendString(b, it.Error.Type)
		b = append(b, `,"reason":`...)
		b = jsonenc.AppendString(b, it.Error.Reason)
		b = append(b, '}')
	}
	doc := p.doc
	switch {
	case !withDocument:
		b = append(b, `,"document_omitted":true,"document_bytes":`...)
		b = fmt.Appendf(b, "%d", len(p.doc))
		return append(b, '}')
	case len(doc) > maxDeadLetterDocument:
		// A document too large for Elasticsearch is kept in part, flagged, rather than
		// bounced between the two indices forever.
		doc = doc[:maxDeadLetterDocument]
		b = append(b, `,"document_truncated":true,"document_bytes":`...)
		b = fmt.Appendf(b, "%d", len(p.doc))
	}
	b = append(b, `,"document":`...)
	b = jsonenc.AppendString(b, string(doc))
	return append(b, '}')
}

func reason(it bulkItem) string {
	if it.Error == nil {
		return ""
	}
	return strings.TrimSpace(it.Error.Type + ": " + it.Error.Reason)
}

// subset rebuilds the records of docs, grouped by their original resource and scope, for a retry.
func subset(ld plog.Logs, docs []*pending) plog.Logs {
	out := plog.NewLogs()
	type key struct{ rl, sl int }
	scopes := map[key]plog.ScopeLogs{}
	resources := map[int]plog.ResourceLogs{}
	for _, p := range docs {
		rl, ok := resources[p.rl]
		if !ok {
			rl = out.ResourceLogs().AppendEmpty()
			ld.ResourceLogs().At(p.rl).Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(ld.ResourceLogs().At(p.rl).SchemaUrl())
			resources[p.rl] = rl
		}
		sl, ok := scopes[key{p.rl, p.sl}]
		if !ok {
			sl = rl.ScopeLogs().AppendEmpty()
			src := ld.ResourceLogs().At(p.rl).ScopeLogs().At(p.sl)
			src.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(src.SchemaUrl())
			scopes[key{p.rl, p.sl}] = sl
		}
		p.lr.CopyTo(sl.LogRecords().AppendEmpty())
	}
	return out
}
