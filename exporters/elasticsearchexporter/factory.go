package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/recobs/recobs/exporters/elasticsearchexporter/internal/metadata"
)

// NewFactory returns the exporter factory for the collector builder.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	queue := exporterhelper.NewDefaultQueueConfig()
	// Losing logs while Elasticsearch is down is the failure we exist to prevent: a full
	// queue pushes back on the pipeline instead of dropping.
	queue.BlockOnOverflow = true
	// Counted in records, and batched by default: one record a _bulk request would cost
	// Elasticsearch a request per log line. 50,000 records in memory (about 50 MB of recsvc's
	// lines at worst); with storage set the queue is on disk and can be much larger.
	queue.Sizer = exporterhelper.RequestSizerTypeItems
	queue.QueueSize = 50_000
	queue.NumConsumers = 4
	batch := exporterhelper.NewDefaultBatchConfig() // keeps its partition defaults
	batch.FlushTimeout, batch.Sizer, batch.MinSize, batch.MaxSize = time.Second, exporterhelper.RequestSizerTypeItems, 1_000, 5_000
	queue.Batch = configoptional.Some(batch)
	// A bulk of up to bulk_max_bytes against a busy cluster: contrib's exporter allows 90 s;
	// the collector's default of 5 s would retry bulks Elasticsearch is still indexing.
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = 90 * time.Second
	backoff := configretry.NewDefaultBackOffConfig()
	backoff.MaxElapsedTime = 0 // retry until delivered; the queue bounds memory
	return &Config{
		Endpoints:       []string{"http://127.0.0.1:9200"},
		Index:           "recommendations-%{+YYYY.MM.dd}",
		DeadLetterIndex: "recommendations-dead-letter",
		// Elasticsearch's guidance is 5–15 MB a bulk; its own hard limit is 100 MB.
		BulkMaxBytes: 8 << 20,
		// 30 days back covers a long outage's backlog in its own days' indices; a day ahead,
		// clocks that run fast.
		IndexTimeWindow: IndexTimeWindowConfig{Past: 30 * 24 * time.Hour, Future: 24 * time.Hour},
		Template:        NewDefaultTemplateConfig(),
		Compression:     "gzip",
		Timeout:         timeout,
		Queue:           configoptional.Some(queue),
		Retry:           backoff,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.Timeout),
		exporterhelper.WithQueue(c.Queue),
		exporterhelper.WithRetry(c.Retry),
	)
}

// NewDefaultTemplateConfig is the index template of the default daily indices: named
// recommendations, one shard, one replica.
func NewDefaultTemplateConfig() TemplateConfig {
	return TemplateConfig{Name: "recommendations", Shards: 1, Replicas: 1}
}
