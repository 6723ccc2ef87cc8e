package explorer // import "github.com/recobs/recobs/explorer"

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recobs/recobs/deploy/grafana"
)

// Config says where the backends are. Every URL is the base of an HTTP API; the explorer
// only reads (GET, and POST to Elasticsearch's _search).
type Config struct {
	Listen           string        // default 127.0.0.1:16800
	ElasticsearchURL string        // the log documents
	Index            string        // index pattern of the daily indices
	ProfilesIndex    string        // index pattern of the profiles (the pprof_scrape receiver's)
	JaegerURL        string        // Jaeger's query API
	PrometheusURL    string        // the metrics
	KibanaURL        string        // links out (production); empty: no link
	JaegerUIURL      string        // links out; defaults to JaegerURL
	Service          string        // the service whose RED series the request page draws
	BackendTimeout   time.Duration // a slower backend is shown as slow, the page still renders
	// AllowedHosts are the names the explorer answers to (the Host header, port aside):
	// 127.0.0.1, localhost and ::1 always, the listen address's host, and these. A page a
	// browser loaded from elsewhere cannot read it by pointing its own name at 127.0.0.1
	// (DNS rebinding).
	AllowedHosts []string
}

// hostAllowed reports whether a request's Host header names the explorer.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return s.hosts[strings.ToLower(strings.Trim(host, "[]"))]
}

// withoutUserinfo drops user:password@ from a URL shown on a page (a link out): the backends
// are still asked with it, as HTTP basic auth.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// NewDefaultConfig is the explorer beside `make run`'s backends.
func NewDefaultConfig() Config {
	return Config{Listen: "127.0.0.1:16800", ElasticsearchURL: "http://127.0.0.1:9200", Index: "recommendations-*", ProfilesIndex: "profiles-*",
		JaegerURL: "http://127.0.0.1:16686", PrometheusURL: "http://127.0.0.1:9090", Service: "recsvc", BackendTimeout: 3 * time.Second}
}

// Validate names the setting at fault.
func (c Config) Validate() error {
	var errs []error
	for name, u := range map[string]string{"elasticsearch": c.ElasticsearchURL, "jaeger": c.JaegerURL, "prometheus": c.PrometheusURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s: not an http(s) URL", name))
		}
	}
	if c.Index == "" || strings.ContainsAny(c.Index, "/?#, ") {
		errs = append(errs, errors.New("index: an index name or pattern (recommendations-*)"))
	}
	if c.ProfilesIndex == "" || strings.ContainsAny(c.ProfilesIndex, "/?#, ") {
		errs = append(errs, errors.New("profiles-index: an index name or pattern (profiles-*)"))
	}
	if c.BackendTimeout <= 0 {
		errs = append(errs, errors.New("backend-timeout: must be positive"))
	}
	if c.Service == "" {
		errs = append(errs, errors.New("service: must be set"))
	}
	return errors.Join(errs...)
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the explorer's pages.
type Server struct {
	cfg    Config
	hosts  map[string]bool // AllowedHosts, lowercased, with the loopback names
	client *http.Client
	pages  map[string]*template.Template
	panels []panel
	mux    *http.ServeMux
}

