package server // import "github.com/recobs/recobs/recsvc/internal/server"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/recobs/recobs/internal/contract/jsonenc"
	"github.com/recobs/recobs/internal/contract/logschema"
	"github.com/recobs/recobs/recsvc/internal/feedback"
	"github.com/recobs/recobs/recsvc/internal/logging"
	"github.com/recobs/recobs/recsvc/internal/telemetry"
)

// Actions a feedback call may carry. Only clicks are counted today; the field is there so
// others (a save, a dismissal) can come without changing the API's shape.
var feedbackActions = []string{"click"}

// feedbackState is what the feedback route shares with the recommendation route: the
// memory of recent responses, the CTR window and the counters by label set.
type feedbackState struct {
	store    *feedback.Store
	window   *feedback.Window
	counters sync.Map // labelSet → *bandCounters
}

type labelSet struct{ segment, category, region string }

// bandCounters are one label set's impression and click counters, one per position band:
// looked up once per label set rather than hashed per result.
type bandCounters struct {
	impressions, clicks [len(telemetry.PositionBands)]prometheus.Counter
}

func (f *feedbackState) countersFor(m *telemetry.Metrics, l labelSet) *bandCounters {
	if c, ok := f.counters.Load(l); ok {
		return c.(*bandCounters)
	}
	c := &bandCounters{}
	for i, band := range telemetry.PositionBands {
		c.impressions[i] = m.Impressions.WithLabelValues(l.segment, l.category, l.region, band)
		c.clicks[i] = m.Clicks.WithLabelValues(l.segment, l.category, l.region, band)
	}
	actual, _ := f.counters.LoadOrStore(l, c)
	return actual.(*bandCounters)
}

// newFeedbackState registers the CTR gauge and the store's own metrics.
func newFeedbackState(store *feedback.Store, m *telemetry.Metrics, now func() time.Time) *feedbackState {
	f := &feedbackState{store: store, window: feedback.NewWindow(feedback.CTRWindow, feedback.CTRWindowSlots)}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recommendation_ctr",
			Help: "Click-through rate: clicks ÷ impressions over the last 5 minutes (NaN without impressions)"},
			func() float64 { r, _, _ := f.window.Rate(now()); return r }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recsvc_feedback_responses_remembered",
			Help: "Responses remembered for their clicks"}, func() float64 { return float64(store.Stats().Entries) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recsvc_feedback_remembered_bytes",
			Help: "Bytes the remembered responses take (bounded by RECSVC_FEEDBACK_MAX_BYTES)"}, func() float64 { return float64(store.Stats().Bytes) }),
	)
	for i, reason := range feedback.ReasonNames {
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "recsvc_feedback_responses_forgotten_total",
			Help: "Responses forgotten, by reason (ttl; entries or bytes: a bound cut in before the TTL)", ConstLabels: prometheus.Labels{"reason": reason}},
			func() float64 { return float64(store.Stats().Forgotten[i]) }))
	}
	return f
}

// served remembers a response for its clicks and counts its impressions.
func (s *Service) served(rid string, sc trace.SpanContext, q *Query, segment, region string, r *result, at time.Time) {
	f := s.feedback
	if f == nil || len(r.ranked) == 0 {
		return
	}
	ids := make([]string, len(r.ranked))
	for i := range r.ranked {
		ids[i] = r.ranked[i].Place.ID
	}
	l := labelSet{segment, categoryLabel(q.Category), region}
	f.store.Remember(feedback.Served{RequestID: rid, At: at, Span: sc, Places: ids, Segment: l.segment, Category: l.category, Region: l.region})
	var perBand [len(telemetry.PositionBands)]int
	for pos := 1; pos <= len(ids); pos++ {
		perBand[telemetry.PositionBand(pos)]++
	}
	c := f.countersFor(s.Metrics, l)
	for band, k := range perBand {
		if k > 0 {
			c.impressions[band].Add(float64(k))
		}
	}
	f.window.Add(at, uint64(len(ids)), 0)
}

type feedbackBody struct {
	RequestID string `json:"request_id"`
	PlaceID   string `json:"place_id"`
	Action    string `json:"action"`
}

// parseFeedback validates a feedback body; fields are checked in a fixed order.
func parseFeedback(body []byte) (feedbackBody, *FieldError) {
	var b feedbackBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, &FieldError{"body", "must be a JSON object {\"request_id\", \"place_id\", \"action\"}: " + err.Error()}
	}
	if dec.More() {
		return b, &FieldError{"body", "must hold one JSON object"}
	}
	switch {
	case b.RequestID == "":
		return b, &FieldError{"request_id", "is required: the X-Request-ID (or request_id) of the recommendation response"}
	case len(b.RequestID) > 128 || !saneID([]byte(b.RequestID)):
		return b, &FieldError{"request_id", "must be at most 128 characters of letters, digits, '-', '_', '.', ':'"}
	case b.PlaceID == "":
		return b, &FieldError{"place_id", "is required: the id of the result that was clicked"}
	case len(b.PlaceID) > 128:
		return b, &FieldError{"place_id", "must be at most 128 characters"}
	case b.Action == "":
		return b, &FieldError{"action", fmt.Sprintf("is required: one of %v", feedbackActions)}
	case b.Action != "click":
		return b, &FieldError{"action", fmt.Sprintf("must be one of %v", feedbackActions)}
	}
	return b, nil
}

