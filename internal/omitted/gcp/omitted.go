// Package gcp stands in for go.opentelemetry.io/contrib/detectors/gcp in the recobs
// distributions (the root go.mod replaces it; see ../README.md): it keeps the API the collector
// core links, and detects nothing.
package gcp // import "go.opentelemetry.io/contrib/detectors/gcp"

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/sdk/resource"
)

// NewDetector returns the omitted Google Cloud detector.
func NewDetector() resource.Detector { return omitted{} }

type omitted struct{}

// Detect fails, so a collector configured to use the gcp detector fails at start, saying why.
func (omitted) Detect(context.Context) (*resource.Resource, error) {
	return nil, errors.New(`service::telemetry::resource::detection/development::detectors: "gcp" (Google Cloud metadata) is not built into the recobs distributions; set the attributes under service::telemetry::resource instead`)
}
