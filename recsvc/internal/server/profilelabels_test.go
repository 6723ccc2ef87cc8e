package server

import (
	"bytes"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/recobs/recobs/recsvc/internal/feedback"
)

// TestCPUProfileSplitsByStage: a CPU profile taken while recsvc serves carries the route and
// each pipeline stage as sample labels, and none of them leak onto the goroutine after the
// request (fasthttp reuses its goroutines).
func TestCPUProfileSplitsByStage(t *testing.T) {
	f := newFixture(t, withFeedback(feedback.Options{}))
	want := map[string]bool{"geospatial": false, "features": false, "inference": false}
	seen := func(p *profile.Profile) {
		for _, s := range p.Sample {
			if st := s.Label["stage"]; len(st) == 1 && len(s.Label["route"]) == 1 && s.Label["route"][0] == "/v1/recommendations" {
				want[st[0]] = true
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Fatal(err)
		}
		for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
			f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=5&limit=50&user_id=3")
		}
		pprof.StopCPUProfile()
		p, err := profile.Parse(&buf)
		if err != nil {
			t.Fatal(err)
		}
		seen(p)
		if want["geospatial"] && want["features"] && want["inference"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stages seen in CPU profiles: %v", want)
		}
	}
	var goroutines bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&goroutines, 1); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(goroutines.Bytes(), []byte(`"stage":`)) || bytes.Contains(goroutines.Bytes(), []byte(`"route":`)) {
		t.Fatalf("a goroutine kept a request's labels after it ended:\n%s", goroutines.Bytes())
	}
}

// BenchmarkProfileLabels is what the labels cost a recommendation request: the six label
// switches it makes (route, three stages, route again, cleared).
func BenchmarkProfileLabels(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		profileAs(labelsRecommend)
		profileAs(labelsGeospatial)
		profileAs(labelsFeatures)
		profileAs(labelsInference)
		profileAs(labelsRecommend)
		profileAs(noLabels)
	}
}
