package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// scrapeCache holds the newest point of every series for Prometheus to scrape, bounded in
// series. A series not updated within expiration is dropped; a live one never is, and an
// older point never replaces a newer one, so a scraped counter never goes backwards.
type scrapeCache struct {
	maxSeries  int
	expiration time.Duration
	logger     *zap.Logger

	mu       sync.Mutex
	families map[string]*family
	series   int
	refused  int64 // series not admitted: cap reached or a name reused with another type
	expired  int64
	swept    time.Time // when expire last ran
}

type family struct {
	name, help string
	typ        dto.MetricType
	series     map[string]*cachedSeries
}

type cachedSeries struct {
	metric *dto.Metric // replaced, never mutated: a scrape may still be encoding the old one
	ts     int64       // the point's own time (ms)
	seen   time.Time   // when it was last updated
}

func newScrapeCache(maxSeries int, expiration time.Duration, logger *zap.Logger) *scrapeCache {
	return &scrapeCache{maxSeries: maxSeries, expiration: expiration, logger: logger, families: map[string]*family{}}
}

// put stores m as the newest point of its series; it returns false when the series was refused.
func (c *scrapeCache) put(name, help string, typ dto.MetricType, ls labelSet, ts int64, m *dto.Metric, now time.Time) bool {
	m.Label = labelPairs(ls)
	key := seriesKey(m.Label)
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.families[name]
	if !ok {
		f = &family{name: name, help: help, typ: typ, series: map[string]*cachedSeries{}}
		c.families[name] = f
	}
	if f.typ != typ {
		c.refused++
		return false
	}
	if s, ok := f.series[key]; ok {
		if ts >= s.ts {
			s.metric, s.ts = m, ts
		}
		s.seen = now
		return true
	}
	if c.series >= c.maxSeries {
		c.refused++
		if len(f.series) == 0 {
			delete(c.families, name)
		}
		return false
	}
	f.series[key] = &cachedSeries{metric: m, ts: ts, seen: now}
	c.series++
	return true
}

// sweep expires idle series when a tenth of the expiration has passed since the last sweep:
// pushes come every few seconds and each would otherwise walk every series.
func (c *scrapeCache) sweep(now time.Time) {
	c.mu.Lock()
	due := now.Sub(c.swept) >= c.expiration/10
	c.mu.Unlock()
	if due {
		c.expire(now)
	}
}

func (c *scrapeCache) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.swept = now
	for name, f := range c.families {
		for k, s := range f.series {
			if now.Sub(s.seen) > c.expiration {
				delete(f.series, k)
				c.series--
				c.expired++
			}
		}
		if len(f.series) == 0 {
			delete(c.families, name)
		}
	}
}

