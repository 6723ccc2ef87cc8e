package prometheusexporter

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fixture: a RED-style counter and a latency histogram with an exemplar, from recsvc.
func fixture() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "recsvc")
	rm.Resource().Attributes().PutStr("service.instance.id", "pod-1")
	rm.Resource().Attributes().PutStr("k8s.pod.name", "recsvc-0")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()

	c := ms.AppendEmpty()
	c.SetName("red.requests")
	c.SetUnit("1")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	p := sum.DataPoints().AppendEmpty()
	p.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	p.SetIntValue(42)
	p.Attributes().PutStr("http.route", "/v1/recommendations")

	h := ms.AppendEmpty()
	h.SetName("red.duration")
	h.SetUnit("s")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hp := hist.DataPoints().AppendEmpty()
	hp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	hp.ExplicitBounds().FromRaw([]float64{0.01, 0.05, 0.1})
	hp.BucketCounts().FromRaw([]uint64{3, 2, 1, 1}) // cumulative: 3, 5, 6, +Inf 7
	hp.SetCount(7)
	hp.SetSum(1.234)
	ex := hp.Exemplars().AppendEmpty()
	ex.SetDoubleValue(0.07)
	ex.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	ex.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	ex.SetSpanID(pcommon.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})

	d := ms.AppendEmpty()
	d.SetName("delta.things")
	ds := d.SetEmptySum()
	ds.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	ds.DataPoints().AppendEmpty().SetIntValue(1)
	return md
}

func key(ls []prompb.Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name + "=" + l.Value)
	}
	return b.String()
}

func TestTranslateHandComputed(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ResourceToLabels = []string{"k8s.pod.name"}
	series, sk, _ := newTranslator(cfg).translate(fixture())
	got := map[string]prompb.TimeSeries{}
	for _, s := range series {
		for i := 1; i < len(s.Labels); i++ {
			if s.Labels[i-1].Name >= s.Labels[i].Name {
				t.Fatalf("labels not sorted: %v", s.Labels)
			}
		}
		got[key(s.Labels)] = s
	}
	base := "instance=pod-1,job=recsvc,k8s_pod_name=recsvc-0"
	want := map[string]float64{
		"__name__=red_requests_total,http_route=/v1/recommendations," + base:   42,
		"__name__=red_duration_seconds_bucket," + base + ",le=0.01":            3,
		"__name__=red_duration_seconds_bucket," + base + ",le=0.05":            5,
		"__name__=red_duration_seconds_bucket," + base + ",le=0.1":             6,
		"__name__=red_duration_seconds_bucket," + base + ",le=+Inf":            7,
		"__name__=red_duration_seconds_sum," + base:                            1.234,
		"__name__=red_duration_seconds_count," + base:                          7,
		"__name__=target_info,instance=pod-1,job=recsvc,k8s_pod_name=recsvc-0": 1,
	}
	if len(got) != len(want) {
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		t.Fatalf("want %d series, got %d: %v", len(want), len(got), keys)
	}
	for k, v := range want {
		s, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if s.Samples[0].Value != v || s.Samples[0].Timestamp != t0.UnixMilli() {
			t.Errorf("%s: got %v@%d, want %v@%d", k, s.Samples[0].Value, s.Samples[0].Timestamp, v, t0.UnixMilli())
		}
	}
	// The 0.07 s exemplar belongs to the le=0.1 bucket, with its trace and span.
	b := got["__name__=red_duration_seconds_bucket,"+base+",le=0.1"]
	if len(b.Exemplars) != 1 || key(b.Exemplars[0].Labels) != "trace_id=4bf92f3577b34da6a3ce929d0e0e4736,span_id=00f067aa0ba902b7" {
		t.Errorf("exemplar: %+v", b.Exemplars)
	}
	if sk.delta != 1 {
		t.Errorf("the delta sum must be counted as skipped, got %+v", sk)
	}
}

func TestNoRecordedValueIsStale(t *testing.T) {
	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("g")
	p := g.SetEmptyGauge().DataPoints().AppendEmpty()
	p.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	series, _, _ := newTranslator(createDefaultConfig().(*Config)).translate(md)
	if len(series) != 1 || !value.IsStaleNaN(series[0].Samples[0].Value) || !math.IsNaN(series[0].Samples[0].Value) {
		t.Fatalf("want a stale marker, got %+v", series)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientConfig.Endpoint = "127.0.0.1:9090"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "endpoint:") {
		t.Errorf("got %v", err)
	}
	// A bad endpoint is named, never echoed: it may carry a password.
	cfg.ClientConfig.Endpoint = "ftp://writer:s3cr3t@prom:9090/api/v1/write"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "endpoint:") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("got %v", err)
	}
	cfg = createDefaultConfig().(*Config)
	cfg.Queue.Get().NumConsumers = 4
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "num_consumers") {
		t.Errorf("got %v", err)
	}
}

func BenchmarkTranslate(b *testing.B) {
	md := fixture()
	tr := newTranslator(createDefaultConfig().(*Config))
	b.ReportAllocs()
	for b.Loop() {
		tr.translate(md)
	}
}
