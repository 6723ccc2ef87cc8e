package explorer // import "github.com/recobs/recobs/explorer"

import (
	"encoding/json"
	"fmt"
)

// panel is one of the Grafana dashboard's panels: its title, unit and PromQL.
type panel struct {
	Section string
	Title   string
	Unit    string
	Exprs   []string
}

// dashboardPanels reads the panels of deploy/grafana/recobs-dashboard.json in order, each
// under the row it follows.
func dashboardPanels(raw []byte) ([]panel, error) {
	var d struct {
		Panels []struct {
			Type        string `json:"type"`
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit string `json:"unit"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var out []panel
	section := ""
	for _, p := range d.Panels {
		if p.Type == "row" {
			section = p.Title
			continue
		}
		pn := panel{Section: section, Title: p.Title, Unit: p.FieldConfig.Defaults.Unit}
		for _, t := range p.Targets {
			if t.Expr != "" {
				pn.Exprs = append(pn.Exprs, t.Expr)
			}
		}
		if len(pn.Exprs) > 0 {
			out = append(out, pn)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard: no panel with a query")
	}
	return out, nil
}
