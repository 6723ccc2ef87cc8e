package explorer // import "github.com/recobs/recobs/explorer"

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// backendError names the backend that failed, so a page can say which one is down or slow
// while the rest of it renders.
type backendError struct {
	Backend string
	Err     error
}

func (e *backendError) Error() string { return e.Backend + ": " + e.Err.Error() }

// getJSON and postJSON call a backend and decode its answer; any failure is a backendError.
func (s *Server) getJSON(ctx context.Context, backend, u string, out any) error {
	return s.do(ctx, backend, http.MethodGet, u, nil, out)
}

func (s *Server) do(ctx context.Context, backend, method, u string, body any, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return &backendError{backend, err}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &backendError{backend, err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.client.Do(req)
	if err != nil {
		return &backendError{backend, fmt.Errorf("unavailable (%w)", err)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return &backendError{backend, err}
	}
	if res.StatusCode/100 != 2 {
		return &backendError{backend, fmt.Errorf("answered %s", res.Status)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &backendError{backend, fmt.Errorf("unreadable answer: %w", err)}
	}
	return nil
}

// --- Elasticsearch ---------------------------------------------------------------------

// logLine is one stored log document.
type logLine map[string]any

func (l logLine) str(k string) string {
	switch v := l[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		raw, _ := json.Marshal(v)
		return string(raw)
	}
}

// attr is one of recsvc's own fields, which the exporter keeps under attributes.
func (l logLine) attr(k string) any {
	if m, ok := l["attributes"].(map[string]any); ok {
		return m[k]
	}
	return nil
}

func (l logLine) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, l.str("@timestamp"))
	return t
}
func (l logLine) RequestID() string { return l.str("request_id") }
func (l logLine) TraceID() string   { return l.str("trace.id") }
func (l logLine) Event() string     { return l.str("event") }
func (l logLine) Level() string     { return l.str("log.level") }
func (l logLine) Category() string  { return l.str("category") }
func (l logLine) Service() string   { return l.str("service.name") }
func (l logLine) ErrorType() string { return l.str("error.type") }
func (l logLine) ErrorMsg() string  { return l.str("error.message") }
func (l logLine) Stack() string     { return l.str("error.stack_trace") }

// Status is the HTTP status recsvc answered (0 when the line does not say).
func (l logLine) Status() int {
	v, _ := l.attr("status").(float64)
	return int(v)
}

// LatencyMs is how long recsvc took (-1 when the line does not say).
func (l logLine) LatencyMs() float64 {
	if v, ok := l.attr("response_time_ms").(float64); ok {
		return v
	}
	return -1
}

func (l logLine) Region() string {
	s, _ := l.attr("location_region").(string)
	return s
}

// Failed marks what on-call looks for first: a 5xx, or an error or fatal line.
func (l logLine) Failed() bool {
	return l.Status() >= 500 || l.Level() == "error" || l.Level() == "fatal"
}

// Fields are the line's other fields, flattened and sorted, for the request page.
func (l logLine) Fields() [][2]string {
	skip := map[string]bool{"@timestamp": true, "message": true, "event": true, "log.level": true, "log.severity_number": true,
		"error.type": true, "error.message": true, "error.stack_trace": true, "scope.name": true, "attributes": true}
	var out [][2]string
	for k := range l {
		if !skip[k] {
			out = append(out, [2]string{k, l.str(k)})
		}
	}
	if m, ok := l["attributes"].(map[string]any); ok {
		for k := range m {
			out = append(out, [2]string{k, logLine(m).str(k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

type searchResponse struct {
	Hits struct {
		Hits []struct {
			Source logLine `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

func (s *Server) search(ctx context.Context, query map[string]any) ([]logLine, error) {
	var r searchResponse
	u := s.cfg.ElasticsearchURL + "/" + url.PathEscape(s.cfg.Index) + "/_search?ignore_unavailable=true&allow_no_indices=true"
	if err := s.do(ctx, "Elasticsearch", http.MethodPost, u, query, &r); err != nil {
		return nil, err
	}
	out := make([]logLine, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		out = append(out, h.Source)
	}
	return out, nil
}

// requestFilter is what the requests page filters on.
type requestFilter struct {
	Status int     // exact HTTP status; 0: any
	Errors bool    // only 5xx
	MinMs  float64 // latency at least; 0: any
	Limit  int
}

// latestRequests is the newest recommendation_request lines, one a request.
func (s *Server) latestRequests(ctx context.Context, f requestFilter) ([]logLine, error) {
	filter := []any{term("event", "recommendation_request")}
	if f.Status != 0 {
		filter = append(filter, term("attributes.status", f.Status))
	}
	if f.Errors {
		filter = append(filter, map[string]any{"range": map[string]any{"attributes.status": map[string]any{"gte": 500}}})
	}
	if f.MinMs > 0 {
		filter = append(filter, map[string]any{"range": map[string]any{"attributes.response_time_ms": map[string]any{"gte": f.MinMs}}})
	}
	return s.search(ctx, map[string]any{
		"size":  f.Limit,
		"sort":  []any{map[string]any{"@timestamp": map[string]any{"order": "desc"}}},
		"query": map[string]any{"bool": map[string]any{"filter": filter}},
	})
}

// requestLines is every line of one request, in the order it was written.
func (s *Server) requestLines(ctx context.Context, requestID string) ([]logLine, error) {
	return s.search(ctx, map[string]any{
		"size": 500,
		"sort": []any{
			map[string]any{"@timestamp": map[string]any{"order": "asc"}},
			map[string]any{"log.offset": map[string]any{"order": "asc", "unmapped_type": "long"}},
		},
		"query": term("request_id", requestID),
	})
}

// requestOfTrace finds the request a trace belongs to.
func (s *Server) requestOfTrace(ctx context.Context, tid string) (string, error) {
	lines, err := s.search(ctx, map[string]any{"size": 1, "query": map[string]any{"bool": map[string]any{
		"filter": []any{term("trace.id", tid), map[string]any{"exists": map[string]any{"field": "request_id"}}}}}})
	if err != nil || len(lines) == 0 {
		return "", err
	}
	return lines[0].RequestID(), nil
}

// term is an exact-value query: what a user typed is never parsed as query syntax.
func term(field string, value any) map[string]any {
	return map[string]any{"term": map[string]any{field: value}}
}

// --- Jaeger ------------------------------------------------------------------------------

type jaegerTrace struct {
	Data []struct {
		TraceID string       `json:"traceID"`
		Spans   []jaegerSpan `json:"spans"`
	} `json:"data"`
}

type jaegerSpan struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64      `json:"startTime"` // µs since the epoch
	Duration  int64      `json:"duration"`  // µs
	Tags      []jaegerKV `json:"tags"`
	Logs      []struct {
		Timestamp int64      `json:"timestamp"`
		Fields    []jaegerKV `json:"fields"`
	} `json:"logs"`
}

type jaegerKV struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// trace fetches one trace; tid has been validated (it is a path segment).
func (s *Server) trace(ctx context.Context, tid string) ([]jaegerSpan, error) {
	var t jaegerTrace
	if err := s.getJSON(ctx, "Jaeger", s.cfg.JaegerURL+"/api/traces/"+tid, &t); err != nil {
		return nil, err
	}
	if len(t.Data) == 0 {
		return nil, nil
	}
	return t.Data[0].Spans, nil
}

// --- Prometheus --------------------------------------------------------------------------

type promMatrix struct {
	Data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// queryRange runs expr over [start, end].
func (s *Server) queryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promMatrix, error) {
	q := url.Values{"query": {expr}, "start": {unix(start)}, "end": {unix(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	var m promMatrix
	err := s.getJSON(ctx, "Prometheus", s.cfg.PrometheusURL+"/api/v1/query_range?"+q.Encode(), &m)
	return m, err
}

type promExemplars struct {
	Data []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels    map[string]string `json:"labels"`
			Value     string            `json:"value"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	} `json:"data"`
}

func (s *Server) exemplars(ctx context.Context, expr string, start, end time.Time) (promExemplars, error) {
	q := url.Values{"query": {expr}, "start": {unix(start)}, "end": {unix(end)}}
	var e promExemplars
	err := s.getJSON(ctx, "Prometheus", s.cfg.PrometheusURL+"/api/v1/query_exemplars?"+q.Encode(), &e)
	return e, err
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
