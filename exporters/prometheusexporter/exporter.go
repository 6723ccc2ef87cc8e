package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

type promExporter struct {
	cfg    *Config
	set    exporter.Settings
	tr     *translator
	client *http.Client

	samples, skipped, rejected metric.Int64Counter
}

func newExporter(cfg *Config, set exporter.Settings) (*promExporter, error) {
	m := set.MeterProvider.Meter("github.com/recobs/recobs/exporters/prometheusexporter")
	e := &promExporter{cfg: cfg, set: set, tr: newTranslator(cfg)}
	var errs [3]error
	e.samples, errs[0] = m.Int64Counter("recobs_prometheus_samples_sent", metric.WithDescription("Samples Prometheus accepted over remote write."), metric.WithUnit("{sample}"))
	e.skipped, errs[1] = m.Int64Counter("recobs_prometheus_points_skipped", metric.WithDescription("Data points with no faithful Prometheus form (delta temporality, exponential histograms, invalid names), by reason."), metric.WithUnit("{point}"))
	e.rejected, errs[2] = m.Int64Counter("recobs_prometheus_samples_rejected", metric.WithDescription("Samples in requests Prometheus refused for good (4xx other than 429)."), metric.WithUnit("{sample}"))
	return e, errors.Join(errs[:]...)
}

func (e *promExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

func (e *promExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

func (e *promExporter) push(ctx context.Context, md pmetric.Metrics) error {
	series, sk := e.tr.translate(md)
	for reason, n := range map[string]int{"delta_temporality": sk.delta, "exponential_histogram": sk.exponential, "invalid_name": sk.invalid} {
		if n > 0 {
			e.skipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
		}
	}
	if len(series) == 0 {
		return nil
	}
	return e.send(ctx, series)
}

func (e *promExporter) send(ctx context.Context, series []prompb.TimeSeries) error {
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("encode write request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.Endpoint, bytes.NewReader(snappy.Encode(nil, raw)))
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
	n := int64(len(series))
	switch {
	case res.StatusCode/100 == 2:
		e.samples.Add(ctx, n)
		return nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		err := fmt.Errorf("remote write: %s: %s", res.Status, body)
		if secs, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return exporterhelper.NewThrottleRetry(err, time.Duration(secs)*time.Second)
		}
		return err
	default:
		// Prometheus stores what it can and answers 400 for the rest (out of order,
		// duplicate, too old): retrying cannot help those samples.
		e.rejected.Add(ctx, n)
		e.set.Logger.Warn("Prometheus refused samples", zap.Int("status", res.StatusCode), zap.ByteString("reason", body), zap.Int64("series", n))
		return consumererror.NewPermanent(fmt.Errorf("remote write: %s: %s", res.Status, body))
	}
}
