package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"math"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/recobs/recobs/internal/jsonenc"
)

func (s *Service) writeResults(ctx *fasthttp.RequestCtx, rid, traceID string, q *Query, r result) {
	b := make([]byte, 0, 256+160*len(r.ranked))
	b = append(b, `{"request_id":`...)
	b = jsonenc.AppendString(b, rid)
	b = append(b, `,"trace_id":"`...)
	b = append(b, traceID...)
	b = append(b, `","cache_hit":`...)
	b = strconv.AppendBool(b, r.cacheHit)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(r.ranked)), 10)
	b = append(b, `,"results":[`...)
	for i := range r.ranked {
		p := r.ranked[i].Place
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonenc.AppendString(b, p.ID)
		b = append(b, `,"name":`...)
		b = jsonenc.AppendString(b, p.Name)
		b = append(b, `,"category":`...)
		b = jsonenc.AppendString(b, p.Category)
		b = append(b, `,"lat":`...)
		b = jsonenc.AppendFloat(b, p.Lat)
		b = append(b, `,"lng":`...)
		b = jsonenc.AppendFloat(b, p.Lng)
		b = append(b, `,"distance_m":`...)
		b = jsonenc.AppendFloat(b, math.Round(r.ranked[i].DistanceM*10)/10)
		b = append(b, `,"score":`...)
		b = jsonenc.AppendFloat(b, math.Round(r.ranked[i].Score*1e6)/1e6)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b)
}

// writeError answers {"error":{"code","field","message"},"request_id","trace_id"}: a client
// holding a failed request can still find its logs and its trace.
func (s *Service) writeError(ctx *fasthttp.RequestCtx, status int, code, field, msg, rid, traceID string) {
	b := make([]byte, 0, 192)
	b = append(b, `{"error":{"code":`...)
	b = jsonenc.AppendString(b, code)
	if field != "" {
		b = append(b, `,"field":`...)
		b = jsonenc.AppendString(b, field)
	}
	b = append(b, `,"message":`...)
	b = jsonenc.AppendString(b, msg)
	b = append(b, '}')
	if rid != "" {
		b = append(b, `,"request_id":`...)
		b = jsonenc.AppendString(b, rid)
	}
	if traceID != "" {
		b = append(b, `,"trace_id":`...)
		b = jsonenc.AppendString(b, traceID)
	}
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}
