package explorer // import "github.com/recobs/recobs/explorer"

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// waterfallSpan is one bar of a trace's waterfall.
type waterfallSpan struct {
	Name             string
	Depth            int
	Start, Duration  time.Duration // from the trace's start
	Left, Width      float64       // percent of the trace's length
	Failed           bool
	Tags             [][2]string
	Events           []spanEvent
	SpanID, ParentID string
}

type spanEvent struct {
	At     time.Duration
	Name   string
	Fields [][2]string
}

// waterfall lays spans out in start order, each below its parent.
func waterfall(spans []jaegerSpan) (bars []waterfallSpan, total time.Duration) {
	if len(spans) == 0 {
		return nil, 0
	}
	start, end := int64(math.MaxInt64), int64(0)
	parent := map[string]string{}
	for _, s := range spans {
		start, end = min(start, s.StartTime), max(end, s.StartTime+s.Duration)
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" {
				parent[s.SpanID] = r.SpanID
			}
		}
	}
	depth := func(id string) int {
		d := 0
		for seen := 0; seen < len(spans); seen++ { // bounded: a cycle in bad data ends
			p, ok := parent[id]
			if !ok {
				break
			}
			d, id = d+1, p
		}
		return d
	}
	sorted := append([]jaegerSpan(nil), spans...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].StartTime < sorted[j].StartTime })
	length := float64(max(end-start, 1))
	for _, s := range sorted {
		b := waterfallSpan{Name: s.OperationName, Depth: depth(s.SpanID), SpanID: s.SpanID, ParentID: parent[s.SpanID],
			Start: time.Duration(s.StartTime-start) * time.Microsecond, Duration: time.Duration(s.Duration) * time.Microsecond,
			Left: 100 * float64(s.StartTime-start) / length, Width: math.Max(100*float64(s.Duration)/length, 0.4)}
		for _, t := range s.Tags {
			v := fmt.Sprint(t.Value)
			b.Tags = append(b.Tags, [2]string{t.Key, v})
			if (t.Key == "otel.status_code" && v == "ERROR") || (t.Key == "error" && v == "true") {
				b.Failed = true
			}
		}
		for _, l := range s.Logs {
			e := spanEvent{At: time.Duration(l.Timestamp-start) * time.Microsecond, Name: "event"}
			for _, f := range l.Fields {
				if f.Key == "event" {
					e.Name = fmt.Sprint(f.Value)
					continue
				}
				e.Fields = append(e.Fields, [2]string{f.Key, fmt.Sprint(f.Value)})
			}
			b.Events = append(b.Events, e)
		}
		bars = append(bars, b)
	}
	return bars, time.Duration(end-start) * time.Microsecond
}