// snapshot returns the families sorted by name, their series by labels, for encoding.
func (c *scrapeCache) snapshot() []*dto.MetricFamily {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*dto.MetricFamily, 0, len(c.families))
	for _, f := range c.families {
		mf := &dto.MetricFamily{Name: proto.String(f.name), Type: f.typ.Enum(), Metric: make([]*dto.Metric, 0, len(f.series))}
		if f.help != "" {
			mf.Help = proto.String(f.help)
		}
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			mf.Metric = append(mf.Metric, f.series[k].metric)
		}
		out = append(out, mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func (c *scrapeCache) stats() (series int, refused, expired int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.series, c.refused, c.expired
}

// ServeHTTP answers in the format the scraper asks for: Prometheus text, OpenMetrics (with
// exemplars) or protobuf (with native histograms).
func (c *scrapeCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.expire(time.Now())
	format := expfmt.NegotiateIncludingOpenMetrics(r.Header)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range c.snapshot() {
		if err := enc.Encode(mf); err != nil {
			c.logger.Warn("scrape response cut short", zap.Error(err))
			return
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		_ = closer.Close()
	}
}

func labelPairs(ls labelSet) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(ls))
	for k, v := range ls {
		out = append(out, &dto.LabelPair{Name: proto.String(k), Value: proto.String(v)})
	}
	slices.SortFunc(out, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

func seriesKey(pairs []*dto.LabelPair) string {
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(p.GetName())
		b.WriteByte(0xff)
		b.WriteString(p.GetValue())
		b.WriteByte(0xff)
	}
	return b.String()
}

// update stores every point of md; it returns how many points were refused and skipped.
func (c *scrapeCache) update(t *translator, md pmetric.Metrics, now time.Time) (refused int, sk skipped) {
	u := &scrapeUpdate{c: c, now: now}
	sk = t.walk(md, u)
	return u.refused, sk
}

// scrapeUpdate stores the newest point of each series of one walk (a pointSink). A point
// flagged "no recorded value" is not stored: the scrape simply stops showing the series,
// and expiry removes it.
type scrapeUpdate struct {
	c       *scrapeCache
	now     time.Time
	refused int
}

func (u *scrapeUpdate) put(f metricFamily, typ dto.MetricType, ls labelSet, ts pcommon.Timestamp, dm *dto.Metric) {
	if !u.c.put(f.name, f.m.Description(), typ, ls, ms(ts), dm, u.now) {
		u.refused++
	}
}

func (u *scrapeUpdate) begin(metricFamily) {}

func (u *scrapeUpdate) number(f metricFamily, ls labelSet, p pmetric.NumberDataPoint) {
	if p.Flags().NoRecordedValue() {
		return
	}
	dm := &dto.Metric{}
	typ := dto.MetricType_GAUGE
	if f.typ == prompb.MetricMetadata_COUNTER {
		typ = dto.MetricType_COUNTER
		dm.Counter = &dto.Counter{Value: proto.Float64(numberValue(p)), Exemplar: lastExemplar(p.Exemplars(), nil)}
	} else {
		dm.Gauge = &dto.Gauge{Value: proto.Float64(numberValue(p))}
	}
	u.put(f, typ, ls, p.Timestamp(), dm)
}

func (u *scrapeUpdate) histogram(f metricFamily, ls labelSet, p pmetric.HistogramDataPoint) {
	if p.Flags().NoRecordedValue() {
		return
	}
	h := &dto.Histogram{SampleCount: proto.Uint64(p.Count()), SampleSum: proto.Float64(p.Sum())}
	bounds, counts := p.ExplicitBounds(), p.BucketCounts()
	var cum uint64
	lower := 0.0
	for b := 0; b < bounds.Len() && b < counts.Len(); b++ {
		cum += counts.At(b)
		upper := bounds.At(b)
		h.Bucket = append(h.Bucket, &dto.Bucket{CumulativeCount: proto.Uint64(cum), UpperBound: proto.Float64(upper),
			Exemplar: lastExemplar(p.Exemplars(), func(v float64) bool { return (b == 0 || v > lower) && v <= upper })})
		lower = upper
	}
	u.put(f, dto.MetricType_HISTOGRAM, ls, p.Timestamp(), &dto.Metric{Histogram: h})
}

func (u *scrapeUpdate) native(f metricFamily, ls labelSet, p pmetric.ExponentialHistogramDataPoint, nh *histogram.Histogram) {
	if p.Flags().NoRecordedValue() {
		return
	}
	h := &dto.Histogram{
		SampleCount: proto.Uint64(nh.Count), SampleSum: proto.Float64(nh.Sum),
		Schema: proto.Int32(nh.Schema), ZeroThreshold: proto.Float64(nh.ZeroThreshold), ZeroCount: proto.Uint64(nh.ZeroCount),
		PositiveDelta: nh.PositiveBuckets, NegativeDelta: nh.NegativeBuckets,
		Exemplars: allExemplars(p.Exemplars()),
	}
	for _, s := range nh.PositiveSpans {
		h.PositiveSpan = append(h.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(s.Offset), Length: proto.Uint32(s.Length)})
	}
	for _, s := range nh.NegativeSpans {
		h.NegativeSpan = append(h.NegativeSpan, &dto.BucketSpan{Offset: proto.Int32(s.Offset), Length: proto.Uint32(s.Length)})
	}
	u.put(f, dto.MetricType_HISTOGRAM, ls, p.Timestamp(), &dto.Metric{Histogram: h})
}

func (u *scrapeUpdate) summary(f metricFamily, ls labelSet, p pmetric.SummaryDataPoint) {
	if p.Flags().NoRecordedValue() {
		return
	}
	s := &dto.Summary{SampleCount: proto.Uint64(p.Count()), SampleSum: proto.Float64(p.Sum())}
	for q := 0; q < p.QuantileValues().Len(); q++ {
		qv := p.QuantileValues().At(q)
		s.Quantile = append(s.Quantile, &dto.Quantile{Quantile: proto.Float64(qv.Quantile()), Value: proto.Float64(qv.Value())})
	}
	u.put(f, dto.MetricType_SUMMARY, ls, p.Timestamp(), &dto.Metric{Summary: s})
}

func (u *scrapeUpdate) targetInfo(info labelSet, latest int64) {
	if !u.c.put("target_info", "Target metadata", dto.MetricType_GAUGE, info, latest, &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(1)}}, u.now) {
		u.refused++
	}
}

func toDTOExemplar(e pmetric.Exemplar) *dto.Exemplar {
	var ls []*dto.LabelPair
	if tid := e.TraceID(); !tid.IsEmpty() {
		ls = append(ls, &dto.LabelPair{Name: proto.String("trace_id"), Value: proto.String(tid.String())})
	}
	if sid := e.SpanID(); !sid.IsEmpty() {
		ls = append(ls, &dto.LabelPair{Name: proto.String("span_id"), Value: proto.String(sid.String())})
	}
	ex := &dto.Exemplar{Label: ls, Value: proto.Float64(exemplarValue(e))}
	if e.Timestamp() != 0 {
		ex.Timestamp = timestamppb.New(e.Timestamp().AsTime())
	}
	return ex
}

// lastExemplar is the newest exemplar whose value passes in (any, when in is nil):
// OpenMetrics shows one exemplar per counter or bucket.
func lastExemplar(exs pmetric.ExemplarSlice, in func(float64) bool) *dto.Exemplar {
	var best pmetric.Exemplar
	found := false
	for i := 0; i < exs.Len(); i++ {
		e := exs.At(i)
		if in != nil && !in(exemplarValue(e)) {
			continue
		}
		if !found || e.Timestamp() >= best.Timestamp() {
			best, found = e, true
		}
	}
	if !found {
		return nil
	}
	return toDTOExemplar(best)
}

func allExemplars(exs pmetric.ExemplarSlice) []*dto.Exemplar {
	out := make([]*dto.Exemplar, 0, exs.Len())
	for i := 0; i < exs.Len(); i++ {
		out = append(out, toDTOExemplar(exs.At(i)))
	}
	return out
}
