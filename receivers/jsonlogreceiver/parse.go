package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/logschema"
)

// ParseErrorAttribute names what was wrong with a line that could not be read as the
// contract says; the line is kept (raw, as the body, when it is not JSON) and sent on.
const ParseErrorAttribute = "log.parse_error"

// OriginalBytesAttribute keeps the exact bytes of a line that is not valid UTF-8 (pdata
// strings must be valid UTF-8 to be exported; the body has the bad bytes replaced).
const OriginalBytesAttribute = "log.original_bytes"

// problem is one thing wrong with a line; a line's problems are a bit set.
type problem uint16

const (
	problemTruncated problem = 1 << iota
	problemEmpty
	problemInvalidUTF8
	problemNotJSON
	problemNotObject
	problemMissingTimestamp
	problemBadTimestamp
	problemUnknownLevel
	problemMissingEvent
	problemBadTraceID
	problemBadSpanID
	numProblems = iota
)

// Problem names, as written in log.parse_error (several joined with ',') and in the metric.
const (
	ProblemTruncated        = "truncated"
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
)

var problemNames = [numProblems]string{ProblemTruncated, ProblemEmpty, ProblemInvalidUTF8, ProblemNotJSON, ProblemNotObject,
	ProblemMissingTimestamp, ProblemBadTimestamp, ProblemUnknownLevel, ProblemMissingEvent, ProblemBadTraceID, ProblemBadSpanID}

func (p problem) String() string {
	var b strings.Builder
	for i := range numProblems {
		if p&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(problemNames[i])
		}
	}
	return b.String()
}

// lineParser turns lines into log records. It is not safe for concurrent use: each parse
// worker has its own, with its parser's buffers and its interned strings.
type lineParser struct {
	json   fastjson.Parser
	keys   internCache
	values internCache
	num    []byte
}

// internCache is direct-mapped: a string that hits its slot costs no allocation, one that
// misses is copied as it would be anyway and takes the slot. Keys and values have a cache
// each, so a stream of unique values (ids) cannot push the keys out; only short values are
// offered to it (levels, loggers, event names, categories), never ids.
type internCache [1024]string

const maxInternedValue = 24

func (c *internCache) get(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	h := (uint(n)*31 + uint(b[0])*7 + uint(b[n-1])*131 + uint(b[n/2])*17 + uint(b[n/3])*3) % uint(len(c))
	if s := c[h]; s == string(b) { // compared without allocating
		return s
	}
	s := string(b)
	c[h] = s
	return s
}

func newLineParser() *lineParser { return &lineParser{} }

// str returns a string value, shared with earlier lines when it is short.
func (p *lineParser) str(b []byte) string {
	if len(b) > maxInternedValue {
		return string(b)
	}
	return p.values.get(b)
}

// parse fills lr from one line and returns what was wrong with it (0 when nothing). Every
// problem leaves the line's content on the record: nothing is dropped.
func (p *lineParser) parse(lr plog.LogRecord, line []byte, truncated bool) problem {
	var problems problem
	if truncated {
		problems |= problemTruncated
	}
	if isBlank(line) {
		lr.Body().SetStr(string(line))
		return problems | problemEmpty
	}
	text := line
	if !utf8.Valid(line) {
		lr.Attributes().PutEmptyBytes(OriginalBytesAttribute).FromRaw(line)
		text = []byte(strings.ToValidUTF8(string(line), "\uFFFD"))
		problems |= problemInvalidUTF8
	}
	v, err := p.json.ParseBytes(text)
	if err != nil {
		lr.Body().SetStr(string(text))
		return problems | problemNotJSON
	}
	obj, err := v.Object()
	if err != nil {
		lr.Body().SetStr(string(text))
		return problems | problemNotObject
	}

	attrs := lr.Attributes()
	attrs.EnsureCapacity(obj.Len())
	var event, message []byte
	var haveTS, haveLevel bool
	obj.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) { // no allocation for a switch on a converted []byte
		case logschema.Timestamp:
			haveTS = true
			if b, err := v.StringBytes(); err == nil {
				if t, ok := parseTimestamp(b); ok {
					lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
					return
				}
			}
			p.put(attrs, k, v)
			problems |= problemBadTimestamp
		case logschema.Level:
			haveLevel = true
			b, _ := v.StringBytes()
			lr.SetSeverityText(p.str(b))
			sev, ok := severity(b)
			if !ok {
				problems |= problemUnknownLevel
			}
			lr.SetSeverityNumber(sev)
		case logschema.Event:
			if b, err := v.StringBytes(); err == nil {
				event = b
				return
			}
			p.put(attrs, k, v)
		case "message", "msg":
			if b, err := v.StringBytes(); err == nil && message == nil {
				message = b
			}
			p.put(attrs, k, v)
		case logschema.TraceID:
			var id pcommon.TraceID
			if hexID(v, id[:]) {
				lr.SetTraceID(id)
				return
			}
			p.put(attrs, k, v)
			problems |= problemBadTraceID
		case logschema.SpanID:
			var id pcommon.SpanID
			if hexID(v, id[:]) {
				lr.SetSpanID(id)
				return
			}
			p.put(attrs, k, v)
			problems |= problemBadSpanID
		default:
			p.put(attrs, k, v)
		}
	})
	switch {
	case event != nil:
		lr.Body().SetStr(p.str(event))
	case message != nil:
		lr.Body().SetStr(string(message))
		problems |= problemMissingEvent
	default:
		lr.Body().SetStr(string(text))
		problems |= problemMissingEvent
	}
	if !haveTS {
		problems |= problemMissingTimestamp
	}
	if !haveLevel {
		lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
	}
	return problems
}

