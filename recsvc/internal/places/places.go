// Package places holds the places recsvc recommends: a deterministic default data set
// spread over several cities, and loaders for a larger CSV or JSON file.
package places // import "github.com/recobs/recobs/recsvc/internal/places"

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Categories are the place categories the API accepts.
var Categories = []string{"restaurant", "cafe", "bar", "museum", "park", "shop", "hotel", "gym"}

// Place is one recommendable place and its static features.
type Place struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Category   string  `json:"category"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	Region     string  `json:"region"`     // low-cardinality metric label: the city
	Popularity float64 `json:"popularity"` // 0..1
	Rating     float64 `json:"rating"`     // 1..5
	OpenHour   int     `json:"open_hour"`  // local hour, 0..23
	CloseHour  int     `json:"close_hour"` // local hour, 1..24 (may be < OpenHour: open past midnight)
	UTCOffset  int     `json:"utc_offset"` // hours, for open-now
}

// Validate checks one place; the loaders reject a data set with any invalid place.
func (p *Place) Validate() error {
	switch {
	case p.ID == "":
		return errors.New("id: empty")
	case math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90:
		return fmt.Errorf("%s: lat %v out of [-90, 90]", p.ID, p.Lat)
	case math.IsNaN(p.Lng) || p.Lng < -180 || p.Lng > 180:
		return fmt.Errorf("%s: lng %v out of [-180, 180]", p.ID, p.Lng)
	case !slices.Contains(Categories, p.Category):
		return fmt.Errorf("%s: unknown category %q", p.ID, p.Category)
	case p.Popularity < 0 || p.Popularity > 1 || math.IsNaN(p.Popularity):
		return fmt.Errorf("%s: popularity %v out of [0, 1]", p.ID, p.Popularity)
	case p.Rating < 1 || p.Rating > 5 || math.IsNaN(p.Rating):
		return fmt.Errorf("%s: rating %v out of [1, 5]", p.ID, p.Rating)
	case p.OpenHour < 0 || p.OpenHour > 23 || p.CloseHour < 1 || p.CloseHour > 24:
		return fmt.Errorf("%s: hours %d-%d invalid", p.ID, p.OpenHour, p.CloseHour)
	case p.UTCOffset < -12 || p.UTCOffset > 14:
		return fmt.Errorf("%s: utc_offset %d invalid", p.ID, p.UTCOffset)
	}
	return nil
}

// OpenAt reports whether the place is open at the given UTC hour and minute-of-day.
func (p *Place) OpenAt(utcHour int) bool {
	h := ((utcHour+p.UTCOffset)%24 + 24) % 24
	if p.OpenHour < p.CloseHour {
		return h >= p.OpenHour && h < p.CloseHour
	}
	return h >= p.OpenHour || h < p.CloseHour // open past midnight
}
