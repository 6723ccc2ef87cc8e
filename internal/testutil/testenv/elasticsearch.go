package testenv // import "github.com/recobs/recobs/internal/testutil/testenv"

import (
	"net/url"
	"testing"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// ElasticsearchAPI is a client of the Elasticsearch at rawURL: esapi's requests on
// go-elasticsearch's transport, as the exporter sends them. Not elasticsearch.NewClient: it
// links the typed client, whose ~850 packages take minutes of a cold build.
func ElasticsearchAPI(tb testing.TB, rawURL string) *esapi.API {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	tp, err := elastictransport.New(elastictransport.Config{URLs: []*url.URL{u}})
	if err != nil {
		tb.Fatal(err)
	}
	return esapi.New(tp)
}
