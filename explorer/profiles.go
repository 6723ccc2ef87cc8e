package explorer // import "github.com/recobs/recobs/explorer"

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/pprof/profile"

	"github.com/recobs/recobs/internal/profilesummary"
)

// profileDoc is a profile's document as the list shows it (its data left in Elasticsearch).
type profileDoc struct {
	ID         string
	Time       time.Time
	Service    string
	Instance   string
	Type       string
	SampleType string
	DurationMs float64
	Samples    int64
	Bytes      int64
	data       string // base64 gzipped pprof; only when asked for
}

type profileHit struct {
	ID     string `json:"_id"`
	Source struct {
		Timestamp string         `json:"@timestamp"`
		Service   string         `json:"service.name"`
		Instance  string         `json:"service.instance.id"`
		Attrs     map[string]any `json:"attributes"`
	} `json:"_source"`
}

func (h profileHit) doc() profileDoc {
	a := h.Source.Attrs
	str := func(k string) string { v, _ := a[k].(string); return v }
	num := func(k string) float64 { v, _ := a[k].(float64); return v }
	t, _ := time.Parse(time.RFC3339Nano, h.Source.Timestamp)
	return profileDoc{ID: h.ID, Time: t, Service: h.Source.Service, Instance: h.Source.Instance, Type: str("profile.type"),
		SampleType: str("profile.sample_type"), DurationMs: num("profile.duration_ms"), Samples: int64(num("profile.samples")),
		Bytes: int64(num("profile.bytes")), data: str("profile.data")}
}

// profileTypes are the types the list filters on (the receiver's).
var profileTypes = []string{"cpu", "heap", "allocs", "goroutine", "mutex", "block"}

// searchProfiles runs a query on the profiles indices; withData fetches the profile too.
func (s *Server) searchProfiles(ctx context.Context, query map[string]any, size int, withData bool) ([]profileDoc, error) {
	body := map[string]any{"size": size, "query": query, "sort": []any{map[string]any{"@timestamp": map[string]any{"order": "desc"}}}}
	if !withData {
		body["_source"] = map[string]any{"excludes": []string{"attributes.profile.data", "attributes.profile.top_self", "attributes.profile.top_total"}}
	}
	var r struct {
		Hits struct{ Hits []profileHit } `json:"hits"`
	}
	u := s.cfg.ElasticsearchURL + "/" + url.PathEscape(s.cfg.ProfilesIndex) + "/_search?ignore_unavailable=true&allow_no_indices=true"
	if err := s.do(ctx, "Elasticsearch", http.MethodPost, u, body, &r); err != nil {
		return nil, err
	}
	out := make([]profileDoc, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		out = append(out, h.doc())
	}
	return out, nil
}

type profilesData struct {
	Type     string
	Types    []string
	Minutes  int
	Rows     []profileDoc
	Previous []string // for each row, the id of the same instance's profile before it ("" none)
	BadInput string
}

