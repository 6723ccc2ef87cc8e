package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/contract/logschema"
)

// FieldsConfig names the top-level fields of a line that become the record's own fields
// rather than attributes. The defaults read recsvc's contract (internal/contract/logschema); another
// writer's JSON (zap, logrus, pino, Serilog, …) is read by naming its fields here.
type FieldsConfig struct {
	// Timestamp is the field holding the time the line was written, and its layout.
	Timestamp TimestampFieldConfig `mapstructure:"timestamp"`
	// Severity is the field holding the level, and extra values that name each level.
	Severity SeverityFieldConfig `mapstructure:"severity"`
	// Event is the field whose string becomes the body. A line without it is flagged
	// missing_event (the contract requires it); empty: no such field, nothing is flagged.
	Event string `mapstructure:"event"`
	// Message are fields kept as attributes whose first present string becomes the body when
	// the line has no event.
	Message []string `mapstructure:"message"`
	// TraceID names the fields that may hold the line's trace id, the first valid one
	// winning: a string of 32 hex digits (W3C, recsvc's trace_id) or a JSON integer, the
	// trace id as a decimal number of up to 128 bits (the seed's correlation_id, written from
	// Python's span_context.trace_id). A decimal id is also kept, digits exact, as an
	// attribute under its own name; 0 (the OTel SDKs' id outside any span) means no trace
	// context and is not flagged. One name or a list.
	TraceID []string `mapstructure:"trace_id"`
	// SpanID holds the span id as 16 hex digits.
	SpanID string `mapstructure:"span_id"`
}

// TimestampFieldConfig is the timestamp field and how to read it.
type TimestampFieldConfig struct {
	// Field is the field's name.
	Field string `mapstructure:"field"`
	// LayoutType is rfc3339 (any fraction, Z or an offset; a space for the T accepted),
	// epoch (a number or a numeric string; Layout is its unit: s, ms, us or ns; seconds may
	// have a fraction) or gotime (Layout is a Go time layout, e.g. "2006-01-02 15:04:05.000").
	LayoutType string `mapstructure:"layout_type"`
	Layout     string `mapstructure:"layout"`
	// Location is the time zone of a gotime layout without an offset (an IANA name; UTC
	// when empty).
	Location string `mapstructure:"location"`
}

// SeverityFieldConfig is the severity field and the values that name each level.
type SeverityFieldConfig struct {
	// Field is the field's name.
	Field string `mapstructure:"field"`
	// Mapping adds values (compared case-insensitively; numbers as written, e.g. pino's "30")
	// to the levels trace, debug, info, warn, error and fatal, beside the names always known
	// (info, INFO, warning, err, critical, …).
	Mapping map[string][]string `mapstructure:"mapping"`
}

// Layout types of the timestamp field.
const (
	LayoutRFC3339 = "rfc3339"
	LayoutEpoch   = "epoch"
	LayoutGoTime  = "gotime"
)

// NewDefaultFieldsConfig reads recsvc's contract (internal/contract/logschema).
func NewDefaultFieldsConfig() FieldsConfig {
	return FieldsConfig{
		Timestamp: TimestampFieldConfig{Field: logschema.Timestamp, LayoutType: LayoutRFC3339},
		Severity:  SeverityFieldConfig{Field: logschema.Level},
		Event:     logschema.Event,
		Message:   []string{"message", "msg"},
		TraceID:   []string{logschema.TraceID, logschema.CorrelationID},
		SpanID:    logschema.SpanID,
	}
}

var levelNumbers = map[string]plog.SeverityNumber{
	"trace": plog.SeverityNumberTrace, "debug": plog.SeverityNumberDebug, "info": plog.SeverityNumberInfo,
	"warn": plog.SeverityNumberWarn, "error": plog.SeverityNumberError, "fatal": plog.SeverityNumberFatal,
}

