// Package grafana holds the Grafana dashboard every view of recobs' metrics is drawn from: the
// file Grafana provisions, and the panels the request explorer renders from the same PromQL
// (one source of truth for the queries, so the two cannot drift).
package grafana // import "github.com/recobs/recobs/deploy/grafana"

import _ "embed"

// Dashboard is recobs-dashboard.json.
//
//go:embed recobs-dashboard.json
var Dashboard []byte
