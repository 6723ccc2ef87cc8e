// Package azurevm stands in for go.opentelemetry.io/contrib/detectors/azure/azurevm in the recobs
// distributions (the root go.mod replaces it; see ../README.md): it keeps the API the collector
// core links, and detects nothing.
package azurevm // import "go.opentelemetry.io/contrib/detectors/azure/azurevm"

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/sdk/resource"
)

// ResourceDetector is the omitted Azure VM detector.
type ResourceDetector struct{ omitted }

// New returns the omitted Azure VM detector.
func New() *ResourceDetector { return &ResourceDetector{} }

type omitted struct{}

// Detect fails, so a collector configured to use the azure.vm detector fails at start, saying why.
func (omitted) Detect(context.Context) (*resource.Resource, error) {
	return nil, errors.New(`service::telemetry::resource::detection/development::detectors: "azure.vm" (Azure VM metadata) is not built into the recobs distributions; set the attributes under service::telemetry::resource instead`)
}
