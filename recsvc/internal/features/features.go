// Package features enriches candidate places with the model's features. It stands in for a
// feature store: snapshots of each feature type are refreshed on a schedule and carry the
// time they were computed, so their freshness can be measured and gate readiness.
package features // import "github.com/recobs/recobs/recsvc/internal/features"

import (
	"math"
	"sync"
	"time"

	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/model"
	"github.com/recobs/recobs/recsvc/internal/places"
)

// Feature types with their own snapshot and freshness.
const (
	TypePopularity = "popularity"
	TypeRating     = "rating"
	TypeAffinity   = "affinity"
)

// Types lists the feature types (metric label values).
var Types = []string{TypePopularity, TypeRating, TypeAffinity}

// Segments are the user segments (a metric label, so a fixed handful).
var Segments = []string{"young_professionals", "families", "students", "tourists"}

// SegmentAnonymous is the segment of a request without a user_id.
const SegmentAnonymous = "anonymous"

// SegmentOf maps a user id to its segment.
func SegmentOf(userID int64, known bool) string {
	if !known {
		return SegmentAnonymous
	}
	return Segments[uint64(userID)%uint64(len(Segments))]
}

// baseAffinity: how much each segment likes each category (0..1).
var baseAffinity = map[string]map[string]float64{
	"young_professionals": {"restaurant": 0.8, "cafe": 0.9, "bar": 0.9, "museum": 0.4, "park": 0.5, "shop": 0.6, "hotel": 0.2, "gym": 0.8},
	"families":            {"restaurant": 0.8, "cafe": 0.5, "bar": 0.1, "museum": 0.8, "park": 0.95, "shop": 0.6, "hotel": 0.4, "gym": 0.3},
	"students":            {"restaurant": 0.6, "cafe": 0.95, "bar": 0.8, "museum": 0.6, "park": 0.7, "shop": 0.4, "hotel": 0.1, "gym": 0.6},
	"tourists":            {"restaurant": 0.9, "cafe": 0.7, "bar": 0.6, "museum": 0.95, "park": 0.8, "shop": 0.7, "hotel": 0.9, "gym": 0.1},
	SegmentAnonymous:      {"restaurant": 0.7, "cafe": 0.7, "bar": 0.5, "museum": 0.6, "park": 0.7, "shop": 0.5, "hotel": 0.4, "gym": 0.4},
}

// snapshot is one refresh of every feature type; it is replaced whole, never mutated.
type snapshot struct {
	popularity []float64 // by place index
	computed   map[string]time.Time
}

// Store serves features from the latest snapshot.
type Store struct {
	places []places.Place
	index  map[*places.Place]int

	mu   sync.RWMutex
	snap *snapshot
}

// NewStore computes the first snapshot at now.
func NewStore(ps []places.Place, now time.Time) *Store {
	s := &Store{places: ps, index: make(map[*places.Place]int, len(ps))}
	for i := range ps {
		s.index[&ps[i]] = i
	}
	s.Refresh(now)
	return s
}

// Refresh recomputes the snapshot as of now. Popularity follows the hour of day (busy
// evenings), deterministic so tests can reason about it.
func (s *Store) Refresh(now time.Time) {
	pop := make([]float64, len(s.places))
	for i := range s.places {
		p := &s.places[i]
		local := float64((now.UTC().Hour()+p.UTCOffset+24)%24) + float64(now.Minute())/60
		diurnal := 0.85 + 0.15*math.Sin((local-12)/24*2*math.Pi)
		pop[i] = math.Min(1, p.Popularity*diurnal)
	}
	snap := &snapshot{popularity: pop, computed: map[string]time.Time{}}
	for _, t := range Types {
		snap.computed[t] = now
	}
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
}

// Age returns how old each feature type's snapshot is at now.
func (s *Store) Age(now time.Time) map[string]time.Duration {
	s.mu.RLock()
	snap := s.snap
	s.mu.RUnlock()
	out := make(map[string]time.Duration, len(Types))
	for t, at := range snap.computed {
		out[t] = now.Sub(at)
	}
	return out
}

// Enrich fills out[i] with the features of cands[i] for a user of segment at now.
func (s *Store) Enrich(segment string, cands []geo.Candidate, radiusKm float64, now time.Time, out []model.Vector) {
	s.mu.RLock()
	snap := s.snap
	s.mu.RUnlock()
	aff := baseAffinity[segment]
	if aff == nil {
		aff = baseAffinity[SegmentAnonymous]
	}
	hour := now.UTC().Hour()
	for i, c := range cands {
		p := c.Place
		openNow := 0.0
		if p.OpenAt(hour) {
			openNow = 1
		}
		out[i] = model.Vector{
			snap.popularity[s.index[p]],
			(p.Rating - 1) / 4,
			openNow,
			aff[p.Category],
			math.Max(0, 1-c.DistanceM/(radiusKm*1000)),
		}
	}
}
