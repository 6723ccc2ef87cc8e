// Package geo finds places near a point with an H3 index: places are bucketed by cell at
// several resolutions; a query picks the resolution that suits its radius, takes the grid
// disk around the user's cell, then keeps the places within the exact haversine distance.
package geo // import "github.com/recobs/recobs/recsvc/internal/geo"

import (
	"math"
	"slices"

	"github.com/uber/h3-go/v4"

	"github.com/recobs/recobs/recsvc/internal/places"
)

// Resolutions indexed, finest first. Res 9 cells have ~0.2 km edges, res 4 ~22.6 km.
var Resolutions = []int{9, 8, 7, 6, 5, 4}

// maxRing bounds the grid disk: a query uses the finest resolution whose disk of at most
// this many rings still covers its radius (a disk of k rings has 3k(k+1)+1 cells).
const maxRing = 6

// Index is immutable after New and safe for concurrent queries.
type Index struct {
	places []places.Place
	cells  map[int]map[h3.Cell][]int32 // resolution → cell → place indices
}

// Candidate is a place within the radius and its distance.
type Candidate struct {
	Place     *places.Place
	DistanceM float64
}

// New indexes ps at every resolution.
func New(ps []places.Place) *Index {
	idx := &Index{places: ps, cells: make(map[int]map[h3.Cell][]int32, len(Resolutions))}
	for _, res := range Resolutions {
		m := make(map[h3.Cell][]int32)
		for i := range ps {
			c := h3.LatLngToCell(h3.NewLatLng(ps[i].Lat, ps[i].Lng), res)
			m[c] = append(m[c], int32(i))
		}
		idx.cells[res] = m
	}
	return idx
}

// Len is the number of indexed places.
func (idx *Index) Len() int { return len(idx.places) }

// ResolutionFor returns the resolution and ring count a query of radiusKm uses.
func ResolutionFor(radiusKm float64) (res, k int) {
	for _, r := range Resolutions {
		// Neighbouring cell centres are ~√3·edge apart; one extra ring covers a point
		// anywhere in its own cell.
		k := int(math.Ceil(radiusKm/(math.Sqrt(3)*h3.HexagonEdgeLengthAvgKm(r)))) + 1
		if k <= maxRing {
			return r, k
		}
	}
	r := Resolutions[len(Resolutions)-1]
	return r, int(math.Ceil(radiusKm/(math.Sqrt(3)*h3.HexagonEdgeLengthAvgKm(r)))) + 1
}

// Cell is the user's cell at the resolution a query of radiusKm uses; the cache keys on it.
func Cell(lat, lng, radiusKm float64) h3.Cell {
	res, _ := ResolutionFor(radiusKm)
	return h3.LatLngToCell(h3.NewLatLng(lat, lng), res)
}

// DiskMembers returns the places of category (any when empty) in the grid disk a query of
// radiusKm around cell covers. Every user in cell shares this list, which is what the
// recommendation cache keeps; Within then makes it exact for one user's point.
func (idx *Index) DiskMembers(cell h3.Cell, radiusKm float64, category string) []*places.Place {
	_, k := ResolutionFor(radiusKm)
	buckets := idx.cells[cell.Resolution()]
	var out []*places.Place
	for _, c := range cell.GridDisk(k) {
		for _, i := range buckets[c] {
			if p := &idx.places[i]; category == "" || p.Category == category {
				out = append(out, p)
			}
		}
	}
	return out
}

// Within keeps the members within radiusKm of (lat, lng), nearest first (ties by id).
func Within(members []*places.Place, lat, lng, radiusKm float64) []Candidate {
	// A latitude band rejects most of the disk's outer ring before any trigonometry: no
	// point more than radiusKm/111.19 degrees of latitude away can be within the radius.
	dLat := radiusKm / 111.19 * 1.0001
	var out []Candidate
	for _, p := range members {
		if p.Lat-lat > dLat || lat-p.Lat > dLat {
			continue
		}
		if d := places.HaversineKm(lat, lng, p.Lat, p.Lng); d <= radiusKm {
			out = append(out, Candidate{Place: p, DistanceM: d * 1000})
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		switch {
		case a.DistanceM < b.DistanceM:
			return -1
		case a.DistanceM > b.DistanceM:
			return 1
		}
		return compareStrings(a.Place.ID, b.Place.ID)
	})
	return out
}

// Nearby returns the places of category (any when empty) within radiusKm of (lat, lng),
// nearest first.
func (idx *Index) Nearby(lat, lng, radiusKm float64, category string) []Candidate {
	return Within(idx.DiskMembers(Cell(lat, lng, radiusKm), radiusKm, category), lat, lng, radiusKm)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
