package explorer

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/recobs/recobs/deploy/grafana"
	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...)
}

func TestIDs(t *testing.T) {
	for id, ok := range map[string]bool{
		"req-1": true, "e2e-d0182c6e-29": true, "7f0c7a52-8a0e-4c1b-9a5e-1d2f3a4b5c6d": true, "a.b_c:d": true,
		"": false, `a" OR *`: false, "a b": false, "a/b": false, "a*": false, strings.Repeat("x", 129): false, "é": false,
	} {
		if got := validRequestID(id) == nil; got != ok {
			t.Errorf("validRequestID(%q) = %t, want %t", id, got, ok)
		}
	}
	for in, want := range map[string]string{
		"0E14DD27688F7AA67609E79189429DC0": "0e14dd27688f7aa67609e79189429dc0", " 0e14dd27688f7aa67609e79189429dc0 ": "0e14dd27688f7aa67609e79189429dc0",
		"00000000000000000000000000000000": "", "0e14dd27688f7aa67609e79189429dcz": "", "0e14dd27": "",
	} {
		got, ok := traceID(in)
		if ok != (want != "") || got != want && ok {
			t.Errorf("traceID(%q) = %q, %t; want %q", in, got, ok, want)
		}
	}
}

// fakeES records the search bodies it gets and answers with lines.
type fakeES struct {
	mu     sync.Mutex
	bodies []string
	lines  []map[string]any
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(raw))
	f.mu.Unlock()
	hits := []any{}
	for _, l := range f.lines {
		hits = append(hits, map[string]any{"_source": l})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"hits": map[string]any{"hits": hits}})
}

func newTestServer(t *testing.T, es http.Handler, jaegerURL, promURL string) *httptest.Server {
	t.Helper()
	esSrv := httptest.NewServer(es)
	t.Cleanup(esSrv.Close)
	cfg := NewDefaultConfig()
	cfg.ElasticsearchURL, cfg.JaegerURL, cfg.PrometheusURL, cfg.BackendTimeout = esSrv.URL, jaegerURL, promURL, 2*time.Second
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	c.CloseIdleConnections()
	return res.StatusCode, string(body)
}

