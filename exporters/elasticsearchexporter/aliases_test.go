package elasticsearchexporter

import (
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/component"
)

type (
	componentTypeT = component.Type
	esCountRequest = esapi.CountRequest
	esResponse     = esapi.Response
)
