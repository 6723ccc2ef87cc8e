package places // import "github.com/recobs/recobs/recsvc/internal/places"

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// csvColumns is the header a CSV data set must start with.
var csvColumns = []string{"id", "name", "category", "lat", "lng", "region", "popularity", "rating", "open_hour", "close_hour", "utc_offset"}

// LoadFile reads a data set from a .json (array of places) or .csv file and validates every
// place; the first invalid one fails the load with its line or index.
func LoadFile(path string) ([]Place, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ps []Place
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		if err := json.NewDecoder(f).Decode(&ps); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case ".csv":
		if ps, err = readCSV(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("%s: want a .json or .csv file", path)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no places", path)
	}
	seen := make(map[string]bool, len(ps))
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: place %d: %w", path, i, err)
		}
		if seen[ps[i].ID] {
			return nil, fmt.Errorf("%s: place %d: duplicate id %q", path, i, ps[i].ID)
		}
		seen[ps[i].ID] = true
	}
	return ps, nil
}

func readCSV(r io.Reader) ([]Place, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if strings.Join(header, ",") != strings.Join(csvColumns, ",") {
		return nil, fmt.Errorf("header: want %s", strings.Join(csvColumns, ","))
	}
	var out []Place
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var p Place
		var errs []error
		num := func(s string) float64 {
			f, err := strconv.ParseFloat(s, 64)
			errs = append(errs, err)
			return f
		}
		integer := func(s string) int {
			n, err := strconv.Atoi(s)
			errs = append(errs, err)
			return n
		}
		p.ID, p.Name, p.Category, p.Region = rec[0], rec[1], rec[2], rec[5]
		p.Lat, p.Lng, p.Popularity, p.Rating = num(rec[3]), num(rec[4]), num(rec[6]), num(rec[7])
		p.OpenHour, p.CloseHour, p.UTCOffset = integer(rec[8]), integer(rec[9]), integer(rec[10])
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, p)
	}
}