// New builds the explorer; the dashboard's panels are read once, here.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.JaegerUIURL == "" {
		cfg.JaegerUIURL = cfg.JaegerURL
	}
	// Links out never carry credentials.
	cfg.JaegerUIURL, cfg.KibanaURL = withoutUserinfo(cfg.JaegerUIURL), withoutUserinfo(cfg.KibanaURL)
	hosts := map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" {
		hosts[strings.ToLower(h)] = true
	}
	for _, h := range cfg.AllowedHosts {
		hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	panels, err := dashboardPanels(grafana.Dashboard)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, hosts: hosts, client: &http.Client{Timeout: cfg.BackendTimeout}, panels: panels, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"ms":      func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) },
		"latency": func(v float64) string { return latencyText(v) },
		"clock":   func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
		"indent":  func(d int) int { return d * 14 },
	}
	funcs["add"] = func(a, b int) int { return a + b }
	funcs["pct"] = func(v, total int64) string {
		if total == 0 {
			return "—"
		}
		return strconv.FormatFloat(float64(v)*100/float64(total), 'f', 1, 64) + "%"
	}
	for _, page := range []string{"requests", "request", "overview", "profiles", "profile"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, err
		}
		s.pages[page] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux = http.NewServeMux()
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/requests", http.StatusFound) })
	s.mux.HandleFunc("GET /requests", s.requests)
	s.mux.HandleFunc("GET /requests/{id}", s.request)
	s.mux.HandleFunc("GET /lookup", s.lookup)
	s.mux.HandleFunc("GET /overview", s.overview)
	s.mux.HandleFunc("GET /profiles", s.profiles)
	s.mux.HandleFunc("GET /profiles/{id}", s.profile)
	s.mux.HandleFunc("GET /profiles/diff", s.profileDiff)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.hostAllowed(r.Host) {
		http.Error(w, "this explorer does not answer to that host name (-allowed-hosts)", http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "read-only", http.StatusMethodNotAllowed)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// page is what every template gets: the page's own data and the backends that failed.
type page struct {
	Title    string
	Nav      string
	Problems []string // "Jaeger: unavailable (…)": shown at the top, the rest renders
	Refresh  int      // seconds; 0: none
	Data     any
}

func (s *Server) render(w http.ResponseWriter, name string, status int, p page) {
	var b strings.Builder
	if err := s.pages[name].Execute(&b, p); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func problem(p *page, err error) {
	if err == nil {
		return
	}
	var be *backendError
	if errors.As(err, &be) {
		p.Problems = append(p.Problems, be.Backend+" "+be.Err.Error())
		return
	}
	p.Problems = append(p.Problems, err.Error())
}

// --- the requests page ---

type requestsData struct {
	Filter   requestFilter
	Rows     []logLine
	Query    url.Values
	BadInput string
}

func (s *Server) requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := requestFilter{Limit: 50, Errors: q.Get("errors") == "1"}
	p := page{Title: "Requests", Nav: "requests", Refresh: 5}
	d := requestsData{Query: q}
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			d.BadInput = "status: an HTTP status (100–599)"
		}
		f.Status = n
	}
	if v := q.Get("min_ms"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 {
			d.BadInput = "min_ms: a latency in milliseconds"
		}
		f.MinMs = n
	}
	d.Filter = f
	status := http.StatusOK
	if d.BadInput != "" {
		status = http.StatusBadRequest
	} else {
		rows, err := s.latestRequests(r.Context(), f)
		problem(&p, err)
		d.Rows = rows
	}
	p.Data = d
	s.render(w, "requests", status, p)
}

// lookup takes what on-call pasted — a request ID or a trace ID — to the request's page.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if tid, ok := traceID(id); ok {
		rid, err := s.requestOfTrace(r.Context(), tid)
		if err == nil && rid != "" && validRequestID(rid) == nil {
			http.Redirect(w, r, "/requests/"+url.PathEscape(rid), http.StatusFound)
			return
		}
		// No log line names it (yet): the request page can still show the trace.
		http.Redirect(w, r, "/requests/"+url.PathEscape(id)+"?trace="+tid, http.StatusFound)
		return
	}
	if err := validRequestID(id); err != nil {
		s.render(w, "requests", http.StatusBadRequest, page{Title: "Requests", Nav: "requests", Data: requestsData{BadInput: err.Error()}})
		return
	}
	http.Redirect(w, r, "/requests/"+url.PathEscape(id), http.StatusFound)
}

// --- one request ---

type requestData struct {
	RequestID   string
	TraceID     string
	Lines       []logLine
	Clicks      []clickRow // the recommendation_click lines of this request
	First       logLine
	At          time.Time
	Spans       []waterfallSpan
	TraceLength time.Duration
	TraceErr    string
	Charts      []chart
	KibanaURL   string
	JaegerUIURL string
	ProfileURL  string // the CPU profile covering the request's time
}

