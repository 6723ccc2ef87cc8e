// Package profilesummary reads a pprof profile the way recobs shows it: its totals, the
// functions that took the most by themselves (self) and with what they called (total), and
// the split by the "stage" label recsvc puts on its pipeline. The pprof_scrape receiver
// stores it beside each profile; the explorer recomputes it for a filtered view.
package profilesummary // import "github.com/recobs/recobs/internal/profilesummary"

import (
	"cmp"
	"slices"

	"github.com/google/pprof/profile"
)

// Summary is what a query needs of a profile without decoding it.
type Summary struct {
	SampleType string // e.g. cpu/nanoseconds, inuse_space/bytes
	Samples    int
	Total      int64
	TopSelf    []FuncValue
	TopTotal   []FuncValue
	ByStage    map[string]int64
}

// FuncValue is a function and its share of the sample type.
type FuncValue struct {
	Function string
	Value    int64
}

// SampleIndex is p's default sample type (the one pprof shows first: cpu for a CPU profile,
// inuse_space for a heap profile), or its last; -1 for a profile without sample types.
func SampleIndex(p *profile.Profile) int {
	idx := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == p.DefaultSampleType {
			idx = i
		}
	}
	return idx
}

// Stage is a sample's "stage" label, "" without one.
func Stage(s *profile.Sample) string {
	if st := s.Label["stage"]; len(st) == 1 {
		return st[0]
	}
	return ""
}

// Summarize reads p's default sample type over the samples keep accepts (nil: all), listing
// top functions by self and by total.
func Summarize(p *profile.Profile, top int, keep func(*profile.Sample) bool) Summary {
	idx := SampleIndex(p)
	s := Summary{ByStage: map[string]int64{}}
	if idx < 0 {
		return s
	}
	s.SampleType = p.SampleType[idx].Type + "/" + p.SampleType[idx].Unit
	self, total := map[string]int64{}, map[string]int64{}
	seen := map[string]bool{}
	for _, smp := range p.Sample {
		v := smp.Value[idx]
		if v == 0 || (keep != nil && !keep(smp)) {
			continue
		}
		s.Samples++
		s.Total += v
		if st := Stage(smp); st != "" {
			s.ByStage[st] += v
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

func topOf(m map[string]int64, n int) []FuncValue {
	out := make([]FuncValue, 0, len(m))
	for f, v := range m {
		out = append(out, FuncValue{f, v})
	}
	slices.SortFunc(out, func(a, b FuncValue) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Function, b.Function))
	})
	return out[:min(n, len(out))]
}
