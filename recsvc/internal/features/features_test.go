package features

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEnrichScalesFeatures(t *testing.T) {
	ps := places.Default(100)
	t0 := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	s := NewStore(ps, t0)
	cands := geo.New(ps).Nearby(37.7749, -122.4194, 3, "")
	if len(cands) == 0 {
		t.Fatal("no candidates")
	}
	out := make([]model.Vector, len(cands))
	s.Enrich("students", cands, 3, t0, out)
	for i, v := range out {
		for j, f := range v {
			if f < 0 || f > 1 {
				t.Fatalf("candidate %d feature %s = %v, want [0,1]", i, model.FeatureNames[j], f)
			}
		}
		if v[3] != baseAffinity["students"][cands[i].Place.Category] {
			t.Fatalf("affinity of %s: %v", cands[i].Place.Category, v[3])
		}
	}
}

func TestAgeGrowsUntilRefresh(t *testing.T) {
	t0 := time.Now()
	s := NewStore(places.Default(10), t0)
	if age := s.Age(t0.Add(90 * time.Second)); age[TypePopularity] != 90*time.Second {
		t.Fatalf("age: %v", age)
	}
	s.Refresh(t0.Add(90 * time.Second))
	if age := s.Age(t0.Add(90 * time.Second)); age[TypeAffinity] != 0 {
		t.Fatalf("after refresh: %v", age)
	}
}

func TestSegmentOf(t *testing.T) {
	if SegmentOf(0, false) != SegmentAnonymous || SegmentOf(12345, true) != Segments[12345%4] || SegmentOf(-1, true) == "" {
		t.Fatal("segments")
	}
}
