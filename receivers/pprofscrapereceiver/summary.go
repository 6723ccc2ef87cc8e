package pprofscrapereceiver // import "github.com/recobs/recobs/receivers/pprofscrapereceiver"

import (
	"cmp"
	"slices"

	"github.com/google/pprof/profile"
)

// summary is what a query needs of a profile without decoding it: its totals, the functions
// that took the most by themselves (self) and with what they called (total), and the split by
// the "stage" label recsvc puts on its pipeline.
type summary struct {
	SampleType string // e.g. cpu/nanoseconds, inuse_space/bytes
	Samples    int
	Total      int64
	TopSelf    []funcValue
	TopTotal   []funcValue
	ByStage    map[string]int64
}

type funcValue struct {
	Function string
	Value    int64
}

// summarize reads p's default sample type (the one pprof shows first: cpu for a CPU
// profile, inuse_space for a heap profile), or its last.
func summarize(p *profile.Profile, top int) summary {
	idx := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == p.DefaultSampleType {
			idx = i
		}
	}
	s := summary{Samples: len(p.Sample), ByStage: map[string]int64{}}
	if idx < 0 {
		return s
	}
	s.SampleType = p.SampleType[idx].Type + "/" + p.SampleType[idx].Unit
	self, total := map[string]int64{}, map[string]int64{}
	seen := map[string]bool{}
	for _, smp := range p.Sample {
		v := smp.Value[idx]
		if v == 0 {
			continue
		}
		s.Total += v
		if st := smp.Label["stage"]; len(st) == 1 {
			s.ByStage[st[0]] += v
		}
		clear(seen)
		for i, loc := range smp.Location {
			for j, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				name := line.Function.Name
				if i == 0 && j == 0 { // the innermost frame, inlined functions first
					self[name] += v
				}
				if !seen[name] { // a recursive function counts once a sample
					seen[name] = true
					total[name] += v
				}
			}
		}
	}
	s.TopSelf, s.TopTotal = topOf(self, top), topOf(total, top)
	return s
}

func topOf(m map[string]int64, n int) []funcValue {
	out := make([]funcValue, 0, len(m))
	for f, v := range m {
		out = append(out, funcValue{f, v})
	}
	slices.SortFunc(out, func(a, b funcValue) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Function, b.Function))
	})
	return out[:min(n, len(out))]
}
