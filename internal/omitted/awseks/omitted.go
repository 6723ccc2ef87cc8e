// Package eks stands in for go.opentelemetry.io/contrib/detectors/aws/eks in the recobs
// distributions (the root go.mod replaces it; see ../README.md): it keeps the API the collector
// core links, and detects nothing.
package eks // import "go.opentelemetry.io/contrib/detectors/aws/eks"

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/sdk/resource"
)

// NewResourceDetector returns the omitted AWS EKS detector.
func NewResourceDetector() resource.Detector { return omitted{} }

type omitted struct{}

// Detect fails, so a collector configured to use the aws.eks detector fails at start, saying why.
func (omitted) Detect(context.Context) (*resource.Resource, error) {
	return nil, errors.New(`service::telemetry::resource::detection/development::detectors: "aws.eks" (AWS EKS, with the Kubernetes client) is not built into the recobs distributions; set the attributes under service::telemetry::resource instead`)
}
