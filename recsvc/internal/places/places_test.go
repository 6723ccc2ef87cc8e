package places

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDefaultIsDeterministicAndValid(t *testing.T) {
	a, b := Default(600), Default(600)
	if len(a) != 600*len(Cities) {
		t.Fatalf("want %d places, got %d", 600*len(Cities), len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("place %d differs between two generations", i)
		}
		if err := a[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct {
		lat, lng float64
		want     string
	}{{37.7749, -122.4194, "san_francisco"}, {37.80, -122.27, "san_francisco"}, {48.85, 2.35, "paris"}, {0, 0, "other"}} {
		if got := RegionOf(tc.lat, tc.lng); got != tc.want {
			t.Errorf("%v,%v: got %s want %s", tc.lat, tc.lng, got, tc.want)
		}
	}
}

func TestOpenAt(t *testing.T) {
	day := Place{OpenHour: 9, CloseHour: 17, UTCOffset: -8}  // 17:00-01:00 UTC
	night := Place{OpenHour: 20, CloseHour: 2, UTCOffset: 0} // past midnight
	for _, tc := range []struct {
		p    Place
		utc  int
		want bool
	}{{day, 16, false}, {day, 17, true}, {day, 0, true}, {day, 1, false}, {night, 23, true}, {night, 1, true}, {night, 2, false}, {night, 12, false}} {
		if got := tc.p.OpenAt(tc.utc); got != tc.want {
			t.Errorf("%+v at %02d UTC: got %v", tc.p, tc.utc, got)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte(strings.Join(csvColumns, ",")+"\np1,Blue Cup,cafe,37.77,-122.41,san_francisco,0.5,4.2,7,19,-8\n"), 0o600)
	ps, err := LoadFile(good)
	if err != nil || len(ps) != 1 || ps[0].Name != "Blue Cup" {
		t.Fatalf("good csv: %v %+v", err, ps)
	}
	js := filepath.Join(dir, "good.json")
	os.WriteFile(js, []byte(`[{"id":"p1","name":"x","category":"park","lat":1,"lng":2,"region":"r","popularity":0.1,"rating":3,"open_hour":0,"close_hour":24,"utc_offset":0}]`), 0o600)
	if _, err := LoadFile(js); err != nil {
		t.Fatalf("good json: %v", err)
	}
	for name, body := range map[string]string{
		"badcat.csv":  strings.Join(csvColumns, ",") + "\np1,x,casino,1,2,r,0.5,4,7,19,0\n",
		"badlat.csv":  strings.Join(csvColumns, ",") + "\np1,x,cafe,91,2,r,0.5,4,7,19,0\n",
		"badnum.csv":  strings.Join(csvColumns, ",") + "\np1,x,cafe,abc,2,r,0.5,4,7,19,0\n",
		"dup.json":    `[{"id":"a","category":"park","lat":1,"lng":2,"popularity":0.1,"rating":3,"close_hour":24},{"id":"a","category":"park","lat":1,"lng":2,"popularity":0.1,"rating":3,"close_hour":24}]`,
		"header.csv":  "id,name\n",
		"empty.json":  `[]`,
		"places.yaml": "x",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := LoadFile(p); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
