module go.opentelemetry.io/contrib/detectors/aws/eks

go 1.26

require go.opentelemetry.io/otel/sdk v1.47.0
