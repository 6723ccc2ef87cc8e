package explorer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/recobs/recobs/internal/testutil/proctest"
)

// cpuProfile is a small CPU-shaped profile: handle → infer → score (60, inference),
// handle → geo → walk (30, geospatial), handle alone (10).
func cpuProfile(t *testing.T) string { return cpuProfileOf(t, 60, 30, 10) }

// cpuProfileOf is that profile with other values for score, walk and handle alone.
func cpuProfileOf(t *testing.T, score, walk, handle int64) string {
	t.Helper()
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		DefaultSampleType: "cpu", PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10_000_000}
	locs := map[string]*profile.Location{}
	loc := func(name string) *profile.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		f := &profile.Function{ID: uint64(len(locs) + 1), Name: name}
		l := &profile.Location{ID: f.ID, Line: []profile.Line{{Function: f}}}
		locs[name] = l
		p.Function, p.Location = append(p.Function, f), append(p.Location, l)
		return l
	}
	add := func(v int64, stage string, stack ...string) {
		s := &profile.Sample{Value: []int64{1, v}, Label: map[string][]string{"stage": {stage}}}
		for _, n := range stack {
			s.Location = append(s.Location, loc(n))
		}
		p.Sample = append(p.Sample, s)
	}
	add(score, "inference", "recsvc.score", "recsvc.infer", "recsvc.handle")
	add(walk, "geospatial", "recsvc.walk", "recsvc.geo", "recsvc.handle")
	add(handle, "other", "recsvc.handle")
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// profileES answers every search with one CPU profile document.
func profileES(t *testing.T, start time.Time) http.Handler {
	return profilesES(map[string]string{"0123456789abcdef0123456789abcdef": cpuProfile(t)}, start)
}

// profilesES answers an ids query with the asked profile, any other search with the first.
func profilesES(data map[string]string, start time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Query struct {
				IDs struct{ Values []string } `json:"ids"`
			} `json:"query"`
		}
		_ = json.NewDecoder(r.Body).Decode(&q)
		id := "0123456789abcdef0123456789abcdef"
		if len(q.Query.IDs.Values) == 1 {
			id = q.Query.IDs.Values[0]
		}
		if _, ok := data[id]; !ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"hits": map[string]any{"hits": []any{}}})
			return
		}
		hit := map[string]any{"_id": id, "_source": map[string]any{
			"@timestamp": start.UTC().Format(time.RFC3339Nano), "service.name": "recsvc", "service.instance.id": "127.0.0.1:6060",
			"attributes": map[string]any{"profile.type": "cpu", "profile.sample_type": "cpu/nanoseconds", "profile.duration_ms": 10000.0,
				"profile.samples": 3.0, "profile.bytes": 321.0, "profile.data": data[id]}}}
		_ = json.NewEncoder(w).Encode(map[string]any{"hits": map[string]any{"hits": []any{hit}}})
	})
}