// profiles lists the latest profiles of a type; with ?at= (a request's time) it opens the
// CPU profile that covers that moment, or says there is none.
func (s *Server) profiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := page{Title: "Profiles", Nav: "profiles"}
	d := profilesData{Type: "cpu", Types: profileTypes, Minutes: 60}
	if v := q.Get("type"); v != "" {
		if !slices.Contains(profileTypes, v) {
			d.BadInput = fmt.Sprintf("type: one of %v", profileTypes)
		}
		d.Type = v
	}
	if v := q.Get("minutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 7*24*60 {
			d.BadInput = "minutes: from 1 to 10080"
		}
		d.Minutes = n
	}
	var at time.Time
	if v := q.Get("at"); v != "" {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, v); err != nil {
			d.BadInput = "at: an RFC 3339 time"
		}
	}
	if d.BadInput != "" {
		s.render(w, "profiles", http.StatusBadRequest, page{Title: "Profiles", Nav: "profiles", Data: d})
		return
	}
	if !at.IsZero() {
		// The CPU profile whose window holds the moment: it started at most a window before.
		docs, err := s.searchProfiles(r.Context(), map[string]any{"bool": map[string]any{"filter": []any{
			term("attributes.profile.type", "cpu"),
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"lte": at.Format(time.RFC3339Nano), "gte": at.Add(-10 * time.Minute).Format(time.RFC3339Nano)}}},
		}}}, 20, false)
		problem(&p, err)
		for _, doc := range docs {
			if !at.After(doc.Time.Add(time.Duration(doc.DurationMs * float64(time.Millisecond)))) {
				target := "/profiles/" + url.PathEscape(doc.ID)
				if st := q.Get("stage"); st != "" {
					target += "?stage=" + url.QueryEscape(st)
				}
				http.Redirect(w, r, target, http.StatusFound)
				return
			}
		}
		if err == nil {
			p.Problems = append(p.Problems, "no CPU profile covers "+at.Local().Format("15:04:05.000")+": CPU profiles sample part of each interval (10 s of every 60 s by default); the nearest are below")
		}
	}
	to := time.Now()
	if !at.IsZero() {
		to = at.Add(5 * time.Minute)
	}
	docs, err := s.searchProfiles(r.Context(), map[string]any{"bool": map[string]any{"filter": []any{
		term("attributes.profile.type", d.Type),
		map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": to.Add(-time.Duration(d.Minutes) * time.Minute).Format(time.RFC3339Nano), "lte": to.Format(time.RFC3339Nano)}}},
	}}}, 100, false)
	problem(&p, err)
	d.Rows = docs
	d.Previous = make([]string, len(docs))
	for i, doc := range docs { // newest first: the previous is further down
		for _, older := range docs[i+1:] {
			if older.Instance == doc.Instance {
				d.Previous[i] = older.ID
				break
			}
		}
	}
	p.Data = d
	s.render(w, "profiles", http.StatusOK, p)
}

type profileData struct {
	Doc       profileDoc
	Stage     string   // the stage label the view is filtered to ("" all)
	Stages    []string // the stages the profile has
	Search    string
	Flame     template.HTML
	Focus     []string
	FocusUp   string // the link one frame up
	Summary   profilesummary.Summary
	StageLink func(string) string
	Base      *profileDoc  // a diff: the profile compared against
	Changes   []funcChange // a diff: the functions whose share moved most
	baseProf  *profile.Profile
}

// funcChange is a function's share of the total, before and after.
type funcChange struct {
	Function      string
	Before, After float64 // percent
}

// Delta is the change in percentage points.
func (c funcChange) Delta() float64 { return c.After - c.Before }

// changes lists the n functions whose share by total moved most between two summaries.
func changes(before, after profilesummary.Summary, n int) []funcChange {
	share := func(s profilesummary.Summary) map[string]float64 {
		m := map[string]float64{}
		for _, f := range s.TopTotal {
			m[f.Function] = float64(f.Value) * 100 / float64(max(s.Total, 1))
		}
		return m
	}
	b, a := share(before), share(after)
	var out []funcChange
	for f := range b {
		out = append(out, funcChange{f, b[f], a[f]})
	}
	for f := range a {
		if _, ok := b[f]; !ok {
			out = append(out, funcChange{f, 0, a[f]})
		}
	}
	slices.SortFunc(out, func(x, y funcChange) int {
		dx, dy := math.Abs(x.Delta()), math.Abs(y.Delta())
		if dx != dy {
			return cmp.Compare(dy, dx)
		}
		return cmp.Compare(x.Function, y.Function)
	})
	return out[:min(n, len(out))]
}

// profileDiff draws ?target= colored by what changed against ?base= (e.g. the CPU profiles
// before and after a deploy).
func (s *Server) profileDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	base, target := q.Get("base"), q.Get("target")
	if !validDocID(base) || !validDocID(target) {
		s.render(w, "profiles", http.StatusBadRequest, page{Title: "Profiles", Nav: "profiles", Data: profilesData{Types: profileTypes, BadInput: "base and target: two profile ids"}})
		return
	}
	s.renderProfile(w, r, target, base)
}

