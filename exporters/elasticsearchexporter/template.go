package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"encoding/json"
)

// templateVersion is bumped whenever the mapping below changes; the exporter installs the
// template when the cluster holds an older version (or none).
const templateVersion = 3

// indexTemplate returns the composable index template for the daily indices.
//
// Fixed fields get fixed types. Unknown attributes are mapped by value type through dynamic
// templates (strings → keyword, every number → double so an int and a float never clash —
// an integer past 2^53 is written as its digits, a keyword, so a double never rounds it —
// booleans → boolean), with ignore_malformed so a value of the wrong type is kept in _source
// and skipped by the index rather than rejecting the document, and fields past the limit are
// ignored rather than failing the write.
func indexTemplate(cfg TemplateConfig, patterns []string) ([]byte, error) {
	keyword := map[string]any{"type": "keyword", "ignore_above": 1024}
	t := map[string]any{
		"index_patterns": patterns,
		"priority":       200,
		"version":        templateVersion,
		"_meta":          map[string]any{"managed_by": "recobs elasticsearch exporter"},
		"template": map[string]any{
			"settings": map[string]any{
				"index": map[string]any{
					"number_of_shards":   cfg.Shards,
					"number_of_replicas": cfg.Replicas,
					"refresh_interval":   "1s",
					"mapping": map[string]any{
						"ignore_malformed": true,
						"total_fields": map[string]any{
							"limit":                       2000,
							"ignore_dynamic_beyond_limit": true,
						},
					},
				},
			},
			"mappings": map[string]any{
				"dynamic": true,
				"dynamic_templates": []any{
					map[string]any{"numbers_as_double": map[string]any{
						"match_mapping_type": []string{"long", "double"},
						"mapping":            map[string]any{"type": "double"},
					}},
					map[string]any{"strings_as_keyword": map[string]any{
						"match_mapping_type": "string",
						"mapping":            keyword,
					}},
				},
				"properties": map[string]any{
					"@timestamp": map[string]any{"type": "date_nanos"},
					"message":    map[string]any{"type": "text", "fields": map[string]any{"keyword": keyword}},
					"event":      keyword,
					"category":   keyword,
					"tags":       keyword,
					"request_id": keyword,
					"log":        map[string]any{"properties": map[string]any{"level": keyword, "severity_number": map[string]any{"type": "integer"}, "logger": keyword, "offset": map[string]any{"type": "long"}, "parse_error": keyword, "continuation": map[string]any{"type": "text"}, "index_time_out_of_window": map[string]any{"type": "boolean"}, "file": map[string]any{"properties": map[string]any{"name": keyword, "path": keyword}}}},
					"trace":      map[string]any{"properties": map[string]any{"id": keyword}},
					"span":       map[string]any{"properties": map[string]any{"id": keyword}},
					"service":    map[string]any{"properties": map[string]any{"name": keyword, "version": keyword, "namespace": keyword, "instance": map[string]any{"properties": map[string]any{"id": keyword}}}},
					"host":       map[string]any{"properties": map[string]any{"name": keyword}},
					"user":       map[string]any{"properties": map[string]any{"id": keyword}},
					"scope":      map[string]any{"properties": map[string]any{"name": keyword}},
					"deployment": map[string]any{"properties": map[string]any{"environment": keyword}},
					"location":   map[string]any{"type": "geo_point"},
					"error":      map[string]any{"properties": map[string]any{"type": keyword, "message": map[string]any{"type": "text"}, "stack_trace": map[string]any{"type": "text", "index": false}}},
					"attributes": map[string]any{"type": "object", "dynamic": true},
					"resource":   map[string]any{"type": "object", "dynamic": true},
				},
			},
		},
	}
	return json.Marshal(t)
}

// deadLetterTemplate keeps the rejected document as an unindexed string: the dead-letter
// index must accept anything the daily index refused.
func deadLetterTemplate(cfg TemplateConfig, index string) ([]byte, error) {
	keyword := map[string]any{"type": "keyword", "ignore_above": 1024}
	return json.Marshal(map[string]any{
		"index_patterns": []string{index},
		// Above the daily template, whose wildcard usually matches this name too.
		"priority": 201,
		"version":  templateVersion,
		"template": map[string]any{
			"settings": map[string]any{"index": map[string]any{"number_of_shards": 1, "number_of_replicas": cfg.Replicas}},
			"mappings": map[string]any{
				"dynamic": false,
				"properties": map[string]any{
					"@timestamp":     map[string]any{"type": "date"},
					"original_index": keyword,
					"original_id":    keyword,
					"status":         map[string]any{"type": "integer"},
					"error":          map[string]any{"properties": map[string]any{"type": keyword, "reason": map[string]any{"type": "text"}}},
					"document":       map[string]any{"type": "text", "index": false},
				},
			},
		},
	})
}
