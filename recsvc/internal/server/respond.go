package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/recobs/recobs/internal/contract/jsonenc"
	"github.com/recobs/recobs/recsvc/internal/logging"
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

// ProtocolError is the fasthttp ErrorHandler: a request that is not even valid HTTP (a bad
// request line, headers past the buffer, a body past the limit, a read timeout) still gets
// a JSON error, a count in recommendation_errors_total{kind="malformed_http"} and a log line,
// so a flood of garbage shows on the dashboards instead of vanishing.
func (s *Service) ProtocolError(ctx *fasthttp.RequestCtx, err error) {
	status, code := fasthttp.StatusBadRequest, "malformed_request"
	var small *fasthttp.ErrSmallBuffer
	var netErr *net.OpError
	switch {
	case errors.As(err, &small):
		status, code = fasthttp.StatusRequestHeaderFieldsTooLarge, "headers_too_large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code = fasthttp.StatusRequestEntityTooLarge, "body_too_large"
	case errors.As(err, &netErr) && netErr.Timeout():
		status, code = fasthttp.StatusRequestTimeout, "request_timeout"
	}
	s.Metrics.Errors.WithLabelValues("malformed_http").Inc()
	s.log.Warn("malformed_http_request", logging.Str("category", "security"), logging.Str("code", code),
		logging.Str("reason", err.Error()), logging.Str("remote_addr", ctx.RemoteAddr().String()),
		logging.Int("status", int64(status)))
	s.writeError(ctx, status, code, "", http.StatusText(status), "", "")
}
