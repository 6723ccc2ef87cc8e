package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"context"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

// NewFactory returns the receiver factory for the collector builder.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	in := fileconsumer.NewConfig()
	// A service's log is read from its first line: lines written before the sidecar
	// came up are part of the record too.
	in.StartAt = "beginning"
	in.IncludeFileName = true
	// The line's byte offset: where to find it in the file, and the order of a file's lines
	// in Kibana when timestamps tie or are missing.
	in.IncludeFileRecordOffset = true
	// A line is kept exactly as written (but its newline): the parser ignores whitespace
	// around JSON, and a non-JSON line is kept raw.
	in.TrimConfig.PreserveLeading, in.TrimConfig.PreserveTrailing = true, true
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = 100 * time.Millisecond
	retry.MaxInterval = 5 * time.Second
	retry.MaxElapsedTime = 0
	return &Config{InputConfig: *in, IncludeRotated: true, Retry: retry, ServiceName: "recsvc", Fields: NewDefaultFieldsConfig(),
		Continuation: NewDefaultContinuationConfig(), Socket: configoptional.Default(NewDefaultSocketConfig())}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}

// NewDefaultSocketConfig is the socket input's configuration once `socket:` is set: TCP on
// 127.0.0.1:54525, at most 64 connections, lines handed on every 200 ms, a connection silent
// for 5 minutes closed, 8 MiB of lines held in batches across all connections.
func NewDefaultSocketConfig() SocketConfig {
	return SocketConfig{AddrConfig: confignet.AddrConfig{Endpoint: "127.0.0.1:54525", Transport: confignet.TransportTypeTCP},
		FlushInterval: 200 * time.Millisecond, MaxConnections: 64, IdleTimeout: 5 * time.Minute, MaxBufferedBytes: 8 << 20}
}
