package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

// TestClickThroughRate follows clicks through the pod: N responses and K valid clicks (one
// of them sent twice) plus invalid ones; in Prometheus the impressions and clicks are exact
// and recommendation_ctr is K ÷ impressions (all inside its 5-minute window); in
// Elasticsearch every counted click is one recommendation_click document carrying its
// request's trace id; in Jaeger each click's span links to its request's trace; the invalid
// clicks are answered 4xx and counted nowhere but as rejected feedback.
func TestClickThroughRate(t *testing.T) {
	esURL, promURL, jaegerURL := testenv.ElasticsearchURL(t), testenv.PrometheusURL(t), testenv.JaegerURL(t)
	otlp, recsvcAddr := proctest.FreePort(t), proctest.FreePort(t)
	col := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "JAEGER_OTLP_GRPC": testenv.JaegerOTLPGRPC(t), "PROM_REMOTE_WRITE_URL": promURL + "/api/v1/write",
		"RECOBS_OTLP_GRPC_ADDR": otlp, "RECSVC_METRICS_TARGET": recsvcAddr, "RECSVC_SCRAPE_INTERVAL": "1s", "RECOBS_ES_REPLICAS": "0",
	})
	colProc := col.Start(t)
	defer colProc.Stop(t)
	run := testenv.UniqueName("ctr-")
	svc := proctest.Start(t, "recsvc", proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc"), nil, map[string]string{
		"RECSVC_ADDR": recsvcAddr, "RECSVC_ADMIN_ADDR": "", "RECSVC_LOG_FILE": filepath.Join(col.LogDir(), "recsvc.log"),
		"RECSVC_PLACES_PER_CITY": "200", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + otlp, "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=" + run,
	}, "http://"+recsvcAddr+"/health/ready")
	defer svc.Stop(t)
	client := http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	type response struct {
		RequestID string `json:"request_id"`
		TraceID   string `json:"trace_id"`
		Results   []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	const n = 20
	var served []response
	impressions := 0
	for i := range n {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v1/recommendations?lat=%.4f&lng=-122.4194&radius_km=2&limit=%d&user_id=%d",
			recsvcAddr, 37.77+float64(i)*0.001, 5+i%6, i), nil)
		req.Header.Set("X-Request-ID", fmt.Sprintf("%s-%02d", run, i))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r response
		err = json.NewDecoder(res.Body).Decode(&r)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || len(r.Results) == 0 {
			t.Fatalf("request %d: %d %v", i, res.StatusCode, err)
		}
		served = append(served, r)
		impressions += len(r.Results)
	}

	type clickReply struct {
		TraceID string `json:"trace_id"`
		Counted bool   `json:"counted"`
	}
	post := func(body string) (int, clickReply) {
		res, err := client.Post("http://"+recsvcAddr+"/v1/feedback", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var c clickReply
		_ = json.NewDecoder(res.Body).Decode(&c)
		return res.StatusCode, c
	}
	clickOn := func(r response, pos int) string {
		return fmt.Sprintf(`{"request_id":%q,"place_id":%q,"action":"click"}`, r.RequestID, r.Results[pos-1].ID)
	}
	// K valid clicks: the first results of most responses, a few further down.
	clickTrace := map[string]string{} // request id → its click's trace
	for i, r := range served[:12] {
		pos := 1 + i%3
		status, c := post(clickOn(r, pos))
		if status != 200 || !c.Counted {
			t.Fatalf("click on %s #%d: %d %+v", r.RequestID, pos, status, c)
		}
		clickTrace[r.RequestID] = c.TraceID
	}
	const k = 12
	if status, c := post(clickOn(served[0], 1)); status != 200 || c.Counted {
		t.Fatalf("the same click again: %d %+v, want 200 not counted", status, c)
	}
	for _, bad := range []struct {
		body   string
		status int
	}{
		{fmt.Sprintf(`{"request_id":%q,"place_id":"x","action":"click"}`, run+"-unknown"), 404},
		{fmt.Sprintf(`{"request_id":%q,"place_id":"not-a-result","action":"click"}`, served[1].RequestID), 400},
		{fmt.Sprintf(`{"request_id":%q,"place_id":%q,"action":"like"}`, served[1].RequestID, served[1].Results[0].ID), 400},
	} {
		if status, _ := post(bad.body); status != bad.status {
			t.Errorf("%s: %d, want %d", bad.body, status, bad.status)
		}
	}

	// Prometheus, scraped from recsvc by the sidecar.
	query := func(q string) (float64, bool) {
		var r struct {
			Data struct{ Result []struct{ Value [2]any } }
		}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(q), &r) != nil || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	inst := fmt.Sprintf(`{instance=%q}`, recsvcAddr)
	want := map[string]float64{
		"sum(recommendation_impressions_total" + inst + ")":                                           float64(impressions),
		"sum(recommendation_clicks_total" + inst + ")":                                                k,
		`sum(recommendation_feedback_total{instance="` + recsvcAddr + `",outcome="counted"})`:         k,
		`sum(recommendation_feedback_total{instance="` + recsvcAddr + `",outcome="duplicate"})`:       1,
		`sum(recommendation_feedback_total{instance="` + recsvcAddr + `",outcome="unknown_request"})`: 1,
		`sum(recommendation_feedback_total{instance="` + recsvcAddr + `",outcome="invalid"})`:         2,
		"recommendation_ctr" + inst: float64(k) / float64(impressions),
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		for q, w := range want {
			if v, ok := query(q); !ok || math.Abs(v-w) > 1e-9 {
				return false
			}
		}
		return true
	}, "Prometheus: want %v", want)
	// By position: the first result took 4 of the 12 clicks.
	if v, _ := query(`sum(recommendation_clicks_total{instance="` + recsvcAddr + `",position="1"})`); v != 4 {
		t.Errorf("clicks at position 1 = %v, want 4", v)
	}

	// Elasticsearch: one recommendation_click document a counted click, under its request's
	// id and trace.
	type hit struct {
		Source struct {
			RequestID string         `json:"request_id"`
			TraceID   string         `json:"trace.id"`
			Attrs     map[string]any `json:"attributes"`
		} `json:"_source"`
	}
	var hits []hit
	index := "recommendations-" + time.Now().UTC().Format("2006.01.02")
	search := fmt.Sprintf(`{"size":100,"query":{"bool":{"filter":[{"term":{"event":"recommendation_click"}},{"prefix":{"request_id":%q}}]}}}`, run+"-")
	testenv.Eventually(t, 60*time.Second, func() bool {
		var r struct{ Hits struct{ Hits []hit } }
		if proctest.PostJSON(esURL+"/"+index+"/_search", search, &r) != nil {
			return false
		}
		hits = r.Hits.Hits
		return len(hits) >= k
	}, "want %d recommendation_click documents in %s", k, index)
	perRequest := map[string]int{}
	for _, h := range hits {
		perRequest[h.Source.RequestID]++
	}
	for i, r := range served[:k] {
		if perRequest[r.RequestID] != 1 {
			t.Errorf("%s: %d click documents, want 1", r.RequestID, perRequest[r.RequestID])
		}
		for _, h := range hits {
			if h.Source.RequestID == r.RequestID && (h.Source.TraceID != r.TraceID || h.Source.Attrs["position"] != float64(1+i%3)) {
				t.Errorf("%s: click document trace %s position %v, want %s and %d", r.RequestID, h.Source.TraceID, h.Source.Attrs["position"], r.TraceID, 1+i%3)
			}
		}
	}
	if len(hits) != k {
		t.Errorf("%d click documents, want %d", len(hits), k)
	}

	// Jaeger: the click's span, in a trace of its own, refers to its request's trace.
	for _, r := range served[:3] {
		var tr struct {
			Data []struct {
				Spans []struct {
					OperationName string
					References    []struct{ RefType, TraceID string }
				}
			}
		}
		testenv.Eventually(t, 30*time.Second, func() bool {
			if proctest.GetJSON(jaegerURL+"/api/traces/"+clickTrace[r.RequestID], &tr) != nil || len(tr.Data) != 1 {
				return false
			}
			for _, s := range tr.Data[0].Spans {
				for _, ref := range s.References {
					if s.OperationName == "recommendation_feedback" && ref.TraceID == r.TraceID {
						return true
					}
				}
			}
			return false
		}, "the click trace %s in Jaeger, linked to %s's trace %s", clickTrace[r.RequestID], r.RequestID, r.TraceID)
	}
}
