package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"context"
	"errors"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/recobs/recobs/recsvc/internal/geo"
	"github.com/recobs/recobs/recsvc/internal/model"
)

// ranked is one recommended place.
type ranked struct {
	geo.Candidate
	Score float64
}

type result struct {
	ranked   []ranked
	cacheHit bool
}

// errInjectedFault is what X-Recsvc-Fault: error makes the model return.
var errInjectedFault = errors.New("injected fault: model inference failed (X-Recsvc-Fault: error)")

// recommend runs the pipeline, one child span per stage as in the seed:
// geospatial_query → feature_enrichment → ml_inference.
func (s *Service) recommend(ctx context.Context, q *Query, segment string, injectFault bool) (result, error) {
	var r result

	profileAs(labelsGeospatial)
	_, geoSpan := s.Tracer.Start(ctx, "geospatial_query")
	cell := geo.Cell(q.Lat, q.Lng, q.RadiusKm)
	key := CacheKey{Cell: cell, RadiusKm: q.RadiusKm, Category: q.Category}
	members, hit := s.Cache.Get(key)
	if !hit {
		members = s.Index.DiskMembers(cell, q.RadiusKm, q.Category)
		s.Cache.Put(key, members)
	}
	cands := geo.Within(members, q.Lat, q.Lng, q.RadiusKm)
	r.cacheHit = hit
	geoSpan.SetAttributes(attribute.Int("candidates_found", len(cands)), attribute.Bool("cache_hit", hit),
		attribute.String("h3.cell", cell.String()), attribute.Int("h3.resolution", cell.Resolution()))
	geoSpan.End()

	profileAs(labelsFeatures)
	_, featSpan := s.Tracer.Start(ctx, "feature_enrichment")
	vecs := make([]model.Vector, len(cands))
	s.Features.Enrich(segment, cands, q.RadiusKm, s.Now(), vecs)
	featSpan.SetAttributes(attribute.Int("features_loaded", len(vecs)), attribute.String("user_segment", segment))
	featSpan.End()

	profileAs(labelsInference)
	_, mlSpan := s.Tracer.Start(ctx, "ml_inference")
	start := s.Now()
	scores := make([]float64, len(vecs))
	err := s.Model.ScoreAll(vecs, scores)
	if injectFault {
		err = errInjectedFault
	}
	took := s.Now().Sub(start)
	s.Metrics.ModelInference.Observe(took.Seconds())
	mlSpan.SetAttributes(attribute.String("model.version", s.Model.Version()),
		attribute.Float64("inference_time_ms", float64(took.Microseconds())/1000), attribute.Int("candidates_scored", len(vecs)))
	if err != nil {
		mlSpan.RecordError(err)
		mlSpan.SetStatus(codes.Error, err.Error())
	}
	mlSpan.End()
	profileAs(labelsRecommend) // what follows — ranking, or a failure's handling — is the route's, no stage's
	if err != nil {
		return r, err
	}

	r.ranked = make([]ranked, len(cands))
	for i := range cands {
		r.ranked[i] = ranked{Candidate: cands[i], Score: scores[i]}
	}
	slices.SortStableFunc(r.ranked, func(a, b ranked) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(r.ranked) > q.Limit {
		r.ranked = r.ranked[:q.Limit]
	}
	return r, nil
}
