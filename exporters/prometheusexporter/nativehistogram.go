package prometheusexporter // import "github.com/recobs/recobs/exporters/prometheusexporter"

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// nativeHistogram turns a cumulative OTel exponential histogram point into a Prometheus
// native histogram. The two share their bucket boundaries (base 2^(2^-scale)); Prometheus
// schemas stop at 8, so a finer scale is merged down, losing resolution but no count. OTel's
// bucket i is (base^i, base^(i+1)], Prometheus' bucket i is (base^(i-1), base^i]: indices
// shift by one.
func nativeHistogram(p pmetric.ExponentialHistogramDataPoint) (*histogram.Histogram, error) {
	scale := p.Scale()
	if scale < histogram.ExponentialSchemaMin {
		return nil, fmt.Errorf("scale %d is below the coarsest native schema %d", scale, histogram.ExponentialSchemaMin)
	}
	var down int32
	if scale > histogram.ExponentialSchemaMax {
		down = scale - histogram.ExponentialSchemaMax
		scale = histogram.ExponentialSchemaMax
	}
	h := &histogram.Histogram{
		// Whether a counter reset happened is Prometheus' call, from the sample itself.
		CounterResetHint: histogram.UnknownCounterReset,
		Schema:           scale,
		ZeroThreshold:    p.ZeroThreshold(),
		ZeroCount:        p.ZeroCount(),
		Count:            p.Count(),
	}
	if p.HasSum() {
		h.Sum = p.Sum()
	}
	h.PositiveSpans, h.PositiveBuckets = sparseBuckets(p.Positive().Offset(), p.Positive().BucketCounts().AsRaw(), down)
	h.NegativeSpans, h.NegativeBuckets = sparseBuckets(p.Negative().Offset(), p.Negative().BucketCounts().AsRaw(), down)
	if p.Flags().NoRecordedValue() {
		h.Sum = math.Float64frombits(value.StaleNaN)
		h.Count = value.StaleNaN
		return h, nil
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// sparseBuckets turns dense OTel bucket counts starting at offset into Prometheus spans and
// delta-encoded counts, merging 2^down neighbours. Runs of up to two empty buckets stay
// inside a span (cheaper than a new span, as client_golang does); longer ones start one.
func sparseBuckets(offset int32, counts []uint64, down int32) ([]histogram.Span, []int64) {
	var spans []histogram.Span
	var deltas []int64
	var prev int64
	next := int32(0) // the Prometheus index the next bucket of the current span would have
	emit := func(idx int32, count int64) {
		switch gap := idx - next; {
		case len(spans) == 0:
			spans = append(spans, histogram.Span{Offset: idx})
		case gap > 2:
			spans = append(spans, histogram.Span{Offset: gap})
		default:
			for range gap {
				spans[len(spans)-1].Length++
				deltas = append(deltas, -prev)
				prev = 0
			}
		}
		spans[len(spans)-1].Length++
		deltas = append(deltas, count-prev)
		prev = count
		next = idx + 1
	}
	var cur int32
	var acc int64
	have := false
	for i, c := range counts {
		idx := (offset+int32(i))>>down + 1
		if have && idx != cur {
			if acc > 0 {
				emit(cur, acc)
			}
			acc = 0
		}
		cur, have = idx, true
		acc += int64(c)
	}
	if have && acc > 0 {
		emit(cur, acc)
	}
	return spans, deltas
}