// put sets attribute k from a JSON value.
func (p *lineParser) put(m pcommon.Map, k []byte, v *fastjson.Value) {
	p.set(m.PutEmpty(p.keys.get(k)), v)
}

// set stores a JSON value in dst. Nested objects stay nested maps: Elasticsearch maps them as
// objects (location → geo_point, exception → error.*) and Kibana shows their dotted paths,
// which flattening here would only obscure. A null leaves dst empty.
func (p *lineParser) set(dst pcommon.Value, v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		dst.SetStr(p.str(b))
	case fastjson.TypeNumber:
		if n, ok := p.intValue(v); ok {
			dst.SetInt(n)
		} else {
			f, _ := v.Float64()
			dst.SetDouble(f)
		}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		dst.SetBool(v.Type() == fastjson.TypeTrue)
	case fastjson.TypeObject:
		o, _ := v.Object()
		sub := dst.SetEmptyMap()
		sub.EnsureCapacity(o.Len())
		o.Visit(func(k []byte, v *fastjson.Value) { p.put(sub, k, v) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(a))
		for _, e := range a {
			p.set(s.AppendEmpty(), e)
		}
	}
}

// intValue reads a JSON number written as plain digits (no fraction, no exponent, in range)
// as an integer, without the error allocation fastjson's Int64 makes for a float.
func (p *lineParser) intValue(v *fastjson.Value) (int64, bool) {
	p.num = v.MarshalTo(p.num[:0])
	raw := p.num
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	switch {
	case len(raw) == 0 || len(raw) > 19:
		return 0, false
	case len(raw) == 19: // may overflow: the careful way (rare)
		n, err := strconv.ParseInt(string(p.num), 10, 64)
		return n, err == nil
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// parseTimestamp reads RFC 3339 timestamps; the layout recsvc writes
// (2026-11-27T10:00:00.123Z) takes a fast path without time.Parse.
func parseTimestamp(b []byte) (time.Time, bool) {
	if len(b) == 24 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		d := func(i, n int) (int, bool) {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := d(0, 4)
		mo, ok2 := d(5, 2)
		dd, ok3 := d(8, 2)
		h, ok4 := d(11, 2)
		mi, ok5 := d(14, 2)
		s, ok6 := d(17, 2)
		ms, ok7 := d(20, 3)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && h < 24 && mi < 60 && s < 60 {
			t := time.Date(y, time.Month(mo), dd, h, mi, s, ms*1e6, time.UTC)
			if t.Day() == dd { // no 31 February
				return t, true
			}
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// hexID decodes a trace or span id into out; the all-zero id is as invalid as a malformed one.
func hexID(v *fastjson.Value, out []byte) bool {
	b, err := v.StringBytes()
	if err != nil || len(b) != 2*len(out) {
		return false
	}
	if _, err := hex.Decode(out, b); err != nil {
		return false
	}
	for _, c := range out {
		if c != 0 {
			return true
		}
	}
	return false
}

func severity(s []byte) (plog.SeverityNumber, bool) {
	var lower [16]byte
	if len(s) > len(lower) {
		return plog.SeverityNumberUnspecified, false
	}
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(s)]) {
	case "trace":
		return plog.SeverityNumberTrace, true
	case "debug":
		return plog.SeverityNumberDebug, true
	case "info", "information", "notice":
		return plog.SeverityNumberInfo, true
	case "warn", "warning":
		return plog.SeverityNumberWarn, true
	case "error", "err":
		return plog.SeverityNumberError, true
	case "fatal", "critical", "crit", "panic":
		return plog.SeverityNumberFatal, true
	}
	return plog.SeverityNumberUnspecified, false
}
