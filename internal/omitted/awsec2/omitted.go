// Package ec2 stands in for go.opentelemetry.io/contrib/detectors/aws/ec2/v2 in the recobs
// distributions (the root go.mod replaces it; see ../README.md): it keeps the API the collector
// core links, and detects nothing.
package ec2 // import "go.opentelemetry.io/contrib/detectors/aws/ec2/v2"

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/sdk/resource"
)

// NewResourceDetector returns the omitted AWS EC2 detector.
func NewResourceDetector() resource.Detector { return omitted{} }

type omitted struct{}

// Detect fails, so a collector configured to use the aws.ec2 detector fails at start, saying why.
func (omitted) Detect(context.Context) (*resource.Resource, error) {
	return nil, errors.New(`service::telemetry::resource::detection/development::detectors: "aws.ec2" (AWS EC2 metadata) is not built into the recobs distributions; set the attributes under service::telemetry::resource instead`)
}
