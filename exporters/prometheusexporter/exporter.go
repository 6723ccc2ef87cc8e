package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recobs/recobs/exporters/prometheusexporter/internal/metadata"
)

type promExporter struct {
	cfg    *Config
	set    exporter.Settings
	tr     *translator
	client *http.Client

	scrape       *scrapeCache
	scrapeServer *http.Server
	serveDone    chan struct{}

	telemetry *metadata.TelemetryBuilder
}

func newExporter(cfg *Config, set exporter.Settings) (*promExporter, error) {
	e := &promExporter{cfg: cfg, set: set, tr: newTranslator(cfg)}
	if sc := cfg.Scrape.Get(); sc != nil {
		e.scrape = newScrapeCache(sc.MaxSeries, sc.Expiration, set.Logger)
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e.telemetry = tb
	if e.scrape != nil {
		err = errors.Join(
			tb.RegisterPrometheusScrapeSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
				n, _, _ := e.scrape.stats()
				o.Observe(int64(n))
				return nil
			}),
			tb.RegisterPrometheusScrapeSeriesExpiredCallback(func(_ context.Context, o metric.Int64Observer) error {
				_, _, expired := e.scrape.stats()
				o.Observe(expired)
				return nil
			}))
	}
	return e, err
}

func (e *promExporter) start(ctx context.Context, host component.Host) error {
	if e.cfg.ClientConfig.Endpoint != "" {
		client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
		if err != nil {
			return err
		}
		e.client = client
	}
	if sc := e.cfg.Scrape.Get(); sc != nil {
		ln, err := sc.ServerConfig.ToListener(ctx)
		if err != nil {
			return fmt.Errorf("scrape.endpoint: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", e.scrape)
		srv, err := sc.ServerConfig.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, mux)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("scrape: %w", err)
		}
		e.scrapeServer, e.serveDone = srv, make(chan struct{})
		go func() {
			defer close(e.serveDone)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
			}
		}()
	}
	return nil
}

func (e *promExporter) shutdown(ctx context.Context) error {
	e.telemetry.Shutdown()
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	if e.scrapeServer != nil {
		err := e.scrapeServer.Shutdown(ctx)
		<-e.serveDone
		return err
	}
	return nil
}

func (e *promExporter) push(ctx context.Context, md pmetric.Metrics) error {
	if e.scrape != nil {
		now := time.Now()
		e.scrape.sweep(now) // also when nobody scrapes, so idle series never pile up
		refused, sk := e.scrape.update(e.tr, md, now)
		if refused > 0 {
			e.telemetry.PrometheusScrapeSeriesRefused.Add(ctx, int64(refused))
		}
		if e.client == nil { // scrape only: its skips are the ones to count
			e.countSkipped(ctx, sk)
		}
	}
	if e.client == nil {
		return nil
	}
	series, sk, meta := e.tr.translate(md)
	e.countSkipped(ctx, sk)
	if len(series) == 0 {
		return nil
	}
	return e.send(ctx, series, meta)
}

func (e *promExporter) countSkipped(ctx context.Context, sk skipped) {
	for reason, n := range map[string]int{"delta_temporality": sk.delta, "invalid_name": sk.invalid, "invalid_histogram": sk.badHistogram} {
		if n > 0 {
			e.telemetry.PrometheusPointsSkipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
		}
	}
}

// send writes series in requests of at most max_batch_size_bytes (before compression).
func (e *promExporter) send(ctx context.Context, series []prompb.TimeSeries, meta families) error {
	for len(series) > 0 {
		n, size := 0, 0
		for n < len(series) {
			sz := series[n].Size() + 8 // + the field's tag and length
			if n > 0 && size+sz > e.cfg.MaxBatchSizeBytes {
				break
			}
			size += sz
			n++
		}
		if err := e.sendIsolating(ctx, series[:n], meta); err != nil {
			return err
		}
		series = series[n:]
	}
	return nil
}

