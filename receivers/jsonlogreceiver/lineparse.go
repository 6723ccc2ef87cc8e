package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/entry"
	"github.com/valyala/fastjson"

	"github.com/recobs/recobs/internal/logschema"
)

// ParseErrorAttribute names what was wrong with a line that could not be read as the
// contract says; the line is kept (raw, as the body, when it is not JSON) and sent on.
const ParseErrorAttribute = "log.parse_error"

// Problems a line can have; several are joined with ','.
const (
	ProblemEmpty            = "empty_line"
	ProblemInvalidUTF8      = "invalid_utf8"
	ProblemNotJSON          = "not_json"
	ProblemNotObject        = "not_an_object"
	ProblemMissingTimestamp = "missing_timestamp"
	ProblemBadTimestamp     = "invalid_timestamp"
	ProblemUnknownLevel     = "unknown_level"
	ProblemMissingEvent     = "missing_event"
	ProblemBadTraceID       = "invalid_trace_id"
	ProblemBadSpanID        = "invalid_span_id"
	ProblemTruncated        = "truncated"
)

var parsers fastjson.ParserPool

// parseLine fills e from one log line and returns the problems found ("" when none).
// Every problem leaves the line's content on the entry: nothing is dropped.
func parseLine(e *entry.Entry, line string, truncated bool) string {
	var problems []string
	if truncated {
		problems = append(problems, ProblemTruncated)
	}
	if e.Attributes == nil {
		e.Attributes = map[string]any{}
	}
	if strings.TrimSpace(line) == "" {
		e.Body = line
		return join(append(problems, ProblemEmpty))
	}
	if !utf8.ValidString(line) {
		// pdata strings must be valid UTF-8 to be exported; the exact bytes stay on the record.
		e.Attributes["log.original_bytes"] = []byte(line)
		line = strings.ToValidUTF8(line, "\uFFFD")
		problems = append(problems, ProblemInvalidUTF8)
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.Parse(line)
	if err != nil {
		e.Body = line
		return join(append(problems, ProblemNotJSON))
	}
	obj, err := v.Object()
	if err != nil {
		e.Body = line
		return join(append(problems, ProblemNotObject))
	}

	if len(e.Attributes) == 0 {
		e.Attributes = make(map[string]any, obj.Len()+2)
	}
	var event, message string
	var haveTS, haveLevel bool
	obj.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		switch key {
		case logschema.Timestamp:
			haveTS = true
			s, ok := str(v)
			t, err := time.Parse(time.RFC3339Nano, s)
			if !ok || err != nil {
				e.Attributes[key] = toAny(v)
				problems = append(problems, ProblemBadTimestamp)
				return
			}
			e.Timestamp = t
		case logschema.Level:
			haveLevel = true
			s, _ := str(v)
			e.SeverityText = s
			sev, ok := severity(s)
			if !ok {
				problems = append(problems, ProblemUnknownLevel)
			}
			e.Severity = sev
		case logschema.Event:
			if s, ok := str(v); ok {
				event = s
				return
			}
			e.Attributes[key] = toAny(v)
		case "message", "msg":
			if s, ok := str(v); ok && message == "" {
				message = s
			}
			e.Attributes[key] = toAny(v)
		case logschema.TraceID:
			if b, ok := hexID(v, 16); ok {
				e.TraceID = b
				return
			}
			e.Attributes[key] = toAny(v)
			problems = append(problems, ProblemBadTraceID)
		case logschema.SpanID:
			if b, ok := hexID(v, 8); ok {
				e.SpanID = b
				return
			}
			e.Attributes[key] = toAny(v)
			problems = append(problems, ProblemBadSpanID)
		default:
			e.Attributes[key] = toAny(v)
		}
	})
	switch {
	case event != "":
		e.Body = event
	case message != "":
		e.Body = message
		problems = append(problems, ProblemMissingEvent)
	default:
		e.Body = line
		problems = append(problems, ProblemMissingEvent)
	}
	if !haveTS {
		problems = append(problems, ProblemMissingTimestamp)
	}
	if !haveLevel {
		e.Severity = entry.Default
	}
	return join(problems)
}

func join(problems []string) string { return strings.Join(problems, ",") }

func str(v *fastjson.Value) (string, bool) {
	b, err := v.StringBytes()
	if err != nil {
		return "", false
	}
	return string(b), true
}

// hexID decodes a trace or span id; the all-zero id is as invalid as a malformed one.
func hexID(v *fastjson.Value, n int) ([]byte, bool) {
	b, err := v.StringBytes()
	if err != nil || len(b) != 2*n {
		return nil, false
	}
	out := make([]byte, n)
	if _, err := hex.Decode(out, b); err != nil {
		return nil, false
	}
	for _, c := range out {
		if c != 0 {
			return out, true
		}
	}
	return nil, false
}

func severity(s string) (entry.Severity, bool) {
	switch strings.ToLower(s) {
	case "trace":
		return entry.Trace, true
	case "debug":
		return entry.Debug, true
	case "info", "information", "notice":
		return entry.Info, true
	case "warn", "warning":
		return entry.Warn, true
	case "error", "err":
		return entry.Error, true
	case "fatal", "critical", "crit", "panic":
		return entry.Fatal, true
	}
	return entry.Default, false
}

// toAny converts a JSON value to what pdata attributes hold. Nested objects stay nested
// maps: Elasticsearch maps them as objects (location → geo_point, exception → error.*) and
// Kibana shows their dotted paths, which flattening here would only obscure.
func toAny(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, v *fastjson.Value) { m[string(k)] = toAny(v) })
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i := range a {
			out[i] = toAny(a[i])
		}
		return out
	case fastjson.TypeString:
		s, _ := str(v)
		return s
	case fastjson.TypeNumber:
		if raw := v.String(); !strings.ContainsAny(raw, ".eE") {
			if n, err := v.Int64(); err == nil {
				return n
			}
		}
		f, _ := v.Float64()
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}
