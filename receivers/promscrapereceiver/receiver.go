package promscrapereceiver // import "github.com/recobs/recobs/receivers/promscrapereceiver"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
)

// acceptHeader is Prometheus's default (scrape_protocols without protobuf): OpenMetrics first
// (exemplars, created timestamps), then the text format, UTF-8 names allowed. With UTF-8, the
// OpenTelemetry SDK's exporter writes target_info's labels as service.instance.id rather than
// service_instance_id, so they become the resource's attributes under their own names.
const acceptHeader = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

const scopeName = "github.com/recobs/recobs/receivers/promscrapereceiver"

type scrapeReceiver struct {
	cfg    *Config
	set    receiver.Settings
	next   consumer.Metrics
	obs    *receiverhelper.ObsReport
	client *http.Client
	conns  *http.Transport
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Metrics) (*scrapeReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set})
	if err != nil {
		return nil, err
	}
	return &scrapeReceiver{cfg: cfg, set: set, next: next, obs: obs}, nil
}

func (r *scrapeReceiver) Start(_ context.Context, _ component.Host) error {
	r.conns = http.DefaultTransport.(*http.Transport).Clone()
	r.conns.MaxIdleConnsPerHost = 1 // one scrape at a time per target
	r.client = &http.Client{Transport: r.conns}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, t := range r.cfg.Targets {
		s := &targetScraper{r: r, target: t, memory: newMemory(), symbols: labels.NewSymbolTable(), up: true,
			url: (&url.URL{Scheme: r.cfg.Scheme, Host: t, Path: r.cfg.MetricsPath}).String()}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s.run(ctx)
		}()
	}
	return nil
}

func (r *scrapeReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.conns != nil {
		r.conns.CloseIdleConnections()
	}
	return nil
}

// targetScraper scrapes one target, one scrape at a time.
type targetScraper struct {
	r       *scrapeReceiver
	target  string
	url     string
	memory  *memory
	symbols *labels.SymbolTable
	body    bytes.Buffer // reused: a scrape's labels and texts are copied out of it
	up      bool         // the last scrape's outcome, to log a change once
}

func (s *targetScraper) run(ctx context.Context) {
	t := time.NewTicker(s.r.cfg.ScrapeInterval)
	defer t.Stop()
	for {
		s.scrape(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *targetScraper) scrape(ctx context.Context) {
	start := time.Now()
	scrapeMs := start.UnixMilli()
	contentType, err := s.fetch(ctx)
	var x *exposition
	if err == nil {
		x, err = parse(s.body.Bytes(), contentType, scrapeMs, s.r.cfg, s.symbols)
	}
	if s.body.Cap() > 64<<10 && s.body.Cap() > 2*s.body.Len() {
		s.body = bytes.Buffer{} // an outsized body once (or a failed one) is not kept for good
	}
	if ctx.Err() != nil {
		return // shutting down: not the target's failure
	}
	duration := time.Since(start)
	up, added := 1.0, 0
	if err != nil {
		up = 0
		x = s.memory.endAll(scrapeMs)
		if s.up {
			s.r.set.Logger.Warn("Scrape failed; the target's series are ended until it answers", zap.String("target", s.url), zap.Error(err))
		} else {
			s.r.set.Logger.Debug("Scrape failed", zap.String("target", s.url), zap.Error(err))
		}
	} else {
		added = s.memory.reconcile(x, scrapeMs)
		if !s.up {
			s.r.set.Logger.Info("Scrape succeeded again", zap.String("target", s.url))
		}
	}
	s.up = err == nil

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	s.resource(rm.Resource(), x.targetInfo)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion(s.r.set.BuildInfo.Version)
	if dropped := x.appendTo(sm.Metrics()); len(dropped) > 0 {
		// Logged at every scrape that has them: the target exposes broken histograms.
		s.r.set.Logger.Warn("Histogram points left out: no _count, or buckets that decrease (OTLP cannot carry them)",
			zap.String("target", s.url), zap.Strings("metrics", dropped))
	}
	// The series Prometheus adds to every scrape (contrib's receiver forwards the same five).
	for _, g := range [...]struct {
		name, help, unit string
		v                float64
	}{
		{"up", "The scraping was successful", "", up},
		{"scrape_duration_seconds", "Duration of the scrape", "s", duration.Seconds()},
		{"scrape_samples_scraped", "The number of samples the target exposed", "", float64(x.samples)},
		{"scrape_samples_post_metric_relabeling", "The number of samples remaining after metric relabeling was applied", "", float64(x.samples)},
		{"scrape_series_added", "The approximate number of new series in this scrape", "", float64(added)},
	} {
		m := sm.Metrics().AppendEmpty()
		m.SetName(g.name)
		m.SetDescription(g.help)
		m.SetUnit(g.unit)
		m.Metadata().PutStr("prometheus.type", string(model.MetricTypeGauge))
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(msToTimestamp(scrapeMs))
		dp.SetDoubleValue(g.v)
	}

	obsCtx := s.r.obs.StartMetricsOp(ctx)
	err = s.r.next.ConsumeMetrics(obsCtx, md)
	s.r.obs.EndMetricsOp(obsCtx, "prometheus", md.DataPointCount(), err)
	if err != nil {
		// The next scrape carries the same cumulative totals: a refused scrape loses resolution,
		// not counts. The refusal is counted in otelcol_receiver_refused_metric_points.
		s.r.set.Logger.Debug("Scrape refused downstream", zap.String("target", s.url), zap.Error(err))
	}
}

// fetch reads the target's exposition into s.body and returns its content type.
func (s *targetScraper) fetch(ctx context.Context) (string, error) {
	timeout := s.r.cfg.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "otelcol-recobs/"+s.r.set.BuildInfo.Version)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	res, err := s.r.client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return "", fmt.Errorf("server returned HTTP status %s", res.Status)
	}
	s.body.Reset()
	limit := s.r.cfg.BodySizeLimit
	n, err := s.body.ReadFrom(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return "", fmt.Errorf("reading the body: %w", err)
	}
	if n > limit {
		return "", fmt.Errorf("body larger than body_size_limit (%d bytes)", limit)
	}
	return res.Header.Get("Content-Type"), nil
}

// resource names the target as contrib's prometheus receiver does: service.name is the job,
// service.instance.id the instance, and server.address (unless a loopback or unspecified
// address), server.port and url.scheme; target_info's labels are added.
func (s *targetScraper) resource(res pcommon.Resource, targetInfo labels.Labels) {
	attrs := res.Attributes()
	attrs.PutStr("service.name", s.r.cfg.JobName)
	attrs.PutStr("service.instance.id", s.target)
	host, port, _ := net.SplitHostPort(s.target)
	if ip := net.ParseIP(host); (ip == nil && host != "localhost") || (ip != nil && !ip.IsLoopback() && !ip.IsUnspecified()) {
		attrs.PutStr("server.address", host)
	}
	attrs.PutStr("server.port", port)
	attrs.PutStr("url.scheme", s.r.cfg.Scheme)
	targetInfo.Range(func(l labels.Label) {
		if l.Name != model.MetricNameLabel && l.Name != model.JobLabel && l.Name != model.InstanceLabel {
			attrs.PutStr(l.Name, l.Value)
		}
	})
}
