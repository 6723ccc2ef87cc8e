package elasticsearchexporter

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestKibanaSavedObjectsMatchTheExporter: the shipped data view covers the exporter's
// indices, and every column the saved searches show is a field the template maps.
func TestKibanaSavedObjectsMatchTheExporter(t *testing.T) {
	f, err := os.Open("../../deploy/kibana/recobs-saved-objects.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := createDefaultConfig().(*Config)
	pattern, _ := parseIndexPattern(cfg.Index)
	body, _ := indexTemplate(cfg.Template, []string{pattern.wildcard()})
	var tmpl struct {
		Template struct {
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(body, &tmpl); err != nil {
		t.Fatal(err)
	}
	mapped := func(field string) bool {
		if strings.HasPrefix(field, "attributes.") {
			return true // mapped by the dynamic templates
		}
		top := strings.SplitN(field, ".", 2)[0]
		_, ok := tmpl.Template.Mappings.Properties[top]
		return ok
	}

	views := map[string]string{}
	var searches []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("not a saved object: %v", err)
		}
		attrs := o["attributes"].(map[string]any)
		switch o["type"] {
		case "index-pattern":
			views[o["id"].(string)] = attrs["title"].(string)
			if attrs["timeFieldName"] != "@timestamp" {
				t.Errorf("data view time field %v", attrs["timeFieldName"])
			}
		case "search":
			searches = append(searches, o)
		}
	}
	if len(views) != 1 || len(searches) != 2 {
		t.Fatalf("want one data view and two searches, got %v and %d", views, len(searches))
	}
	for _, title := range views {
		if title != pattern.wildcard() {
			t.Errorf("data view %q does not match the exporter's indices %q", title, pattern.wildcard())
		}
	}
	for _, s := range searches {
		refs := s["references"].([]any)
		if len(refs) != 1 || views[refs[0].(map[string]any)["id"].(string)] == "" {
			t.Errorf("%v: reference to an unknown data view", s["id"])
		}
		for _, c := range s["attributes"].(map[string]any)["columns"].([]any) {
			if !mapped(c.(string)) {
				t.Errorf("%v shows column %v, which the index template does not map", s["id"], c)
			}
		}
	}
}