func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := page{Title: "Request " + id, Nav: "requests"}
	if err := validRequestID(id); err != nil {
		s.render(w, "requests", http.StatusBadRequest, page{Title: "Requests", Nav: "requests", Data: requestsData{BadInput: err.Error()}})
		return
	}
	d := requestData{RequestID: id}
	lines, err := s.requestLines(r.Context(), id)
	problem(&p, err)
	d.Lines = lines
	d.Clicks = clicksOf(lines)
	if len(lines) > 0 {
		d.First, d.At = lines[0], lines[0].Time()
		d.ProfileURL = "/profiles?at=" + url.QueryEscape(d.At.Format(time.RFC3339Nano))
		for _, l := range lines {
			if t := l.TraceID(); t != "" {
				d.TraceID = t
				break
			}
		}
	}
	if d.TraceID == "" {
		if tid, ok := traceID(r.URL.Query().Get("trace")); ok {
			d.TraceID = tid
		}
	}
	if tid, ok := traceID(d.TraceID); ok {
		d.TraceID = tid
		d.JaegerUIURL = s.cfg.JaegerUIURL + "/trace/" + tid
		// The trace and the metrics are fetched side by side: one slow backend costs its own
		// timeout, not the sum.
		var wg sync.WaitGroup
		var traceErr, chartsErr error
		var spans []jaegerSpan
		wg.Go(func() { spans, traceErr = s.trace(r.Context(), tid) })
		wg.Go(func() {
			d.Charts, chartsErr = s.requestCharts(r.Context(), d.At, tid, serviceOf(d.First, s.cfg.Service))
		})
		wg.Wait()
		problem(&p, traceErr)
		problem(&p, chartsErr)
		if traceErr != nil {
			d.TraceErr = traceErr.Error()
		}
		d.Spans, d.TraceLength = waterfall(spans)
	}
	if s.cfg.KibanaURL != "" {
		d.KibanaURL = kibanaDiscover(s.cfg.KibanaURL, id)
	}
	p.Data = d
	status := http.StatusOK
	if len(lines) == 0 && len(d.Spans) == 0 && len(p.Problems) == 0 {
		status = http.StatusNotFound
	}
	s.render(w, "request", status, p)
}

func serviceOf(l logLine, fallback string) string {
	if s := l.Service(); s != "" {
		return s
	}
	return fallback
}

// requestCharts draws the RED and seed series around the request's time, with the exemplars
// of that window marked and the one that points at this trace highlighted.
func (s *Server) requestCharts(ctx context.Context, at time.Time, tid, service string) ([]chart, error) {
	if at.IsZero() {
		at = time.Now()
	}
	from, to := at.Add(-15*time.Minute), at.Add(5*time.Minute)
	if now := time.Now(); to.After(now) {
		to = now
	}
	job := strconv.Quote(service)
	defs := []struct{ title, unit, expr, exemplars string }{
		{"RED rate (" + service + ")", "reqps", `sum(rate(red_requests_total{job=` + job + `}[1m]))`, ""},
		{"RED errors (" + service + ")", "reqps", `sum(rate(red_errors_total{job=` + job + `}[1m]))`, ""},
		{"RED duration p95 / p50 — exemplars are requests", "s", `histogram_quantile(0.95, sum by (le) (rate(red_duration_seconds_bucket{job=` + job + `}[1m])))`,
			`red_duration_seconds_bucket{job=` + job + `}`},
		{"Seed: response time p95 (recommendation_latency_seconds)", "s", `histogram_quantile(0.95, sum by (le) (rate(recommendation_latency_seconds_bucket[5m])))`, ""},
	}
	charts := make([]chart, len(defs))
	var errs []error
	for i, d := range defs {
		c := chart{Title: d.title, Unit: d.unit, From: from, To: to, At: at}
		m, err := s.queryRange(ctx, d.expr, from, to, step(from, to))
		if err != nil {
			c.Err, errs = err.Error(), append(errs, err)
		}
		c.Series = seriesFrom(m)
		if d.exemplars != "" && err == nil {
			p50, _ := s.queryRange(ctx, strings.Replace(d.expr, "0.95", "0.50", 1), from, to, step(from, to))
			if s50 := seriesFrom(p50); len(s50) > 0 {
				s50[0].Name = "p50"
				c.Series = append(c.Series, s50[0])
			}
			if len(c.Series) > 0 {
				c.Series[0].Name = "p95"
			}
			ex, err := s.exemplars(ctx, d.exemplars, from, to)
			if err != nil {
				errs = append(errs, err)
			}
			c.Marks = marks(ex, tid)
		}
		charts[i] = c
	}
	return charts, firstErr(errs)
}