// TestRequestIDsOnlyInTermQueries: an ID reaches Elasticsearch only as the value of a term
// query; one that is not an ID never reaches it and gets a 400 page.
func TestRequestIDsOnlyInTermQueries(t *testing.T) {
	es := &fakeES{}
	down := "http://" + proctest.FreePort(t) // nothing listens
	srv := newTestServer(t, es, down, down)
	if code, _ := get(t, srv.URL+"/requests/req-42"); code != http.StatusNotFound {
		t.Errorf("an unknown request: %d, want 404", code)
	}
	es.mu.Lock()
	if len(es.bodies) != 1 || !strings.Contains(es.bodies[0], `{"term":{"request_id":"req-42"}}`) || strings.Contains(es.bodies[0], "query_string") {
		t.Errorf("the search must be a term query on request_id: %q", es.bodies)
	}
	es.bodies = nil
	es.mu.Unlock()
	for _, bad := range []string{"/requests/a%22%20OR%20%2A", "/lookup?id=a%22+OR+*", "/requests?status=abc", "/requests?min_ms=-3"} {
		if code, body := get(t, srv.URL+bad); code != http.StatusBadRequest || !strings.Contains(body, `class="bad-input"`) {
			t.Errorf("%s: %d, want a 400 page saying what is wrong", bad, code)
		}
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	if len(es.bodies) != 0 {
		t.Errorf("bad input reached Elasticsearch: %q", es.bodies)
	}
	if code, _ := get(t, srv.URL+"/lookup?id=0E14DD27688F7AA67609E79189429DC0"); code != http.StatusFound {
		t.Errorf("a trace id is looked up: %d", code)
	}
}

// TestBackendDownIsNamed: with Jaeger and Prometheus down, the request page still shows the
// log lines and says which backends failed; never a blank page or a 500.
func TestBackendDownIsNamed(t *testing.T) {
	es := &fakeES{lines: []map[string]any{{
		"@timestamp": "2026-11-28T10:00:00.000Z", "event": "request_failed", "log.level": "error", "request_id": "req-7",
		"trace.id": "0e14dd27688f7aa67609e79189429dc0", "error.type": "*errors.errorString", "error.message": "injected fault",
		"error.stack_trace": "goroutine 1 [running]:", "attributes": map[string]any{"status": 500.0},
	}}}
	down := "http://" + proctest.FreePort(t)
	srv := newTestServer(t, es, down, down)
	code, body := get(t, srv.URL+"/requests/req-7")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"request_failed", "injected fault", "goroutine 1 [running]:", "Jaeger unavailable", "Prometheus unavailable"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if code, body := get(t, srv.URL+"/overview"); code != http.StatusOK || !strings.Contains(body, "Prometheus unavailable") {
		t.Errorf("overview with Prometheus down: %d", code)
	}
}

// TestPanelsAreTheDashboards: the overview draws every panel of the Grafana dashboard, each
// with the dashboard's own queries.
func TestPanelsAreTheDashboards(t *testing.T) {
	panels, err := dashboardPanels(grafana.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(grafana.Dashboard, &d); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			want = append(want, tg.Expr)
		}
	}
	var got []string
	for _, p := range panels {
		got = append(got, p.Exprs...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(panels) < 10 {
		t.Errorf("the overview's queries differ from the dashboard's:\n got %q\nwant %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	c := NewDefaultConfig()
	c.JaegerURL, c.Index, c.BackendTimeout = "127.0.0.1:16686", "a/b", 0
	err := c.Validate()
	for _, want := range []string{"jaeger:", "index:", "backend-timeout:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error naming %s, got %v", want, err)
		}
	}
}

// TestHostHeaderIsChecked: a page that DNS-rebinds its own name to 127.0.0.1 reaches the
// explorer with that name in Host: refused. The loopback names, the listen host and the
// configured ones are answered.
func TestHostHeaderIsChecked(t *testing.T) {
	down := "http://" + proctest.FreePort(t)
	cfg := NewDefaultConfig()
	cfg.ElasticsearchURL, cfg.JaegerURL, cfg.PrometheusURL = down, down, down
	cfg.Listen, cfg.AllowedHosts = "10.1.2.3:16800", []string{"explore.internal"}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{
		"127.0.0.1:16800": http.StatusFound, "localhost": http.StatusFound, "[::1]:16800": http.StatusFound,
		"10.1.2.3:16800": http.StatusFound, "EXPLORE.internal:80": http.StatusFound,
		"attacker.example:16800": http.StatusMisdirectedRequest, "127.0.0.1.attacker.example": http.StatusMisdirectedRequest, "": http.StatusMisdirectedRequest,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
}

// TestLinksCarryNoCredentials: a backend URL's user:password@ is used to ask the backend
// (basic auth) and never shown: the links out to Jaeger and Kibana have none.
func TestLinksCarryNoCredentials(t *testing.T) {
	const secret = "s3cr3t-pw"
	cfg := NewDefaultConfig()
	cfg.JaegerURL, cfg.KibanaURL = "http://admin:"+secret+"@127.0.0.1:16686", "https://kb:"+secret+"@kibana.example"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.cfg.JaegerUIURL+s.cfg.KibanaURL, secret) || s.cfg.JaegerUIURL != "http://127.0.0.1:16686" || s.cfg.KibanaURL != "https://kibana.example" {
		t.Fatalf("links out: %q %q", s.cfg.JaegerUIURL, s.cfg.KibanaURL)
	}
	if !strings.Contains(s.cfg.JaegerURL, secret) {
		t.Fatal("the query API URL keeps its credentials: the client sends them as basic auth")
	}
}

// TestOverriddenUnitIsItsOwnPanel: the click-through rate, a ratio on the inference-time
// panel (seconds), is drawn on a chart of its own in percent, not on the seconds axis.
func TestOverriddenUnitIsItsOwnPanel(t *testing.T) {
	panels, err := dashboardPanels(grafana.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var ml, ctr *panel
	for i := range panels {
		switch panels[i].Title {
		case "ML Model Performance":
			ml = &panels[i]
		case "ML Model Performance: Click-Through Rate":
			ctr = &panels[i]
		}
	}
	if ml == nil || ctr == nil || ml.Unit != "s" || ctr.Unit != "percentunit" || strings.Join(ctr.Exprs, ";") != "recommendation_ctr" ||
		slices.Contains(ml.Exprs, "recommendation_ctr") {
		t.Fatalf("ML panel %+v, CTR panel %+v", ml, ctr)
	}
}

// TestClicksOnTheRequestPage: the request's recommendation_click lines are listed as its
// clicks, with the place, position, delay and the click's own trace.
func TestClicksOnTheRequestPage(t *testing.T) {
	line := func(event string, attrs map[string]any) map[string]any {
		return map[string]any{"@timestamp": "2026-11-28T10:00:00.000Z", "event": event, "log.level": "info", "request_id": "req-7",
			"trace.id": "0e14dd27688f7aa67609e79189429dc0", "attributes": attrs}
	}
	es := &fakeES{lines: []map[string]any{
		line("recommendation_request", map[string]any{"status": 200.0}),
		line("recommendation_click", map[string]any{"place_id": "sf-0042", "position": 3.0, "since_response_ms": 1500.5, "feedback_trace_id": "aa14dd27688f7aa67609e79189429dc0"}),
	}}
	down := "http://" + proctest.FreePort(t)
	srv := newTestServer(t, es, down, down)
	_, body := get(t, srv.URL+"/requests/req-7")
	for _, want := range []string{`<h2>Clicks <span class="count">1</span>`, `<code>sf-0042</code></td><td>3</td><td>1500.5 ms</td>`, "aa14dd27688f7aa67609e79189429dc0"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
