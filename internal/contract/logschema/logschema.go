// Package logschema is the contract between recsvc, which writes its JSON log lines, and the
// json_log receiver, which reads them: the field names, levels and categories, defined once.
// testdata/lines.jsonl holds sample lines both sides test against.
package logschema // import "github.com/recobs/recobs/internal/contract/logschema"

// Field names of a log line, in the shape of structlog's JSON renderer.
const (
	Timestamp = "timestamp" // RFC 3339, UTC, millisecond precision: 2026-11-27T10:00:00.123Z
	Level     = "level"
	Logger    = "logger"
	Event     = "event"
	Category  = "category"
	Exception = "exception" // object: {type, message, stack}

	RequestID = "request_id"
	TraceID   = "trace_id" // 32 lowercase hex digits
	SpanID    = "span_id"  // 16 lowercase hex digits
	// CorrelationID is the seed's correlation field: the span context's trace id as the
	// decimal integer Python holds it in (span_context.trace_id). recsvc does not write it;
	// services written the seed's way do, and the sidecar reads it as their trace id.
	CorrelationID = "correlation_id"

	ExceptionType    = "type"
	ExceptionMessage = "message"
	ExceptionStack   = "stack"
)

// RecordPosition is the attribute the sidecar's request_correlation processor puts on a log
// record that has no log.record.uid (OTLP): its place among the records of the request it
// came in. The Elasticsearch exporter derives such a record's _id from its content and this
// place, so identical records of one request are kept apart while the same request sent again
// by a retrying client is stored once. It never reaches a stored document.
const RecordPosition = "recobs.record.position"

// TimestampLayout is the Go layout of Timestamp.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Level values, lowercase as structlog writes them.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
	LevelFatal = "fatal"
)

// Category values (the seed's five).
const (
	CategoryBusiness       = "business"
	CategoryPerformance    = "performance"
	CategorySecurity       = "security"
	CategoryInfrastructure = "infrastructure"
	CategoryML             = "ml"
)

// Categories lists every category value.
var Categories = []string{CategoryBusiness, CategoryPerformance, CategorySecurity, CategoryInfrastructure, CategoryML}

// Event names recsvc writes.
const (
	EventRecommendationRequest = "recommendation_request"
	EventRequestFailed         = "request_failed"
	EventInvalidRequest        = "invalid_request"
	// A click on a result, under the clicked request's request_id, trace_id and span_id;
	// the feedback call's own ids are feedback_request_id, feedback_trace_id, feedback_span_id.
	EventRecommendationClick = "recommendation_click"
	EventClickDuplicate      = "click_duplicate" // the same result of the same response clicked again: not counted
	EventInvalidFeedback     = "invalid_feedback"
)