// TestProfilePage: the flame graph draws the merged stacks, a stage filter keeps that
// stage's samples, a focus zooms to a frame, a search highlights, and the top functions
// are the view's.
func TestProfilePage(t *testing.T) {
	down := "http://" + proctest.FreePort(t)
	srv := newTestServer(t, profileES(t, time.Now().Add(-time.Minute)), down, down)
	frames := regexp.MustCompile(`data-frames="(\d+)"`)
	page := func(q string) string {
		code, body := get(t, srv.URL+"/profiles/0123456789abcdef0123456789abcdef"+q)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", q, code)
		}
		return body
	}
	all := page("")
	if m := frames.FindStringSubmatch(all); m == nil || m[1] != "6" { // all, handle, infer, score, geo, walk
		t.Errorf("frames %v, want 6", m)
	}
	for _, want := range []string{"<title>recsvc.score — 60</title>", "<title>recsvc.handle — 100</title>", ">inference</a>", ">geospatial</a>"} {
		if !strings.Contains(all, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	inference := page("?stage=inference")
	if strings.Contains(inference, "recsvc.walk") || !strings.Contains(inference, "<title>recsvc.handle — 60</title>") {
		t.Errorf("stage=inference kept other stages' frames")
	}
	zoomed := page("?focus=recsvc.handle%3Brecsvc.geo")
	flame := zoomed[strings.Index(zoomed, `<svg class="flame"`):]
	flame = flame[:strings.Index(flame, "</svg>")]
	if m := frames.FindStringSubmatch(zoomed); m == nil || m[1] != "2" || strings.Contains(flame, "recsvc.score") {
		t.Errorf("zoomed to handle;geo: frames %v", m)
	}
	if !strings.Contains(zoomed, "up one") {
		t.Error("a zoomed graph has no way up")
	}
	if found := page("?search=score"); strings.Count(found, `class="frame match"`) != 1 {
		t.Errorf("search=score highlights %d frames, want 1", strings.Count(found, `class="frame match"`))
	}
	if code, _ := get(t, srv.URL+"/profiles/not%20an%20id"); code != http.StatusBadRequest {
		t.Errorf("a bad id: %d, want 400", code)
	}
}

// TestProfileAtARequestsTime: /profiles?at= opens the CPU profile whose window holds the
// moment, and says so when none does; the list links each profile.
func TestProfileAtARequestsTime(t *testing.T) {
	start := time.Now().Add(-time.Minute)
	down := "http://" + proctest.FreePort(t)
	srv := newTestServer(t, profileES(t, start), down, down)
	at := start.Add(4 * time.Second).UTC().Format(time.RFC3339Nano)
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(srv.URL + "/profiles?at=" + at)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	c.CloseIdleConnections()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/profiles/0123456789abcdef0123456789abcdef" {
		t.Errorf("at a covered time: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	later := start.Add(30 * time.Second).UTC().Format(time.RFC3339Nano)
	if code, body := get(t, srv.URL+"/profiles?at="+later); code != http.StatusOK || !strings.Contains(body, "no CPU profile covers") {
		t.Errorf("at an uncovered time: %d", code)
	}
	if code, body := get(t, srv.URL+"/profiles"); code != http.StatusOK || !strings.Contains(body, `href="/profiles/0123456789abcdef0123456789abcdef"`) {
		t.Errorf("the list: %d", code)
	}
	if code, _ := get(t, srv.URL+"/profiles?type=trace"); code != http.StatusBadRequest {
		t.Errorf("a bad type: %d", code)
	}
}

// TestProfileDiff: against an earlier profile, frames that took a larger share are red,
// smaller blue, the same grey, and the largest changes are listed with their points.
func TestProfileDiff(t *testing.T) {
	down := "http://" + proctest.FreePort(t)
	base, target := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	srv := newTestServer(t, profilesES(map[string]string{base: cpuProfileOf(t, 60, 30, 10), target: cpuProfileOf(t, 20, 70, 10)}, time.Now()), down, down)
	code, body := get(t, srv.URL+"/profiles/diff?base="+base+"&target="+target)
	if code != http.StatusOK {
		t.Fatalf("diff: %d", code)
	}
	for _, want := range []string{
		`<title>recsvc.walk — 70</title><rect`, `fill="rgb(255,60,60)"`, // walk: 30% → 70%, red at full
		`<title>recsvc.score — 20</title><rect`, `fill="rgb(60,60,255)"`, // score: 60% → 20%, blue at full
		`<title>recsvc.handle — 100</title>`, `fill="rgb(235,235,235)"`, // handle: 100% both
		"<td>30.0%</td><td>70.0%</td><td>&#43;40.0</td><td><code>recsvc.geo</code>", // html/template escapes "+"
		"<td>60.0%</td><td>20.0%</td><td>-40.0</td><td><code>recsvc.infer</code>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the diff lacks %q", want)
		}
	}
	if code, _ := get(t, srv.URL+"/profiles/diff?base=x%20y&target="+target); code != http.StatusBadRequest {
		t.Errorf("a bad base id: %d", code)
	}
	if code, _ := get(t, srv.URL+"/profiles/diff?base=cccccccccccccccccccccccccccccccc&target="+target); code != http.StatusNotFound {
		t.Errorf("an unknown base: %d", code)
	}
}
