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
// under the row it follows. A target whose unit a field override changes (the click-through
// rate beside the inference time: a ratio on a panel of seconds) becomes a panel of its own,
// titled by its legend, since the explorer's charts have one axis.
func dashboardPanels(raw []byte) ([]panel, error) {
	var d struct {
		Panels []struct {
			Type        string `json:"type"`
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit string `json:"unit"`
				} `json:"defaults"`
				Overrides []struct {
					Matcher struct {
						ID      string `json:"id"`
						Options string `json:"options"`
					} `json:"matcher"`
					Properties []struct {
						ID    string `json:"id"`
						Value any    `json:"value"`
					} `json:"properties"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
			Targets []struct {
				RefID  string `json:"refId"`
				Expr   string `json:"expr"`
				Legend string `json:"legendFormat"`
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
		unitOf := map[string]string{} // refId → its overridden unit
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if u, ok := prop.Value.(string); ok && prop.ID == "unit" && o.Matcher.ID == "byFrameRefID" {
					unitOf[o.Matcher.Options] = u
				}
			}
		}
		pn := panel{Section: section, Title: p.Title, Unit: p.FieldConfig.Defaults.Unit}
		var own []panel
		for _, t := range p.Targets {
			switch u, ok := unitOf[t.RefID]; {
			case t.Expr == "":
			case ok && u != pn.Unit:
				title := t.Legend
				if title == "" {
					title = t.Expr
				}
				own = append(own, panel{Section: section, Title: p.Title + ": " + title, Unit: u, Exprs: []string{t.Expr}})
			default:
				pn.Exprs = append(pn.Exprs, t.Expr)
			}
		}
		if len(pn.Exprs) > 0 {
			out = append(out, pn)
		}
		out = append(out, own...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard: no panel with a query")
	}
	return out, nil
}
