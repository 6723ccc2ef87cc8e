package redconnector // import "github.com/recobs/recobs/connectors/redconnector"

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/recobs/recobs/connectors/redconnector/internal/metadata"
)

// OverflowAttribute marks the one series that takes points once max_series is reached.
const OverflowAttribute = "otel.metric.overflow"

type exemplar struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	value   float64
	at      pcommon.Timestamp
}

// series is one combination of dimension values and its cumulative RED state.
type series struct {
	instance   string   // service.instance.id: two pods' series must never merge
	service    string   // the resource's service.name (the job), kept when the label is excluded
	values     []string // service.name, span.name, status (class or code), span.kind, then cfg.Dimensions
	requests   uint64
	errors     uint64
	buckets    []uint64 // len(bounds)+1, the last is +Inf
	sum        float64
	start      pcommon.Timestamp
	lastUpdate time.Time
	reqEx      exemplar
	errEx      exemplar
	bucketEx   []exemplar
}

type red struct {
	cfg    *Config
	logger *zap.Logger
	next   consumer.Metrics
	kinds  map[ptrace.SpanKind]bool
	now    func() time.Time
	// bounds are cfg.Buckets in the histogram's unit (seconds, or milliseconds in spanmetrics
	// mode), perUnit the nanoseconds in that unit.
	bounds  []float64
	perUnit float64
	// own says which of the mode's own labels are kept (not in exclude_dimensions):
	// service.name, span.name, status, span.kind.
	own [4]bool

	mu       sync.Mutex
	series   map[string]*series
	overflow *series
	key      []byte

	telemetry  *metadata.TelemetryBuilder
	stop, done chan struct{}
}

func newConnector(cfg *Config, set component.TelemetrySettings, next consumer.Metrics) (*red, error) {
	kinds := map[ptrace.SpanKind]bool{}
	for _, k := range cfg.SpanKinds {
		kinds[map[string]ptrace.SpanKind{
			"server": ptrace.SpanKindServer, "consumer": ptrace.SpanKindConsumer, "client": ptrace.SpanKindClient,
			"producer": ptrace.SpanKindProducer, "internal": ptrace.SpanKindInternal,
		}[k]] = true
	}
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	r := &red{cfg: cfg, logger: set.Logger, next: next, kinds: kinds, now: time.Now,
		series: map[string]*series{}, telemetry: tb, perUnit: 1e9}
	if cfg.Mode == ModeSpanmetrics {
		r.perUnit = 1e6
	}
	for _, b := range cfg.Buckets {
		r.bounds = append(r.bounds, float64(b)/r.perUnit)
	}
	// r.own follows defaultDimensions' order: service.name, span.name, the status, span.kind
	// (spanmetrics only).
	for i, name := range defaultDimensions[cfg.Mode] {
		r.own[i] = !slices.Contains(cfg.ExcludeDimensions, name)
	}
	return r, nil
}

func (r *red) Capabilities() consumer.Capabilities { return consumer.Capabilities{MutatesData: false} }

func (r *red) Start(context.Context, component.Host) error {
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.cfg.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				if err := r.flush(context.Background()); err != nil {
					r.logger.Warn("emitting RED metrics failed", zap.Error(err))
				}
			}
		}
	}()
	return nil
}

// Shutdown emits the last values, so a restart loses no interval.
func (r *red) Shutdown(ctx context.Context) error {
	if r.stop == nil {
		return nil
	}
	close(r.stop)
	<-r.done
	return r.flush(ctx)
}

var httpClasses = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

// The spanmetrics connector's values of span.kind and status.code.
var (
	spanKindNames = map[ptrace.SpanKind]string{
		ptrace.SpanKindUnspecified: "SPAN_KIND_UNSPECIFIED", ptrace.SpanKindInternal: "SPAN_KIND_INTERNAL",
		ptrace.SpanKindServer: "SPAN_KIND_SERVER", ptrace.SpanKindClient: "SPAN_KIND_CLIENT",
		ptrace.SpanKindProducer: "SPAN_KIND_PRODUCER", ptrace.SpanKindConsumer: "SPAN_KIND_CONSUMER",
	}
	statusCodes = map[ptrace.StatusCode]string{
		ptrace.StatusCodeUnset: "STATUS_CODE_UNSET", ptrace.StatusCodeOk: "STATUS_CODE_OK", ptrace.StatusCodeError: "STATUS_CODE_ERROR",
	}
)

// dimensionValue is d's value on the span, else on its resource, else d's default ("" for
// none: no label).
func dimensionValue(d Dimension, attrs, res pcommon.Map) string {
	if v, ok := attrs.Get(d.Name); ok {
		return v.AsString()
	}
	if v, ok := res.Get(d.Name); ok {
		return v.AsString()
	}
	if d.Default != nil {
		return *d.Default
	}
	return ""
}

