module go.opentelemetry.io/contrib/detectors/azure/azurevm

go 1.26

require go.opentelemetry.io/otel/sdk v1.47.0