var epochUnits = map[string]int64{"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1}

// validate names the field of a mapping that could not read a line (called by Config.Validate,
// so each error carries its whole path).
func (f *FieldsConfig) validate() error {
	var errs []error
	if f.Timestamp.Field == "" {
		errs = append(errs, errors.New("fields.timestamp.field: must be set"))
	}
	switch f.Timestamp.LayoutType {
	case LayoutRFC3339:
		if f.Timestamp.Layout != "" {
			errs = append(errs, errors.New("fields.timestamp.layout: not used with layout_type rfc3339"))
		}
	case LayoutEpoch:
		if _, ok := epochUnits[f.Timestamp.Layout]; !ok {
			errs = append(errs, fmt.Errorf("fields.timestamp.layout: %q is no epoch unit (s, ms, us, ns)", f.Timestamp.Layout))
		}
	case LayoutGoTime:
		if f.Timestamp.Layout == "" {
			errs = append(errs, errors.New("fields.timestamp.layout: a Go time layout is required with layout_type gotime"))
		}
		if _, err := time.LoadLocation(f.Timestamp.Location); err != nil {
			errs = append(errs, fmt.Errorf("fields.timestamp.location: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("fields.timestamp.layout_type: %q is not rfc3339, epoch or gotime", f.Timestamp.LayoutType))
	}
	if f.Timestamp.LayoutType != LayoutGoTime && f.Timestamp.Location != "" {
		errs = append(errs, errors.New("fields.timestamp.location: only used with layout_type gotime"))
	}
	if f.Severity.Field == "" {
		errs = append(errs, errors.New("fields.severity.field: must be set"))
	}
	for level, values := range f.Severity.Mapping {
		if _, ok := levelNumbers[level]; !ok {
			errs = append(errs, fmt.Errorf("fields.severity.mapping: %q is not a level (trace, debug, info, warn, error, fatal)", level))
		}
		for _, v := range values {
			if v == "" || len(v) > maxMappedValue {
				errs = append(errs, fmt.Errorf("fields.severity.mapping.%s: values must have 1 to %d bytes", level, maxMappedValue))
			}
		}
	}
	seen := map[string]string{}
	named := [][2]string{{"timestamp.field", f.Timestamp.Field}, {"severity.field", f.Severity.Field},
		{"event", f.Event}, {"span_id", f.SpanID}}
	for _, t := range f.TraceID {
		if t == "" {
			errs = append(errs, errors.New("fields.trace_id: a name must not be empty"))
		}
		named = append(named, [2]string{"trace_id", t})
	}
	for _, nf := range named {
		if nf[1] == "" {
			continue
		}
		if other, dup := seen[nf[1]]; dup {
			errs = append(errs, fmt.Errorf("fields.%s: %q is already fields.%s", nf[0], nf[1], other))
		}
		seen[nf[1]] = nf[0]
	}
	for _, m := range f.Message {
		if other, dup := seen[m]; dup || m == "" {
			errs = append(errs, fmt.Errorf("fields.message: %q is empty or already fields.%s", m, other))
		}
	}
	return errors.Join(errs...)
}

// maxMappedValue bounds a severity mapping value (the lookup lowercases into a stack buffer).
const maxMappedValue = 32

// fieldSpec is a validated FieldsConfig, ready for the parser.
type fieldSpec struct {
	timestamp, severity, event, spanID string
	traceIDs, message                  []string
	layoutType                         string
	epochUnit                          int64
	goLayout                           string
	location                           *time.Location
	// levels maps lowercased severity values to their number, beyond the built-in names.
	levels map[string]plog.SeverityNumber
}

func newFieldSpec(f FieldsConfig) *fieldSpec {
	s := &fieldSpec{timestamp: f.Timestamp.Field, severity: f.Severity.Field, event: f.Event, traceIDs: f.TraceID,
		spanID: f.SpanID, message: f.Message, layoutType: f.Timestamp.LayoutType, goLayout: f.Timestamp.Layout,
		epochUnit: epochUnits[f.Timestamp.Layout], location: time.UTC}
	if loc, err := time.LoadLocation(f.Timestamp.Location); err == nil && f.Timestamp.Location != "" {
		s.location = loc
	}
	for level, values := range f.Severity.Mapping {
		if s.levels == nil {
			s.levels = map[string]plog.SeverityNumber{}
		}
		for _, v := range values {
			s.levels[strings.ToLower(v)] = levelNumbers[level]
		}
	}
	return s
}

var defaultFieldSpec = newFieldSpec(NewDefaultFieldsConfig())

// fieldKind is what a top-level key of a line is to the record.
type fieldKind uint8

const (
	fieldAttribute fieldKind = iota
	fieldTimestamp
	fieldSeverity
	fieldEvent
	fieldMessage
	fieldTraceID
	fieldSpanID
)

// kindOf classifies key k (comparisons of a converted []byte do not allocate).
func (s *fieldSpec) kindOf(k []byte) fieldKind {
	if len(k) == 0 { // an unset name (event: "") never matches
		return fieldAttribute
	}
	switch string(k) {
	case s.timestamp:
		return fieldTimestamp
	case s.severity:
		return fieldSeverity
	case s.event:
		return fieldEvent
	case s.spanID:
		return fieldSpanID
	}
	for _, t := range s.traceIDs {
		if string(k) == t {
			return fieldTraceID
		}
	}
	for _, m := range s.message {
		if string(k) == m {
			return fieldMessage
		}
	}
	return fieldAttribute
}

// level returns the severity a level value names: the mapping first, then the built-in names.
func (s *fieldSpec) level(v []byte) (plog.SeverityNumber, bool) {
	if s.levels != nil && len(v) <= maxMappedValue {
		var lower [maxMappedValue]byte
		for i, c := range v {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		if n, ok := s.levels[string(lower[:len(v)])]; ok {
			return n, true
		}
	}
	return severity(v)
}

// timestampOf reads a string timestamp in the configured layout.
func (s *fieldSpec) timestampOf(v []byte) (pcommon.Timestamp, bool) {
	switch s.layoutType {
	case LayoutEpoch:
		return s.epoch(v)
	case LayoutGoTime:
		t, err := time.ParseInLocation(s.goLayout, string(v), s.location)
		return pcommon.NewTimestampFromTime(t), err == nil && t.Unix() >= 0
	}
	return parseTimestamp(v)
}

// epoch reads a decimal count of the configured unit since 1970 (a fraction allowed, an
// exponent too) exactly to the nanosecond where it can.
func (s *fieldSpec) epoch(v []byte) (pcommon.Timestamp, bool) {
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/s.epochUnit {
			return 0, false
		}
		return pcommon.Timestamp(n * s.epochUnit), true
	}
	whole, frac, found := strings.Cut(string(v), ".")
	if found && !strings.ContainsAny(frac, "eE") && frac != "" && len(frac) <= 9 {
		w, err1 := strconv.ParseUint(whole, 10, 63)
		f, err2 := strconv.ParseUint(frac, 10, 32)
		if err1 == nil && err2 == nil && w <= uint64(math.MaxInt64/s.epochUnit) {
			for range 9 - len(frac) {
				f *= 10
			}
			// f is in nanoseconds of a unit: scale to nanoseconds.
			return pcommon.Timestamp(int64(w)*s.epochUnit + int64(f)*s.epochUnit/1e9), true
		}
	}
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || x < 0 || x*float64(s.epochUnit) >= math.MaxInt64 {
		return 0, false
	}
	return pcommon.Timestamp(x * float64(s.epochUnit)), true
}

// staticAttributes is the map of configured attributes without the empty ones (a variable
// from the downward API that is not set, a key with no value).
func staticAttributes(raw map[string]any) pcommon.Map {
	m := pcommon.NewMap()
	for k, v := range raw {
		if s, ok := v.(string); v == nil || ok && s == "" {
			continue
		}
		// Every value a YAML config holds (scalars, lists, maps) converts.
		_ = m.PutEmpty(k).FromRaw(v)
	}
	return m
}
