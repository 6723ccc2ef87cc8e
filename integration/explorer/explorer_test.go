// Package explorer runs recobs-explore in a real browser (Debian's chromium, driven by
// chromedp) over the real pod: recsvc, the sidecar, Elasticsearch, Prometheus and a Jaeger of
// its own, which the test stops.
package explorer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/recobs/recobs/internal/testutil/proctest"
	"github.com/recobs/recobs/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.IdleHTTPConns()...)
}

func port(hostPort string) string { return hostPort[strings.LastIndexByte(hostPort, ':')+1:] }

// TestExplorerInABrowser follows three requests — valid, invalid, failing — from the list to
// their pages: the log lines, the trace's four spans, the failing one's exception, charts
// with points; then stops Jaeger and checks the page says so and still shows the logs.
// Screenshots go to $RECOBS_STATE/explorer-screenshots for a person to look at.
func TestExplorerInABrowser(t *testing.T) {
	esURL, promURL := testenv.ElasticsearchURL(t), testenv.PrometheusURL(t)
	chromium, jaegerBin := testenv.Chromium(t), testenv.JaegerBinary(t)
	prom, err := url.Parse(promURL)
	if err != nil {
		t.Fatal(err)
	}

	// A Jaeger of this test's own: the shared one serves every other test.
	jq, jgrpc := proctest.FreePort(t), proctest.FreePort(t)
	jaeger := proctest.Start(t, "jaeger", jaegerBin, []string{"--config", "../../deploy/backends/jaeger.yaml"}, map[string]string{
		"JAEGER_QUERY_PORT": port(jq), "JAEGER_QUERY_GRPC_PORT": port(proctest.FreePort(t)), "JAEGER_HEALTH_PORT": port(proctest.FreePort(t)),
		"JAEGER_OTLP_GRPC_PORT": port(jgrpc), "JAEGER_OTLP_HTTP_PORT": port(proctest.FreePort(t)), "PROM_PORT": prom.Port(),
	}, "http://"+jq+"/api/services")
	defer jaeger.Stop(t)
	jaegerURL := "http://" + jq

	otlp, recsvcAddr, admin := proctest.FreePort(t), proctest.FreePort(t), proctest.FreePort(t)
	col := proctest.NewCollector(t, "../..", map[string]string{
		"ES_URL": esURL, "JAEGER_OTLP_GRPC": jgrpc, "PROM_REMOTE_WRITE_URL": promURL + "/api/v1/write",
		"RECOBS_OTLP_GRPC_ADDR": otlp, "RECSVC_METRICS_TARGET": recsvcAddr, "RECSVC_SCRAPE_INTERVAL": "1s", "RECOBS_RED_FLUSH_INTERVAL": "1s",
		"RECSVC_PPROF_TARGET": admin, "RECSVC_PROFILE_INTERVAL": "3s", "RECSVC_CPU_PROFILE_DURATION": "2s",
	})
	colProc := col.Start(t)
	defer colProc.Stop(t)
	run := testenv.UniqueName("explore-")
	svcBin := proctest.Build(t, "../../recsvc/cmd/recsvc", "recsvc")
	svc := proctest.Start(t, "recsvc", svcBin, nil, map[string]string{
		"RECSVC_ADDR": recsvcAddr, "RECSVC_ADMIN_ADDR": admin, "RECSVC_LOG_FILE": filepath.Join(col.LogDir(), "recsvc.log"),
		"RECSVC_ALLOW_FAULT_HEADER": "true", "RECSVC_PLACES_PER_CITY": "200",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + otlp, "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=" + run,
	}, "http://"+recsvcAddr+"/health/ready")
	defer svc.Stop(t)

	// Three requests, and some traffic around them so the charts have a line.
	rid := map[string]string{"valid": run + "-valid", "invalid": run + "-invalid", "failing": run + "-failing"}
	client := http.Client{Timeout: 10 * time.Second}
	var firstPlace string // the valid request's first result, which the test clicks
	send := func(id, query, fault string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+recsvcAddr+"/v1/recommendations?"+query, nil)
		req.Header.Set("X-Request-ID", id)
		if fault != "" {
			req.Header.Set("X-Recsvc-Fault", fault)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Results []struct{ ID string } }
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if id == rid["valid"] && len(body.Results) > 0 {
			firstPlace = body.Results[0].ID
		}
	}
	// A counter's first sample is where Prometheus starts counting: requests that all land
	// before the first RED flush or scrape never show as a rate. Background traffic goes on until both
	// the RED series and the seed's scraped ones have grown in Prometheus.
	grown := func(q string) bool {
		var r struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if proctest.GetJSON(promURL+"/api/v1/query?query="+url.QueryEscape("sum(increase("+q+"[1m])) > 0"), &r) != nil {
			return false
		}
		return len(r.Data.Result) == 1
	}
	bg := 0
	testenv.Eventually(t, 60*time.Second, func() bool {
		send(fmt.Sprintf("%s-bg-%02d", run, bg), fmt.Sprintf("lat=37.77%02d&lng=-122.4194&radius_km=2&user_id=%d", bg%100, bg), "")
		bg++
		return grown(fmt.Sprintf("red_requests_total{instance=%q}", run)) && grown(fmt.Sprintf("recommendation_requests_total{instance=%q}", recsvcAddr))
	}, "Prometheus: want the RED and the seed's request counters to grow")
	// Load until the sidecar has stored a CPU profile taken under it (one with recsvc's
	// inference stage in it) and one more, for the Profiles page and its comparison.
	stopLoad := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			default:
			}
			res, err := client.Get(fmt.Sprintf("http://%s/v1/recommendations?lat=37.77%02d&lng=-122.4194&radius_km=5&limit=50&user_id=%d", recsvcAddr, i%100, i))
			if err == nil {
				res.Body.Close()
			}
		}
	}()
	var profileID string
	testenv.Eventually(t, 90*time.Second, func() bool {
		var r struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				}
			}
		}
		q := fmt.Sprintf(`{"size":1,"_source":false,"query":{"bool":{"filter":[{"term":{"service.instance.id":%q}},{"exists":{"field":"attributes.profile.by_stage.inference"}}]}}}`, admin)
		if proctest.PostJSON(esURL+"/profiles-*/_search", q, &r) != nil || len(r.Hits.Hits) == 0 {
			return false
		}
		profileID = r.Hits.Hits[0].ID
		// And one before it, so the list links a profile to the one before.
		var c struct{ Count int }
		cq := fmt.Sprintf(`{"query":{"bool":{"filter":[{"term":{"service.instance.id":%q}},{"term":{"attributes.profile.type":"cpu"}}]}}}`, admin)
		return proctest.PostJSON(esURL+"/profiles-*/_count", cq, &c) == nil && c.Count >= 2
	}, "two CPU profiles of recsvc, one under load, in Elasticsearch")
	close(stopLoad)
	<-loaded
	// The three last: the requests page lists the newest.
	send(rid["valid"], "lat=37.7749&lng=-122.4194&radius_km=2&user_id=7", "")
	send(rid["invalid"], "lat=123&lng=0", "")
	send(rid["failing"], "lat=37.7749&lng=-122.4194&radius_km=2&user_id=8", "error")
	// A click on the valid request's first result: its page lists it.
	res, err := client.Post("http://"+recsvcAddr+"/v1/feedback", "application/json",
		strings.NewReader(fmt.Sprintf(`{"request_id":%q,"place_id":%q,"action":"click"}`, rid["valid"], firstPlace)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("click on %s's first result %q: %d", rid["valid"], firstPlace, res.StatusCode)
	}
	client.CloseIdleConnections()
	svc.Stop(t) // flushes its spans and log lines

	exploreBin := proctest.Build(t, "../../explorer/cmd/recobs-explore", "recobs-explore")
	addr := proctest.FreePort(t)
	explore := proctest.Start(t, "recobs-explore", exploreBin, []string{"-listen", addr, "-elasticsearch", esURL, "-jaeger", jaegerURL,
		"-prometheus", promURL, "-kibana", "http://127.0.0.1:5601", "-backend-timeout", "2s"}, nil, "http://"+addr+"/requests")
	defer explore.Stop(t)
	base := "http://" + addr

	shots := filepath.Join(stateDir(), "explorer-screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := browser(t, chromium)
	defer cancel()

	// The list shows the three (polling: the sidecar ships lines within a second or two).
	var listed bool
	testenv.Eventually(t, 60*time.Second, func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/requests")); err != nil {
			return false
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.requests")))
		if err != nil {
			return false
		}
		listed = strings.Contains(text, rid["valid"]) && strings.Contains(text, rid["invalid"]) && strings.Contains(text, rid["failing"])
		return listed
	}, "the requests page lists %v", rid)
	screenshot(t, ctx, filepath.Join(shots, "requests.png"))

	// Each request's page: its lines; for the valid one the four spans; for the failing one the
	// exception. The page is reloaded until the trace is in Jaeger.
	pageOf := func(id string) (logLines, spans int, exception, problems string) {
		if chromedp.Do(ctx, chromedp.Navigate(base+"/requests/"+id)) != nil {
			return
		}
		logLines, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#logs .log-line").length`))
		spans, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#trace .span").length`))
		exception, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(".exception")).map(e => e.textContent).join(" ")`))
		problems, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(".problem")).map(e => e.textContent).join(" ")`))
		return
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		lines, spans, _, _ := pageOf(rid["valid"])
		return lines >= 2 && spans == 4
	}, "the valid request's page: want its request and click lines and 4 spans")
	clickRows, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#clicks tr.click")).map(e => e.textContent).join("|")`))
	if !strings.Contains(clickRows, firstPlace) || strings.Count(clickRows, "|") != 0 {
		t.Errorf("the valid request's clicks: %q, want one row for %s", clickRows, firstPlace)
	}
	// The charts are rates over Prometheus' evaluation steps (10 s on this page's 20-minute
	// window): a rate needs two samples inside one step, so on a fast machine the trace can be
	// in Jaeger before the charts have a point. Reload until they do.
	testenv.Eventually(t, 60*time.Second, func() bool {
		if chromedp.Do(ctx, chromedp.Navigate(base+"/requests/"+rid["valid"])) != nil {
			return false
		}
		points, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.max(0, ...Array.from(document.querySelectorAll("svg.chart")).map(s => +s.dataset.points))`))
		return err == nil && points > 0
	}, "the valid request's page: want its charts to have points")
	screenshot(t, ctx, filepath.Join(shots, "request-valid.png"))
	testenv.Eventually(t, 30*time.Second, func() bool {
		lines, _, exception, _ := pageOf(rid["failing"])
		return lines >= 2 && strings.Contains(exception, "injected fault")
	}, "the failing request's page: want its lines and the exception")
	screenshot(t, ctx, filepath.Join(shots, "request-failing.png"))
	testenv.Eventually(t, 30*time.Second, func() bool {
		lines, _, _, _ := pageOf(rid["invalid"])
		return lines >= 2
	}, "the invalid request's page: want its recommendation_request and invalid_request lines")

	// A trace id pasted into the box opens the same request.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/requests/"+rid["valid"]))
	var traceText string
	if err == nil {
		traceText, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".trace-id")))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Navigate(base+"/requests"), chromedp.SetValue(chromedp.CSS(`input[name="id"]`), traceText),
			chromedp.Submit(chromedp.CSS("form.lookup")), chromedp.WaitVisible(chromedp.CSS("#logs")))
	}
	landed, _ := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(landed, "/requests/"+rid["valid"]) {
		t.Errorf("looking up trace %q from the requests page landed on %q (%v)", traceText, landed, err)
	}

	// The overview: the dashboard's panels with points.
	var panels string // each panel's title and points, for the failure message
	defer func() {
		if t.Failed() {
			t.Logf("the overview's panels when last loaded: %s", panels)
		}
	}()
	testenv.Eventually(t, 60*time.Second, func() bool {
		if chromedp.Do(ctx, chromedp.Navigate(base+"/overview?minutes=15")) != nil {
			return false
		}
		panels, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("svg.chart")).map(s => s.getAttribute("aria-label") + ": " + s.dataset.points).join("; ") + " | problems: " + Array.from(document.querySelectorAll(".problem")).map(e => e.textContent).join(" ")`))
		withPoints, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("svg.chart")).filter(s => +s.dataset.points > 0).length`))
		return err == nil && withPoints >= 3
	}, "the overview: want at least 3 panels with points")
	screenshot(t, ctx, filepath.Join(shots, "overview.png"))

	// The Profiles page lists that profile; its flame graph draws recsvc's handler, and the
	// inference stage alone has none of the geospatial stage's functions.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/profiles?type=cpu&minutes=30")); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href="/profiles/`+profileID+`"]').length`)); n != 1 {
		t.Errorf("the profiles page does not list profile %s", profileID)
	}
	flame := func(query string) (frames int, titles string) {
		if chromedp.Do(ctx, chromedp.Navigate(base+"/profiles/"+profileID+query)) != nil {
			return 0, ""
		}
		frames, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`+(document.querySelector("svg.flame")||{dataset:{}}).dataset.frames||0`))
		titles, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("svg.flame title")).map(e => e.textContent).join("\n")`))
		return frames, titles
	}
	frames, titles := flame("")
	if frames < 10 || !strings.Contains(titles, "server.(*Service).recommendations") {
		t.Errorf("the flame graph of %s: %d frames, recsvc's handler in it: %v", profileID, frames, strings.Contains(titles, "server.(*Service).recommendations"))
	}
	screenshot(t, ctx, filepath.Join(shots, "profile.png"))
	// Two windows compared: the list links each profile to the one before it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/profiles?type=cpu&minutes=30")); err != nil {
		t.Fatal(err)
	}
	diffURL, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("a.diff-link")||{}).href||""`))
	if diffURL == "" {
		t.Errorf("the profiles page links no profile to the one before it")
	} else if err := chromedp.Do(ctx, chromedp.Navigate(diffURL)); err == nil {
		frames, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`+(document.querySelector("svg.flame")||{dataset:{}}).dataset.frames||0`))
		changes, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#changes tr.change").length`))
		if frames == 0 || changes == 0 {
			t.Errorf("the diff %s: %d frames, %d changes listed", diffURL, frames, changes)
		}
	}
	// (Which functions a short profile's few inference samples land in varies; that none is
	// the geospatial stage's is what the filter promises.)
	if frames, titles := flame("?stage=inference"); frames == 0 || strings.Contains(titles, "recsvc/internal/geo.") {
		t.Errorf("the inference stage's flame graph: %d frames, the geo index's functions in it: %v", frames, strings.Contains(titles, "recsvc/internal/geo."))
	}

	// Jaeger stops: the page says so, and the logs still render.
	jaeger.Stop(t)
	lines, spans, _, problems := pageOf(rid["valid"])
	if !strings.Contains(problems, "Jaeger unavailable") || lines < 1 || spans != 0 {
		t.Errorf("with Jaeger stopped: problems %q, %d log lines, %d spans", problems, lines, spans)
	}
	screenshot(t, ctx, filepath.Join(shots, "request-jaeger-down.png"))
}

func stateDir() string {
	if d := os.Getenv("RECOBS_STATE"); d != "" {
		return d
	}
	return "/tmp/recobs"
}

// browser starts headless chromium with the flags this machine's closed network needs.
func browser(t *testing.T, chromium string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
}