func marks(ex promExemplars, tid string) []chartMark {
	var out []chartMark
	for _, d := range ex.Data {
		for _, e := range d.Exemplars {
			v, err := strconv.ParseFloat(e.Value, 64)
			if err != nil {
				continue
			}
			t := e.Labels["trace_id"]
			out = append(out, chartMark{T: time.UnixMilli(int64(e.Timestamp * 1000)), V: v, Highlight: t == tid,
				Label: "trace " + t + " — " + latencyText(v*1000), Href: "/lookup?id=" + url.QueryEscape(t)})
		}
	}
	return out
}

func firstErr(errs []error) error {
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func step(from, to time.Time) time.Duration {
	return max(to.Sub(from)/120, 5*time.Second)
}

func latencyText(ms float64) string {
	if ms < 0 {
		return "—"
	}
	if ms < 1 {
		return strconv.FormatFloat(ms*1000, 'f', 0, 64) + " µs"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// kibanaDiscover opens Discover on the shipped data view, filtered to the request.
func kibanaDiscover(base, requestID string) string {
	query := "request_id:\"" + requestID + "\"" // requestID is validated: no quotes, no spaces
	return base + "/app/discover#/?_g=(time:(from:now-7d,to:now))&_a=(dataSource:(dataViewId:recobs-recommendations,type:dataView)," +
		"query:(language:kuery,query:'" + url.QueryEscape(query) + "'),sort:!(!('@timestamp',asc)))"
}

// --- the overview ---

type overviewData struct {
	Sections []overviewSection
	Minutes  int
}

type overviewSection struct {
	Title  string
	Charts []chart
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Overview", Nav: "overview", Refresh: 15}
	minutes := 30
	if v, err := strconv.Atoi(r.URL.Query().Get("minutes")); err == nil && v >= 5 && v <= 24*60 {
		minutes = v
	}
	to := time.Now()
	from := to.Add(-time.Duration(minutes) * time.Minute)
	charts := make([]chart, len(s.panels))
	errs := make([]error, len(s.panels))
	var wg sync.WaitGroup
	for i, pn := range s.panels {
		wg.Go(func() {
			c := chart{Title: pn.Title, Unit: pn.Unit, From: from, To: to}
			for _, expr := range pn.Exprs {
				m, err := s.queryRange(r.Context(), expr, from, to, step(from, to))
				if err != nil {
					c.Err, errs[i] = err.Error(), err
					break
				}
				for _, sr := range seriesFrom(m) {
					if len(pn.Exprs) > 1 && sr.Name == "value" {
						sr.Name = expr
					}
					c.Series = append(c.Series, sr)
				}
			}
			charts[i] = c
		})
	}
	wg.Wait()
	problem(&p, firstErr(nonNil(errs)))
	d := overviewData{Minutes: minutes}
	for i, pn := range s.panels {
		if len(d.Sections) == 0 || d.Sections[len(d.Sections)-1].Title != pn.Section {
			d.Sections = append(d.Sections, overviewSection{Title: pn.Section})
		}
		sec := &d.Sections[len(d.Sections)-1]
		sec.Charts = append(sec.Charts, charts[i])
	}
	p.Data = d
	s.render(w, "overview", http.StatusOK, p)
}

func nonNil(errs []error) []error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// clickRow is one click on a result of the request, from its recommendation_click line.
type clickRow struct {
	At       time.Time
	PlaceID  string
	Position string
	AfterMs  string // since the response
	TraceID  string // the click's own trace, linked to the request's
}

func clicksOf(lines []logLine) []clickRow {
	var out []clickRow
	for _, l := range lines {
		if l.Event() != "recommendation_click" {
			continue
		}
		a := func(k string) string {
			if v := l.attr(k); v != nil {
				return logLine{k: v}.str(k)
			}
			return ""
		}
		out = append(out, clickRow{At: l.Time(), PlaceID: a("place_id"), Position: a("position"), AfterMs: a("since_response_ms"), TraceID: a("feedback_trace_id")})
	}
	return out
}
