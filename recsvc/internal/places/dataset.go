package places // import "github.com/recobs/recobs/recsvc/internal/places"

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// City is a region of the default data set.
type City struct {
	Region    string
	Lat, Lng  float64
	UTCOffset int
}

// Cities of the default data set; San Francisco is centred on the seed's example point.
var Cities = []City{
	{"san_francisco", 37.7749, -122.4194, -8},
	{"new_york", 40.7128, -74.0060, -5},
	{"london", 51.5074, -0.1278, 0},
	{"paris", 48.8566, 2.3522, 1},
	{"berlin", 52.5200, 13.4050, 1},
	{"tokyo", 35.6762, 139.6503, 9},
	{"sydney", -33.8688, 151.2093, 11},
	{"sao_paulo", -23.5505, -46.6333, -3},
}

var (
	adjectives = []string{"Golden", "Blue", "Quiet", "Lucky", "Green", "Old", "Little", "Grand", "Hidden", "Sunny", "Urban", "Corner"}
	nouns      = map[string][]string{
		"restaurant": {"Kitchen", "Table", "Bistro", "Grill", "Trattoria"},
		"cafe":       {"Beans", "Cup", "Roastery", "Espresso Bar"},
		"bar":        {"Tap", "Tavern", "Lounge", "Pub"},
		"museum":     {"Gallery", "Museum", "Collection"},
		"park":       {"Gardens", "Park", "Green", "Commons"},
		"shop":       {"Market", "Store", "Boutique"},
		"hotel":      {"Inn", "Hotel", "Suites"},
		"gym":        {"Fitness", "Gym", "Studio"},
	}
)

// Default returns the embedded data set: perCity places around each city, generated from a
// fixed seed so every process (and every test) sees the same places.
func Default(perCity int) []Place {
	rng := rand.New(rand.NewPCG(0x7265636f, 0x6273)) // "recobs"
	out := make([]Place, 0, perCity*len(Cities))
	for _, c := range Cities {
		kmPerDegLng := 111.32 * math.Cos(c.Lat*math.Pi/180)
		for i := range perCity {
			cat := Categories[rng.IntN(len(Categories))]
			// Dense centre, sparse edge: distance from the centre ~ |N(0, 4 km)|, capped at 15 km.
			dist := math.Min(math.Abs(rng.NormFloat64())*4, 15)
			bearing := rng.Float64() * 2 * math.Pi
			open := 6 + rng.IntN(6)
			close := open + 8 + rng.IntN(10)
			if close > 24 {
				close -= 24
			}
			if close == 0 {
				close = 24
			}
			out = append(out, Place{
				ID:         fmt.Sprintf("%s-%04d", c.Region, i),
				Name:       fmt.Sprintf("%s %s", adjectives[rng.IntN(len(adjectives))], nouns[cat][rng.IntN(len(nouns[cat]))]),
				Category:   cat,
				Lat:        round6(c.Lat + dist*math.Cos(bearing)/110.574),
				Lng:        round6(c.Lng + dist*math.Sin(bearing)/kmPerDegLng),
				Region:     c.Region,
				Popularity: round6(math.Pow(rng.Float64(), 2)),
				Rating:     round6(1 + 4*math.Sqrt(rng.Float64())),
				OpenHour:   open,
				CloseHour:  close,
				UTCOffset:  c.UTCOffset,
			})
		}
	}
	return out
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// RegionOf names the data set's region nearest to (lat, lng) within 100 km, else "other":
// a metric label with a handful of values, never raw coordinates.
func RegionOf(lat, lng float64) string {
	best, bestKm := "other", 100.0
	for _, c := range Cities {
		if d := HaversineKm(lat, lng, c.Lat, c.Lng); d < bestKm {
			best, bestKm = c.Region, d
		}
	}
	return best
}

// HaversineKm is the great-circle distance between two points.
func HaversineKm(lat1, lng1, lat2, lng2 float64) float64 {
	const earthKm = 6371.0088
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
