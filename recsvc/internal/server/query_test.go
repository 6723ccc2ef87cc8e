package server

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func parse(s string) (Query, *FieldError) {
	var a fasthttp.Args
	a.Parse(s)
	return ParseQuery(&a)
}

func TestParseQueryValid(t *testing.T) {
	q, err := parse("lat=37.7749&lng=-122.4194&radius_km=5&category=cafe&limit=20&user_id=12345")
	if err != nil {
		t.Fatal(err)
	}
	want := Query{Lat: 37.7749, Lng: -122.4194, RadiusKm: 5, Category: "cafe", Limit: 20, UserID: 12345, HasUserID: true}
	if q != want {
		t.Fatalf("got %+v", q)
	}
	q, err = parse("lat=0&lng=0")
	if err != nil || q.RadiusKm != DefaultRadiusKm || q.Limit != DefaultLimit || q.HasUserID {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	for _, edge := range []string{"lat=90&lng=180", "lat=-90&lng=-180", "lat=1&lng=1&radius_km=50&limit=100", "lat=1&lng=1&radius_km=0.001&limit=1&user_id=0"} {
		if _, err := parse(edge); err != nil {
			t.Errorf("%s: %v", edge, err)
		}
	}
}

// TestParseQueryNamesTheField: every validation error, each naming its field.
func TestParseQueryNamesTheField(t *testing.T) {
	for _, tc := range []struct{ query, field string }{
		{"lng=1", "lat"},
		{"lat=1", "lng"},
		{"lat=abc&lng=1", "lat"},
		{"lat=90.0001&lng=1", "lat"},
		{"lat=-91&lng=1", "lat"},
		{"lat=NaN&lng=1", "lat"},
		{"lat=Inf&lng=1", "lat"},
		{"lat=1&lng=180.5", "lng"},
		{"lat=1&lng=", "lng"},
		{"lat=1&lng=1&radius_km=0", "radius_km"},
		{"lat=1&lng=1&radius_km=-1", "radius_km"},
		{"lat=1&lng=1&radius_km=50.01", "radius_km"},
		{"lat=1&lng=1&radius_km=x", "radius_km"},
		{"lat=1&lng=1&category=casino", "category"},
		{"lat=1&lng=1&category=", "category"},
		{"lat=1&lng=1&limit=0", "limit"},
		{"lat=1&lng=1&limit=101", "limit"},
		{"lat=1&lng=1&limit=2.5", "limit"},
		{"lat=1&lng=1&user_id=abc", "user_id"},
		{"lat=1&lng=1&user_id=-5", "user_id"},
		{"lat=1&lng=1&user_id=99999999999999999999", "user_id"},
		{"lat=1&lng=1&lat=2", "lat"},
		{"lat=1&lng=1&latitude=2", "latitude"},
		{"=5&lat=1&lng=1", "query"},
	} {
		_, err := parse(tc.query)
		if err == nil || err.Field != tc.field {
			t.Errorf("%s: want an error on %q, got %v", tc.query, tc.field, err)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("lat=37.7749&lng=-122.4194&radius_km=5&category=cafe&limit=20&user_id=12345")
	f.Add("lat=1e400&lng=-0&limit=%00")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parse(s)
		if err != nil {
			if err.Field == "" || err.Message == "" {
				t.Fatalf("an error must name a field and a reason: %+v", err)
			}
			return
		}
		if q.Lat < -90 || q.Lat > 90 || q.Lng < -180 || q.Lng > 180 || q.RadiusKm <= 0 || q.RadiusKm > MaxRadiusKm || q.Limit < 1 || q.Limit > MaxLimit {
			t.Fatalf("accepted out-of-range query %q: %+v", s, q)
		}
	})
}