// sendIsolating writes series in one request. Prometheus answers 400 on the first
// out-of-order, duplicate or too-old sample and rolls the whole request back; a proxy's body
// limit answers 413. Either way the request is halved and each half sent on its own, so every
// good sample is stored and only the refused ones — isolated down to a single sample — are
// counted, by reason.
func (e *promExporter) sendIsolating(ctx context.Context, series []prompb.TimeSeries, meta families) error {
	err := e.write(ctx, series, meta)
	var refused *errRefused
	if !errors.As(err, &refused) {
		return err
	}
	left, right, ok := halve(series)
	if !ok {
		e.telemetry.PrometheusSamplesRejected.Add(ctx, int64(samplesIn(series)), metric.WithAttributes(attribute.String("reason", refused.reason())))
		e.set.Logger.Warn("Prometheus refused a sample", zap.Int("status", refused.status), zap.String("reason", refused.reason()),
			zap.ByteString("message", refused.body), zap.String("series", seriesName(series[0])))
		return nil
	}
	if err := e.sendIsolating(ctx, left, meta); err != nil {
		return err
	}
	return e.sendIsolating(ctx, right, meta)
}

// halve splits series in two: by series, or a single series by its samples.
func halve(series []prompb.TimeSeries) (left, right []prompb.TimeSeries, ok bool) {
	if len(series) > 1 {
		return series[:len(series)/2], series[len(series)/2:], true
	}
	if len(series) == 0 {
		return nil, nil, false
	}
	ts := series[0]
	if n := len(ts.Samples); n > 1 {
		l, r := ts, ts
		l.Samples, r.Samples = ts.Samples[:n/2], ts.Samples[n/2:]
		l.Histograms, r.Exemplars = nil, nil
		return []prompb.TimeSeries{l}, []prompb.TimeSeries{r}, true
	}
	if n := len(ts.Histograms); n > 1 || (n == 1 && len(ts.Samples) == 1) {
		l, r := ts, ts
		if len(ts.Samples) == 1 {
			l.Histograms, r.Samples, r.Exemplars = nil, nil, nil
		} else {
			l.Histograms, r.Histograms, r.Exemplars = ts.Histograms[:n/2], ts.Histograms[n/2:], nil
		}
		return []prompb.TimeSeries{l}, []prompb.TimeSeries{r}, true
	}
	return nil, nil, false
}

func samplesIn(series []prompb.TimeSeries) int {
	n := 0
	for i := range series {
		n += len(series[i].Samples) + len(series[i].Histograms)
	}
	return n
}

func seriesName(ts prompb.TimeSeries) string {
	for _, l := range ts.Labels {
		if l.Name == "__name__" {
			return l.Value
		}
	}
	return ""
}

// errRefused is a request Prometheus (or a proxy) refused for what it carries: 400, or 413
// for its size.
type errRefused struct {
	status int
	body   []byte
}

func (e *errRefused) Error() string {
	return fmt.Sprintf("remote write: %d %s: %s", e.status, http.StatusText(e.status), e.body)
}

// reason names why Prometheus refused a sample, from its message.
func (e *errRefused) reason() string {
	if e.status == http.StatusRequestEntityTooLarge {
		return "too_large"
	}
	msg := strings.ToLower(string(e.body))
	for _, r := range []struct{ text, reason string }{
		{"out of order", "out_of_order"}, {"duplicate sample", "duplicate"}, {"too old", "too_old"}, {"out of bounds", "out_of_bounds"},
	} {
		if strings.Contains(msg, r.text) {
			return r.reason
		}
	}
	return "other"
}

// write sends series in one remote-write request, with their families' metadata when
// send_metadata is on.
func (e *promExporter) write(ctx context.Context, series []prompb.TimeSeries, meta families) error {
	raw, err := (&prompb.WriteRequest{Timeseries: series, Metadata: meta.of(series)}).Marshal()
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("encode write request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.ClientConfig.Endpoint, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "otelcol-recobs")
	res, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("remote write: %w", err) // retryable: the queue keeps the data
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	switch {
	case res.StatusCode/100 == 2:
		e.telemetry.PrometheusSamplesSent.Add(ctx, int64(samplesIn(series)))
		return nil
	case res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusRequestEntityTooLarge:
		return &errRefused{status: res.StatusCode, body: body}
	default:
		// 429, 5xx, and whatever else a proxy answers (401 while credentials rotate, 404 or
		// 408 during a failover) says nothing about the samples: they wait in the queue.
		err := fmt.Errorf("remote write: %s: %s", res.Status, body)
		if secs, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return exporterhelper.NewThrottleRetry(err, time.Duration(secs)*time.Second)
		}
		return err
	}
}
