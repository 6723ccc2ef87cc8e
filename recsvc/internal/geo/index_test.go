package geo

import (
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/recsvc/internal/places"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNearbyMatchesBruteForce: the index finds exactly what a scan of every place finds.
func TestNearbyMatchesBruteForce(t *testing.T) {
	ps := places.Default(600)
	idx := New(ps)
	for _, q := range []struct {
		lat, lng, r float64
		cat         string
	}{
		{37.7749, -122.4194, 0.5, ""},
		{37.7749, -122.4194, 2, "restaurant"},
		{37.80, -122.45, 5, "cafe"},
		{51.5074, -0.1278, 10, ""},
		{35.6762, 139.6503, 50, "park"},
		{0, 0, 50, ""}, // nothing there
	} {
		t.Run(fmt.Sprintf("%v,%v r=%v %s", q.lat, q.lng, q.r, q.cat), func(t *testing.T) {
			got := idx.Nearby(q.lat, q.lng, q.r, q.cat)
			want := map[string]bool{}
			for i := range ps {
				if (q.cat == "" || ps[i].Category == q.cat) && places.HaversineKm(q.lat, q.lng, ps[i].Lat, ps[i].Lng) <= q.r {
					want[ps[i].ID] = true
				}
			}
			if len(got) != len(want) {
				t.Fatalf("index found %d, scan found %d", len(got), len(want))
			}
			for i, c := range got {
				if !want[c.Place.ID] {
					t.Fatalf("%s is not within the radius", c.Place.ID)
				}
				if i > 0 && got[i-1].DistanceM > c.DistanceM {
					t.Fatal("not sorted by distance")
				}
			}
		})
	}
}

func TestResolutionForKeepsTheDiskSmall(t *testing.T) {
	prev := 99
	for _, r := range []float64{0.1, 0.5, 1, 2, 5, 10, 25, 50} {
		res, k := ResolutionFor(r)
		if k > maxRing || res > prev {
			t.Errorf("radius %v km: res %d with %d rings", r, res, k)
		}
		prev = res
	}
}

func BenchmarkNearby(b *testing.B) {
	idx := New(places.Default(600))
	for _, r := range []float64{0.5, 2, 10, 50} {
		b.Run(fmt.Sprintf("radius_km=%v", r), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				idx.Nearby(37.7749, -122.4194, r, "")
			}
		})
	}
}
