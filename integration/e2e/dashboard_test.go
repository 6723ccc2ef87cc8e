package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/recobs/recobs/internal/testutil/proctest"
)

type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// dashboardMetrics parses every query of the Grafana dashboard with Prometheus' own PromQL
// parser and returns the metric names they select.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/grafana/recobs-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	names := map[string]bool{}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, panel := range ps {
			for _, target := range panel.Targets {
				expr, err := p.ParseExpr(target.Expr)
				if err != nil {
					t.Errorf("panel %q: %q does not parse: %v", panel.Title, target.Expr, err)
					continue
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
						names[vs.Name] = true
					}
					return nil
				})
			}
			walk(panel.Panels)
		}
	}
	walk(d.Panels)
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestDashboardQueriesParse(t *testing.T) {
	if names := dashboardMetrics(t); len(names) < 10 {
		t.Fatalf("the dashboard selects only %v", names)
	}
}

// checkDashboardMetricsExist: after a run, every metric the dashboard queries is in Prometheus.
func checkDashboardMetricsExist(t *testing.T, promURL string) {
	t.Helper()
	now := time.Now().Unix()
	for _, name := range dashboardMetrics(t) {
		q := url.Values{"match[]": {name}, "start": {fmt.Sprint(now - 3600)}, "end": {fmt.Sprint(now + 60)}}
		var r struct {
			Data []map[string]string `json:"data"`
		}
		if err := proctest.GetJSON(promURL+"/api/v1/series?"+q.Encode(), &r); err != nil || len(r.Data) == 0 {
			t.Errorf("the dashboard queries %s, which is not in Prometheus (%v)", name, err)
		}
	}
}
