package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/recobs/recobs/recsvc/internal/places"
)

// Query is a validated /v1/recommendations request.
type Query struct {
	Lat, Lng  float64
	RadiusKm  float64
	Category  string // "" = any
	Limit     int
	UserID    int64
	HasUserID bool
}

// Defaults for optional parameters.
const (
	DefaultRadiusKm = 2.0
	DefaultLimit    = 10
	MaxRadiusKm     = 50.0
	MaxLimit        = 100
)

// FieldError names the parameter that is wrong and why; it becomes a 400.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var knownParams = []string{"lat", "lng", "radius_km", "category", "limit", "user_id"}

// ParseQuery validates the query string. Parameters are checked in a fixed order so the
// same bad request always names the same field.
func ParseQuery(args *fasthttp.Args) (Query, *FieldError) {
	q := Query{RadiusKm: DefaultRadiusKm, Limit: DefaultLimit}
	var ferr *FieldError
	seen := map[string]int{}
	args.VisitAll(func(k, _ []byte) {
		key := string(k)
		seen[key]++
		if ferr != nil {
			return
		}
		if key == "" {
			ferr = &FieldError{"query", "a parameter has an empty name"}
		} else if !slices.Contains(knownParams, key) {
			ferr = &FieldError{key, fmt.Sprintf("unknown parameter (known: %v)", knownParams)}
		} else if seen[key] > 1 {
			ferr = &FieldError{key, "given more than once"}
		}
	})
	if ferr != nil {
		return q, ferr
	}
	var err *FieldError
	if q.Lat, err = number(args, "lat", true, -90, 90); err != nil {
		return q, err
	}
	if q.Lng, err = number(args, "lng", true, -180, 180); err != nil {
		return q, err
	}
	if args.Has("radius_km") {
		if q.RadiusKm, err = number(args, "radius_km", true, 0, MaxRadiusKm); err != nil {
			return q, err
		}
		if q.RadiusKm == 0 {
			return q, &FieldError{"radius_km", fmt.Sprintf("must be greater than 0 and at most %v", MaxRadiusKm)}
		}
	}
	if args.Has("category") {
		q.Category = string(args.Peek("category"))
		if !slices.Contains(places.Categories, q.Category) {
			return q, &FieldError{"category", fmt.Sprintf("must be one of %v", places.Categories)}
		}
	}
	if args.Has("limit") {
		n, perr := strconv.Atoi(string(args.Peek("limit")))
		if perr != nil || n < 1 || n > MaxLimit {
			return q, &FieldError{"limit", fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)}
		}
		q.Limit = n
	}
	if args.Has("user_id") {
		n, perr := strconv.ParseInt(string(args.Peek("user_id")), 10, 64)
		if perr != nil || n < 0 {
			return q, &FieldError{"user_id", "must be a non-negative integer"}
		}
		q.UserID, q.HasUserID = n, true
	}
	return q, nil
}

func number(args *fasthttp.Args, name string, required bool, lo, hi float64) (float64, *FieldError) {
	raw := args.Peek(name)
	if raw == nil {
		if required {
			return 0, &FieldError{name, "is required"}
		}
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < lo || f > hi {
		return 0, &FieldError{name, fmt.Sprintf("must be a number in [%v, %v]", lo, hi)}
	}
	return f, nil
}