// statusClass is 2xx…5xx from the HTTP status when the span has one, else ok/error from
// the span status.
func statusClass(code int64, status ptrace.StatusCode) string {
	if code >= 100 && code < 600 {
		return httpClasses[code/100]
	}
	if status == ptrace.StatusCodeError {
		return "error"
	}
	return "ok"
}

func (r *red) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	var overflowed int64
	now := r.now()
	r.mu.Lock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		res := rss.At(i).Resource().Attributes()
		service, instance := "", ""
		if v, ok := res.Get("service.name"); ok {
			service = v.AsString()
		}
		if v, ok := res.Get("service.instance.id"); ok {
			instance = v.AsString()
		}
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !r.kinds[span.Kind()] {
					continue
				}
				if r.record(span, res, service, instance, now) {
					overflowed++
				}
			}
		}
	}
	r.mu.Unlock()
	if overflowed > 0 {
		r.telemetry.RedOverflowPoints.Add(ctx, overflowed)
	}
	return nil
}

// record adds one span to its series (r.mu held); it reports whether the span went to the
// overflow series.
func (r *red) record(span ptrace.Span, res pcommon.Map, service, instance string, now time.Time) bool {
	attrs := span.Attributes()
	var code int64
	if v, ok := attrs.Get("http.response.status_code"); ok {
		code = v.Int()
		if v.Type() == pcommon.ValueTypeStr {
			code, _ = strconv.ParseInt(v.Str(), 10, 64)
		}
	}
	status, kind := statusClass(code, span.Status().Code()), ""
	if r.cfg.Mode == ModeSpanmetrics {
		status, kind = statusCodes[span.Status().Code()], spanKindNames[span.Kind()]
	}
	own := [4]string{service, span.Name(), status, kind}
	for i, keep := range r.own {
		if !keep {
			own[i] = ""
		}
	}

	r.key = append(r.key[:0], instance...)
	r.key = append(r.key, 0)
	r.key = append(r.key, service...) // the resource's: series of two services never merge
	for _, v := range own {
		r.key = append(r.key, 0)
		r.key = append(r.key, v...)
	}
	for _, d := range r.cfg.Dimensions {
		r.key = append(r.key, 0)
		r.key = append(r.key, dimensionValue(d, attrs, res)...)
	}
	s, ok := r.series[string(r.key)]
	over := false
	if !ok {
		if len(r.series) >= r.cfg.MaxSeries {
			if r.overflow == nil {
				r.overflow = r.newSeries(nil)
			}
			s, over = r.overflow, true
		} else {
			values := make([]string, 0, len(own)+len(r.cfg.Dimensions))
			values = append(values, own[:]...)
			for _, d := range r.cfg.Dimensions {
				values = append(values, dimensionValue(d, attrs, res))
			}
			s = r.newSeries(values)
			s.instance, s.service = instance, service
			r.series[string(r.key)] = s
		}
	}

	dur := float64(span.EndTimestamp()-span.StartTimestamp()) / r.perUnit
	if dur < 0 {
		dur = 0
	}
	ex := exemplar{traceID: span.TraceID(), spanID: span.SpanID(), value: dur, at: span.EndTimestamp()}
	s.requests++
	s.reqEx = exemplar{traceID: ex.traceID, spanID: ex.spanID, value: 1, at: ex.at}
	if span.Status().Code() == ptrace.StatusCodeError || code >= 500 {
		s.errors++
		s.errEx = exemplar{traceID: ex.traceID, spanID: ex.spanID, value: 1, at: ex.at}
	}
	b := len(r.bounds)
	for i, bound := range r.bounds {
		if dur <= bound {
			b = i
			break
		}
	}
	s.buckets[b]++
	s.bucketEx[b] = ex
	s.sum += dur
	s.lastUpdate = now
	return over
}

func (r *red) newSeries(values []string) *series {
	n := len(r.bounds) + 1
	return &series{values: values, buckets: make([]uint64, n), bucketEx: make([]exemplar, n),
		start: pcommon.NewTimestampFromTime(r.now())}
}

