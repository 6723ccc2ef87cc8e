package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"context"
	"runtime/pprof"
)

// Profile labels split a CPU profile by route and pipeline stage (pprof's -tagfocus, a
// flame graph filtered to stage=inference). They are static, so each label set is made once
// and a request only points its goroutine at one (pprof.SetGoroutineLabels: a pointer store),
// where pprof.Do would build a label map and a context per stage per request. fasthttp reuses
// its worker goroutines, so a request clears its labels when it ends.
var (
	labelsRecommend  = labelContext(context.Background(), "route", "/v1/recommendations")
	labelsGeospatial = labelContext(labelsRecommend, "stage", "geospatial")
	labelsFeatures   = labelContext(labelsRecommend, "stage", "features")
	labelsInference  = labelContext(labelsRecommend, "stage", "inference")
	labelsFeedback   = labelContext(context.Background(), "route", "/v1/feedback")
	noLabels         = context.Background()
)

func labelContext(parent context.Context, kv ...string) context.Context {
	return pprof.WithLabels(parent, pprof.Labels(kv...))
}

// profileAs labels the calling goroutine's CPU samples from now on.
func profileAs(labels context.Context) { pprof.SetGoroutineLabels(labels) }
