package prometheusexporter

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func expPoint(scale, offset int32, counts []uint64, zero uint64) pmetric.ExponentialHistogramDataPoint {
	p := pmetric.NewExponentialHistogramDataPoint()
	p.SetScale(scale)
	p.Positive().SetOffset(offset)
	p.Positive().BucketCounts().FromRaw(counts)
	p.SetZeroCount(zero)
	total := zero
	for _, c := range counts {
		total += c
	}
	p.SetCount(total)
	p.SetSum(12.5)
	return p
}

func TestNativeHistogramHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		p          pmetric.ExponentialHistogramDataPoint
		schema     int32
		spans      []histogram.Span
		deltas     []int64
		zeroCount  uint64
		totalCount uint64
	}{
		{
			// OTel buckets 0..5 at scale 0 are Prometheus buckets 1..6; three empty buckets
			// (2, 3, 4) are a gap worth a new span.
			name: "gap starts a span", p: expPoint(0, 0, []uint64{1, 0, 0, 0, 2, 3}, 4),
			schema: 0, spans: []histogram.Span{{Offset: 1, Length: 1}, {Offset: 3, Length: 2}}, deltas: []int64{1, 1, 1},
			zeroCount: 4, totalCount: 10,
		},
		{
			name: "small gap stays inside the span", p: expPoint(2, -2, []uint64{5, 0, 0, 1}, 0),
			schema: 2, spans: []histogram.Span{{Offset: -1, Length: 4}}, deltas: []int64{5, -5, 0, 1},
			totalCount: 6,
		},
		{
			// Scale 10 is finer than schema 8: groups of four OTel buckets merge. OTel
			// indices -3..2 map to Prometheus indices 0,0,0,1,1,1.
			name: "scale above 8 merges down", p: expPoint(10, -3, []uint64{1, 1, 1, 1, 1, 1}, 0),
			schema: 8, spans: []histogram.Span{{Offset: 0, Length: 2}}, deltas: []int64{3, 0},
			totalCount: 6,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := nativeHistogram(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if h.Schema != tc.schema || !reflect.DeepEqual(h.PositiveSpans, tc.spans) || !reflect.DeepEqual(h.PositiveBuckets, tc.deltas) ||
				h.ZeroCount != tc.zeroCount || h.Count != tc.totalCount || h.Sum != 12.5 {
				t.Fatalf("got schema %d spans %v deltas %v zero %d count %d sum %v", h.Schema, h.PositiveSpans, h.PositiveBuckets, h.ZeroCount, h.Count, h.Sum)
			}
		})
	}
}

// TestNativeHistogramKeepsEveryCount: for random exponential histograms at every scale, each
// Prometheus bucket holds exactly the OTel counts whose ranges it covers.
func TestNativeHistogramKeepsEveryCount(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		scale := int32(r.IntN(20)) - 4 // -4..15
		// Keep every bound within float64's range: |index| * 2^-scale well below 1023.
		lim := max(1, min(100, 900>>max(0, -int(scale)))-40)
		offset := int32(r.IntN(2*lim) - lim)
		counts := make([]uint64, r.IntN(40))
		for i := range counts {
			if r.IntN(3) > 0 {
				counts[i] = uint64(r.IntN(50))
			}
		}
		p := expPoint(scale, offset, counts, uint64(r.IntN(3)))
		h, err := nativeHistogram(p)
		if err != nil {
			t.Fatalf("scale %d offset %d counts %v: %v", scale, offset, counts, err)
		}
		base := math.Pow(2, math.Pow(2, -float64(scale)))
		it := h.PositiveBucketIterator()
		var got uint64
		for it.Next() {
			b := it.At()
			var want uint64
			for i, c := range counts {
				// OTel bucket (offset+i) is (base^k, base^(k+1)]; compare in log space.
				k := float64(offset + int32(i))
				mid := math.Pow(base, k+0.5)
				if mid > b.Lower && mid <= b.Upper {
					want += c
				}
			}
			if b.Count != want {
				t.Fatalf("scale %d offset %d counts %v: bucket (%g, %g] holds %d, want %d", scale, offset, counts, b.Lower, b.Upper, b.Count, want)
			}
			got += b.Count
		}
		if got+h.ZeroCount != h.Count {
			t.Fatalf("scale %d offset %d counts %v: buckets hold %d + zero %d, count %d", scale, offset, counts, got, h.ZeroCount, h.Count)
		}
	}
}

func TestNativeHistogramRejectsInconsistentPoint(t *testing.T) {
	p := expPoint(0, 0, []uint64{5}, 0)
	p.SetCount(2) // fewer than the buckets hold
	if _, err := nativeHistogram(p); err == nil {
		t.Fatal("a count below the buckets' total must be refused, and counted, not sent")
	}
	p = expPoint(-5, 0, []uint64{1}, 0)
	if _, err := nativeHistogram(p); err == nil {
		t.Fatal("a scale below -4 has no native schema")
	}
}