// feedbackRoute takes a click on a result: checked against the response it came from,
// counted once, logged with the original request's ids and traced with a link to its span.
func (s *Service) feedbackRoute(ctx *fasthttp.RequestCtx) {
	profileAs(labelsFeedback)
	defer profileAs(noLabels)
	start := s.Now()
	fid, _, span := s.serverSpan(ctx, "recommendation_feedback", "/v1/feedback")
	sc := span.SpanContext()
	ftid, fsid := sc.TraceID().String(), sc.SpanID().String()
	status := fasthttp.StatusOK
	var attrs []attribute.KeyValue
	defer func() {
		span.SetAttributes(append(attrs, attribute.Int("http.response.status_code", status))...)
		span.End()
	}()
	reject := func(st int, outcome, code, field, msg, target string) {
		status = st
		s.Metrics.Feedback.WithLabelValues(outcome).Inc()
		attrs = append(attrs, attribute.String("error.type", code))
		s.log.Warn(logschema.EventInvalidFeedback, logging.Str("request_id", fid), logging.Str("trace_id", ftid), logging.Str("span_id", fsid),
			logging.Str("category", "business"), logging.Str("code", code), logging.Str("field", field), logging.Str("reason", msg),
			logging.Str("target_request_id", target), logging.Int("status", int64(st)))
		s.writeError(ctx, st, code, field, msg, fid, ftid)
	}
	if s.feedback == nil {
		reject(fasthttp.StatusNotFound, "invalid", "feedback_disabled", "", "feedback is off on this recsvc (RECSVC_FEEDBACK=false)", "")
		return
	}
	b, ferr := parseFeedback(ctx.PostBody())
	if ferr != nil {
		reject(fasthttp.StatusBadRequest, "invalid", "invalid_parameter", ferr.Field, ferr.Message, b.RequestID)
		return
	}
	attrs = append(attrs, attribute.String("feedback.action", b.Action), attribute.String("place.id", b.PlaceID),
		attribute.String("recommendation.request_id", b.RequestID))
	sv, pos, outcome := s.feedback.store.Click(b.RequestID, b.PlaceID, start)
	switch outcome {
	case feedback.UnknownRequest:
		opt := s.feedback.store.Options()
		reject(fasthttp.StatusNotFound, "unknown_request", "unknown_request", "request_id",
			fmt.Sprintf("no recommendation response with this request_id in the last %v (recsvc remembers at most %d responses)", opt.TTL, opt.MaxEntries), b.RequestID)
		return
	case feedback.NotInResults:
		reject(fasthttp.StatusBadRequest, "invalid", "invalid_parameter", "place_id", "was not among the results of request "+b.RequestID, b.RequestID)
		return
	}
	// The click span links to the request's: the request's trace shows up from the click's
	// in Jaeger, and the click line below carries the request's ids so it joins its story.
	span.AddLink(trace.Link{SpanContext: sv.Span, Attributes: []attribute.KeyValue{attribute.String("recobs.link", "recommendation")}})
	attrs = append(attrs, attribute.Int("recommendation.position", pos), attribute.String("user_segment", sv.Segment),
		attribute.String("location_region", sv.Region), attribute.Bool("feedback.duplicate", outcome == feedback.Duplicate))
	log := s.log.With(logging.Str("request_id", sv.RequestID), logging.Str("trace_id", sv.Span.TraceID().String()), logging.Str("span_id", sv.Span.SpanID().String()))
	fields := []logging.Field{logging.Str("category", "business"), logging.Str("action", b.Action), logging.Str("place_id", b.PlaceID),
		logging.Int("position", int64(pos)), logging.Millis("since_response_ms", start.Sub(sv.At)),
		logging.Str("user_segment", sv.Segment), logging.Str("place_category", sv.Category), logging.Str("location_region", sv.Region),
		logging.Str("feedback_request_id", fid), logging.Str("feedback_trace_id", ftid), logging.Str("feedback_span_id", fsid)}
	if outcome == feedback.Duplicate {
		s.Metrics.Feedback.WithLabelValues("duplicate").Inc()
		log.Info(logschema.EventClickDuplicate, fields...)
	} else {
		s.Metrics.Feedback.WithLabelValues("counted").Inc()
		s.feedback.countersFor(s.Metrics, labelSet{sv.Segment, sv.Category, sv.Region}).clicks[telemetry.PositionBand(pos)].Inc()
		s.feedback.window.Add(start, 0, 1)
		log.Info(logschema.EventRecommendationClick, fields...)
	}
	out := make([]byte, 0, 192)
	out = append(out, `{"request_id":`...)
	out = jsonenc.AppendString(out, fid)
	out = append(out, `,"trace_id":`...)
	out = jsonenc.AppendString(out, ftid)
	out = fmt.Appendf(out, `,"counted":%t,"duplicate":%t,"position":%d}`, outcome == feedback.Counted, outcome == feedback.Duplicate, pos)
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(out)
}
