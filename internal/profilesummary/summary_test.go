package profilesummary

import (
	"testing"

	"github.com/google/pprof/profile"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// synthetic builds a CPU-shaped profile from stacks (leaf first), values and stages.
func synthetic(samples []struct {
	stack []string
	value int64
	stage string
}) *profile.Profile {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		DefaultSampleType: "cpu"}
	fns := map[string]*profile.Location{}
	for _, s := range samples {
		var locs []*profile.Location
		for _, name := range s.stack {
			loc, ok := fns[name]
			if !ok {
				f := &profile.Function{ID: uint64(len(fns) + 1), Name: name}
				loc = &profile.Location{ID: f.ID, Line: []profile.Line{{Function: f}}}
				fns[name] = loc
				p.Function = append(p.Function, f)
				p.Location = append(p.Location, loc)
			}
			locs = append(locs, loc)
		}
		smp := &profile.Sample{Location: locs, Value: []int64{1, s.value}}
		if s.stage != "" {
			smp.Label = map[string][]string{"stage": {s.stage}}
		}
		p.Sample = append(p.Sample, smp)
	}
	return p
}

func TestSummarize(t *testing.T) {
	p := synthetic([]struct {
		stack []string
		value int64
		stage string
	}{
		{[]string{"score", "infer", "handle"}, 60, "inference"},
		{[]string{"walk", "walk", "walk", "geo", "handle"}, 30, "geospatial"}, // recursion counts once
		{[]string{"handle"}, 10, ""},
	})
	s := Summarize(p, 2, nil)
	if s.SampleType != "cpu/nanoseconds" || s.Samples != 3 || s.Total != 100 {
		t.Fatalf("summary %+v", s)
	}
	if s.TopSelf[0] != (FuncValue{"score", 60}) || s.TopSelf[1] != (FuncValue{"walk", 30}) || len(s.TopSelf) != 2 {
		t.Errorf("top self %v", s.TopSelf)
	}
	if s.TopTotal[0] != (FuncValue{"handle", 100}) || s.TopTotal[1] != (FuncValue{"infer", 60}) {
		t.Errorf("top total %v", s.TopTotal)
	}
	if s.ByStage["inference"] != 60 || s.ByStage["geospatial"] != 30 || len(s.ByStage) != 2 {
		t.Errorf("by stage %v", s.ByStage)
	}
	walk := Summarize(p, 10, func(s *profile.Sample) bool { return Stage(s) == "geospatial" })
	if walk.Total != 30 || walk.TopTotal[0].Value != 30 || walk.Samples != 1 {
		t.Errorf("geospatial only: %+v", walk)
	}
}