// profile draws one profile: a flame graph (click a frame to zoom to it, search to highlight
// functions), filterable by recsvc's stage label, and its top functions.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validDocID(id) {
		s.render(w, "profiles", http.StatusBadRequest, page{Title: "Profiles", Nav: "profiles", Data: profilesData{Types: profileTypes, BadInput: "a profile id is 1–64 letters, digits, '-' or '_'"}})
		return
	}
	s.renderProfile(w, r, id, "")
}

// loadProfile fetches a profile's document and decodes its data.
func (s *Server) loadProfile(ctx context.Context, id string) (profileDoc, *profile.Profile, int, error) {
	docs, err := s.searchProfiles(ctx, map[string]any{"ids": map[string]any{"values": []string{id}}}, 1, true)
	if err != nil {
		return profileDoc{}, nil, http.StatusOK, err
	}
	if len(docs) == 0 {
		return profileDoc{}, nil, http.StatusNotFound, errors.New("Elasticsearch has no profile " + id)
	}
	raw, err := base64.StdEncoding.DecodeString(docs[0].data)
	var prof *profile.Profile
	if err == nil {
		prof, err = profile.ParseData(raw)
	}
	if err != nil {
		return docs[0], nil, http.StatusOK, fmt.Errorf("profile %s does not decode: %w", id, err)
	}
	return docs[0], prof, http.StatusOK, nil
}

// renderProfile draws profile id, colored against profile baseID when one is given.
func (s *Server) renderProfile(w http.ResponseWriter, r *http.Request, id, baseID string) {
	q := r.URL.Query()
	p := page{Title: "Profile", Nav: "profiles"}
	doc, prof, status, err := s.loadProfile(r.Context(), id)
	if err != nil {
		problem(&p, err)
		s.render(w, "profile", status, p)
		return
	}
	d := profileData{Doc: doc, Stage: q.Get("stage"), Search: q.Get("search"), Focus: focusPath(q.Get("focus"))}
	if baseID != "" {
		baseDoc, baseProf, status, err := s.loadProfile(r.Context(), baseID)
		if err != nil {
			problem(&p, err)
			s.render(w, "profile", status, p)
			return
		}
		d.Base, d.baseProf = &baseDoc, baseProf
	}
	var keep func(*profile.Sample) bool
	if d.Stage != "" {
		keep = func(smp *profile.Sample) bool { return profilesummary.Stage(smp) == d.Stage }
	}
	d.Summary = profilesummary.Summarize(prof, 30, keep)
	idx := profilesummary.SampleIndex(prof)
	for _, smp := range prof.Sample { // every stage with a value, whichever the view keeps
		if st := profilesummary.Stage(smp); st != "" && idx >= 0 && smp.Value[idx] != 0 && !slices.Contains(d.Stages, st) {
			d.Stages = append(d.Stages, st)
		}
	}
	slices.Sort(d.Stages)
	root := buildFlame(prof, keep)
	focused := root.find(d.Focus)
	if focused == nil {
		focused, d.Focus = root, nil
	}
	var color func([]string, *flameNode) string
	if d.Base != nil {
		baseRoot := buildFlame(d.baseProf, keep)
		color = diffColor(baseRoot, root)
		d.Changes = changes(profilesummary.Summarize(d.baseProf, 1000, keep), profilesummary.Summarize(prof, 1000, keep), 20)
	}
	d.Flame = flameSVG(focused, d.Focus, d.Search, func(path []string) string { return focusQuery(q, path) }, color)
	if len(d.Focus) > 0 {
		d.FocusUp = focusQuery(q, d.Focus[:len(d.Focus)-1])
	}
	d.StageLink = func(st string) string {
		v := url.Values{}
		if d.Base != nil {
			v.Set("base", d.Base.ID)
			v.Set("target", d.Doc.ID)
		}
		if st != "" {
			v.Set("stage", st)
		}
		return "?" + v.Encode()
	}
	p.Title, p.Data = d.Doc.Type+" profile · "+d.Doc.Time.Local().Format("15:04:05"), d
	s.render(w, "profile", http.StatusOK, p)
}

// validDocID accepts the ids the receiver makes (32 hex digits) and Elasticsearch's own.
func validDocID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