// flush emits every series as cumulative metrics and drops the ones idle past expiration.
func (r *red) flush(ctx context.Context) error {
	now := r.now()
	ts := pcommon.NewTimestampFromTime(now)
	md := pmetric.NewMetrics()
	// errors is left empty in spanmetrics mode: its errors are the calls labelled
	// STATUS_CODE_ERROR.
	type family struct{ requests, errors, duration pmetric.Metric }
	byService := map[[2]string]family{}
	ns := r.cfg.namespace()
	familyFor := func(service, instance string) family {
		if f, ok := byService[[2]string{service, instance}]; ok {
			return f
		}
		rm := md.ResourceMetrics().AppendEmpty()
		if service != "" {
			rm.Resource().Attributes().PutStr("service.name", service)
		}
		if instance != "" {
			rm.Resource().Attributes().PutStr("service.instance.id", instance)
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(metadata.ScopeName)
		type def struct {
			metric           *pmetric.Metric
			name, desc, unit string
		}
		var f family
		defs := []def{
			{&f.requests, ns + ".requests", "Requests (server spans).", ""},
			{&f.errors, ns + ".errors", "Failed requests: span status error or HTTP 5xx.", ""},
			{&f.duration, ns + ".duration", "Request duration.", "s"},
		}
		if r.cfg.Mode == ModeSpanmetrics {
			defs = []def{
				{&f.requests, ns + ".calls", "Spans counted, by service, name, kind and status code.", ""},
				{&f.duration, ns + ".duration", "Span duration.", "ms"},
			}
		}
		for _, d := range defs {
			m := sm.Metrics().AppendEmpty()
			m.SetName(d.name)
			m.SetDescription(d.desc)
			m.SetUnit(d.unit)
			*d.metric = m
		}
		for _, m := range []pmetric.Metric{f.requests, f.errors} {
			if m == (pmetric.Metric{}) {
				continue
			}
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		}
		f.duration.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		byService[[2]string{service, instance}] = f
		return f
	}

	// What this flush takes out of the series — their exemplars, the expired series — goes
	// back if the next consumer refuses the metrics, so the next flush carries it again.
	var taken []takenExemplar
	var expired []string
	r.mu.Lock()
	statusLabel := "status_class"
	if r.cfg.Mode == ModeSpanmetrics {
		statusLabel = "status.code"
	}
	emit := func(s *series) {
		f := familyFor(s.service, s.instance)
		attrs := pcommon.NewMap()
		if s.values == nil {
			attrs.PutStr(OverflowAttribute, "true")
		} else {
			for i, label := range [4]string{"service.name", "span.name", statusLabel, "span.kind"} {
				if v := s.values[i]; v != "" {
					attrs.PutStr(label, v)
				}
			}
			for i, d := range r.cfg.Dimensions {
				if v := s.values[4+i]; v != "" {
					attrs.PutStr(d.Name, v)
				}
			}
		}
		for _, c := range []struct {
			m  pmetric.Metric
			n  uint64
			ex *exemplar
		}{{f.requests, s.requests, &s.reqEx}, {f.errors, s.errors, &s.errEx}} {
			if c.m == (pmetric.Metric{}) {
				continue
			}
			dp := c.m.Sum().DataPoints().AppendEmpty()
			attrs.CopyTo(dp.Attributes())
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(ts)
			dp.SetIntValue(int64(c.n))
			taken = putExemplar(dp.Exemplars(), c.ex, taken)
		}
		hp := f.duration.Histogram().DataPoints().AppendEmpty()
		attrs.CopyTo(hp.Attributes())
		hp.SetStartTimestamp(s.start)
		hp.SetTimestamp(ts)
		hp.SetCount(s.requests)
		hp.SetSum(s.sum)
		hp.ExplicitBounds().FromRaw(r.bounds)
		hp.BucketCounts().FromRaw(s.buckets)
		for i := range s.bucketEx {
			taken = putExemplar(hp.Exemplars(), &s.bucketEx[i], taken)
		}
	}
	for k, s := range r.series {
		if now.Sub(s.lastUpdate) > r.cfg.Expiration {
			// Idle past the window: emitted a last time (its last increments and exemplars
			// may not have been sent yet), then dropped once that flush is taken, so it stops
			// being exported. A series that comes back starts again from a new start time,
			// which Prometheus reads as a new counter; a live series is never touched.
			expired = append(expired, k)
		}
		emit(s)
	}
	if r.overflow != nil {
		emit(r.overflow)
	}
	r.mu.Unlock()

	if md.DataPointCount() == 0 {
		return nil
	}
	err := r.next.ConsumeMetrics(ctx, md)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Cumulative values lose nothing: the next flush sends the new totals. What was
		// moved out goes back for it.
		r.telemetry.RedPointsRefused.Add(ctx, int64(md.DataPointCount()))
		for _, t := range taken {
			if t.to.traceID.IsEmpty() { // no newer exemplar took its place meanwhile
				*t.to = t.ex
			}
		}
		return fmt.Errorf("next consumer refused %d RED points (they go again with the next flush): %w", md.DataPointCount(), err)
	}
	for _, k := range expired {
		if s := r.series[k]; s != nil && now.Sub(s.lastUpdate) > r.cfg.Expiration {
			delete(r.series, k)
		}
	}
	return nil
}

// takenExemplar is an exemplar a flush moved onto a point, and where it came from.
type takenExemplar struct {
	to *exemplar
	ex exemplar
}

// putExemplar moves ex onto the point (once: an exemplar is sent with one flush only) and
// notes it in taken.
func putExemplar(to pmetric.ExemplarSlice, ex *exemplar, taken []takenExemplar) []takenExemplar {
	if ex.traceID.IsEmpty() {
		return taken
	}
	e := to.AppendEmpty()
	e.SetTraceID(ex.traceID)
	e.SetSpanID(ex.spanID)
	e.SetDoubleValue(ex.value)
	e.SetTimestamp(ex.at)
	taken = append(taken, takenExemplar{to: ex, ex: *ex})
	*ex = exemplar{}
	return taken
}
