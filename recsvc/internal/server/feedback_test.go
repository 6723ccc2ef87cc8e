package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/testenv"
	"github.com/recobs/recobs/recsvc/internal/feedback"
)

func withFeedback(opt feedback.Options) func(*Deps) {
	return func(d *Deps) { d.Feedback = feedback.NewStore(opt) }
}

func (f *fixture) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	r := f.get("/metrics")
	return parseMetrics(t, r.body, "text/plain")
}

type recommended struct {
	RequestID string `json:"request_id"`
	TraceID   string `json:"trace_id"`
	Results   []struct {
		ID string `json:"id"`
	} `json:"results"`
}

func (f *fixture) recommend(t *testing.T, rid string) recommended {
	t.Helper()
	r := f.get("/v1/recommendations?lat=37.7749&lng=-122.4194&radius_km=2&limit=10&user_id=1", "X-Request-ID", rid)
	var out recommended
	if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 || len(out.Results) != 10 {
		t.Fatalf("recommendation: %d %s", r.status, r.body)
	}
	return out
}

func click(rid, place string) string {
	return fmt.Sprintf(`{"request_id":%q,"place_id":%q,"action":"click"}`, rid, place)
}

// TestClickCountedOnce: a click on the third result is counted under its impression's labels
// and band, a retry of it is not, the CTR is clicks ÷ impressions, the click line carries
// the request's ids and the click's span links to the request's.
func TestClickCountedOnce(t *testing.T) {
	f := newFixture(t, withFeedback(feedback.Options{}))
	rec := f.recommend(t, "req-1")
	f.advance(1500 * time.Millisecond)

	r := f.post("/v1/feedback", click("req-1", rec.Results[2].ID), "X-Request-ID", "fb-1")
	var got struct {
		RequestID string `json:"request_id"`
		Counted   bool   `json:"counted"`
		Duplicate bool   `json:"duplicate"`
		Position  int    `json:"position"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || !got.Counted || got.Position != 3 || got.RequestID != "fb-1" {
		t.Fatalf("click: %d %s", r.status, r.body)
	}
	r = f.post("/v1/feedback", click("req-1", rec.Results[2].ID))
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || got.Counted || !got.Duplicate {
		t.Fatalf("the same click again: %d %s", r.status, r.body)
	}

	m := f.metrics(t)
	series := func(name, band string) string { // labels in Prometheus' order
		return fmt.Sprintf(`%s{category="all",location_region="san_francisco",position=%q,user_segment="families"}`, name, band)
	}
	for band, want := range map[string]float64{"1": 1, "2": 1, "3": 1, "4-5": 2, "6-10": 5} {
		if v := m[series("recommendation_impressions_total", band)]; v != want {
			t.Errorf("impressions in band %s = %v, want %v", band, v, want)
		}
	}
	if v := m[series("recommendation_clicks_total", "3")]; v != 1 {
		t.Errorf("clicks at position 3 = %v, want 1", v)
	}
	if v := m[`recommendation_ctr`]; v != 0.1 {
		t.Errorf("recommendation_ctr = %v, want 0.1 (1 click ÷ 10 impressions)", v)
	}
	if c, d := m[`recommendation_feedback_total{outcome="counted"}`], m[`recommendation_feedback_total{outcome="duplicate"}`]; c != 1 || d != 1 {
		t.Errorf("feedback outcomes: counted %v duplicate %v, want 1 and 1", c, d)
	}

	line := f.waitLogLines(t, "recommendation_click", 1)[0]
	for k, want := range map[string]any{"request_id": "req-1", "trace_id": rec.TraceID, "place_id": rec.Results[2].ID,
		"position": 3.0, "since_response_ms": 1500.0, "feedback_request_id": "fb-1", "category": "business", "action": "click"} {
		if line[k] != want {
			t.Errorf("click line %s = %v, want %v", k, line[k], want)
		}
	}
	f.waitLogLines(t, "click_duplicate", 1)

	testenv.Eventually(t, 10*time.Second, func() bool { return len(f.spans.GetSpans()) >= 6 }, "want 4 request spans and 2 click spans")
	var links int
	for _, s := range f.spans.GetSpans() {
		if s.Name != "recommendation_feedback" {
			continue
		}
		if len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != rec.TraceID {
			t.Errorf("click span links %+v, want one to trace %s", s.Links, rec.TraceID)
		}
		if s.SpanContext.TraceID().String() == rec.TraceID {
			t.Errorf("the click span is in the request's trace: it should be its own, linked")
		}
		links++
	}
	if links != 2 {
		t.Errorf("%d click spans, want 2", links)
	}
}

// TestFeedbackRejects: every bad call gets a 4xx JSON error naming what is wrong, an
// invalid_feedback line, and counts no click.
func TestFeedbackRejects(t *testing.T) {
	f := newFixture(t, withFeedback(feedback.Options{TTL: time.Minute}))
	rec := f.recommend(t, "req-1")
	other := f.get("/v1/recommendations?lat=40.7128&lng=-74.0060&radius_km=2&limit=10") // New York: its places are not San Francisco's
	var ny recommended
	_ = json.Unmarshal(other.body, &ny)
	cases := []struct {
		name, body   string
		status       int
		code, field  string
		advanceFirst time.Duration
	}{
		{"not JSON", `request_id=req-1`, 400, "invalid_parameter", "body", 0},
		{"two objects", click("req-1", rec.Results[0].ID) + "{}", 400, "invalid_parameter", "body", 0},
		{"unknown field", `{"request_id":"req-1","place_id":"x","action":"click","extra":1}`, 400, "invalid_parameter", "body", 0},
		{"no request_id", `{"place_id":"x","action":"click"}`, 400, "invalid_parameter", "request_id", 0},
		{"bad request_id", click("req 1", "x"), 400, "invalid_parameter", "request_id", 0},
		{"no place_id", `{"request_id":"req-1","action":"click"}`, 400, "invalid_parameter", "place_id", 0},
		{"no action", `{"request_id":"req-1","place_id":"x"}`, 400, "invalid_parameter", "action", 0},
		{"other action", `{"request_id":"req-1","place_id":"x","action":"like"}`, 400, "invalid_parameter", "action", 0},
		{"place not in the results", click("req-1", ny.Results[0].ID), 400, "invalid_parameter", "place_id", 0},
		{"never served", click("req-404", rec.Results[0].ID), 404, "unknown_request", "request_id", 0},
		{"served too long ago", click("req-1", rec.Results[0].ID), 404, "unknown_request", "request_id", 2 * time.Minute},
	}
	for _, c := range cases {
		f.advance(c.advanceFirst)
		r := f.post("/v1/feedback", c.body)
		var e struct {
			Error     struct{ Code, Field, Message string } `json:"error"`
			RequestID string                                `json:"request_id"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != c.status || e.Error.Code != c.code || e.Error.Field != c.field || e.RequestID == "" {
			t.Errorf("%s: %d %s, want %d %s naming %s", c.name, r.status, r.body, c.status, c.code, c.field)
		}
	}
	m := f.metrics(t)
	for k, v := range m {
		if strings.HasPrefix(k, "recommendation_clicks_total") && v != 0 {
			t.Errorf("%s = %v: a rejected click was counted", k, v)
		}
	}
	if v := m[`recommendation_feedback_total{outcome="invalid"}`] + m[`recommendation_feedback_total{outcome="unknown_request"}`]; v != float64(len(cases)) {
		t.Errorf("rejected feedback counted %v times, want %d", v, len(cases))
	}
	f.waitLogLines(t, "invalid_feedback", len(cases))

	if r := f.get("/v1/feedback"); r.status != 405 || r.header["Allow"] != "POST" {
		t.Errorf("GET /v1/feedback: %d %v", r.status, r.header)
	}
	if r := f.post("/v1/recommendations", ""); r.status != 405 || r.header["Allow"] != "GET, HEAD" {
		t.Errorf("POST /v1/recommendations: %d %v", r.status, r.header)
	}
}

func TestFeedbackOff(t *testing.T) {
	f := newFixture(t)
	rec := f.recommend(t, "req-1")
	if r := f.post("/v1/feedback", click("req-1", rec.Results[0].ID)); r.status != 404 || !strings.Contains(string(r.body), "feedback_disabled") {
		t.Fatalf("feedback off: %d %s", r.status, r.body)
	}
	m := f.metrics(t)
	if _, ok := m["recommendation_ctr"]; ok {
		t.Errorf("recommendation_ctr is exported with feedback off")
	}
}

func TestCTRWithoutImpressionsIsNaN(t *testing.T) {
	f := newFixture(t, withFeedback(feedback.Options{}))
	if v, ok := f.metrics(t)["recommendation_ctr"]; !ok || !math.IsNaN(v) {
		t.Fatalf("recommendation_ctr before any response = %v (%v), want NaN", v, ok)
	}
}
