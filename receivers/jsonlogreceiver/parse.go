package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
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
// worker has its own, with its scanner's buffers and its interned strings.
type lineParser struct {
	spec   *fieldSpec
	scan   jsonScanner
	keys   internCache
	values internCache
	// attrs is the attribute count of the last line, so the next one's map is sized once.
	attrs int
	// keyAt remembers the key each position of a line's object had last time, and kindAt
	// what that field is to the record: lines of one writer repeat their order, so a key is
	// usually found, and classified, without hashing it.
	keyAt  []string
	kindAt []fieldKind
	arena  []byte // see str
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

// newLineParser reads lines shaped as spec says (nil: recsvc's contract).
func newLineParser(spec *fieldSpec) *lineParser {
	if spec == nil {
		spec = defaultFieldSpec
	}
	return &lineParser{spec: spec}
}

// str returns the string the scanner just read. A short one is shared with earlier lines
// (levels, loggers, event names, categories repeat); a longer one is copied into the parser's
// arena, a chunk of memory that many strings share: one allocation for a hundred lines'
// values instead of one a value, and a record keeps only its values' bytes alive, not its
// whole line.
func (p *lineParser) str(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) <= maxInternedValue:
		return p.values.get(b)
	case len(b) > arenaChunk/4:
		return string(b) // a stack trace: its own allocation, not most of a chunk
	}
	return p.arenaString(b)
}

// arenaString copies b (at most arenaChunk bytes) into the arena.
func (p *lineParser) arenaString(b []byte) string {
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, arenaChunk)
	}
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	// Only appended to, never rewritten: the bytes under a returned string stay as they are.
	return unsafe.String(&p.arena[start], len(b))
}

// arenaChunk is the size of the parser's string arena chunks.
const arenaChunk = 16 << 10

// parse fills lr from one line and returns what was wrong with it (0 when nothing). Every
// problem leaves the line's content on the record: nothing is dropped. extraAttrs is how many
// attributes the caller adds afterwards (file name, offset), so the map is sized once.
func (p *lineParser) parse(lr plog.LogRecord, line []byte, truncated bool, extraAttrs int) problem {
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
		text = []byte(strings.ToValidUTF8(string(line), "\uFFFD"))
		problems |= problemInvalidUTF8
	}
	p.scan.reset(text)
	p.scan.skipSpace()
	if p.scan.i >= len(text) || text[p.scan.i] != '{' {
		lr.Body().SetStr(string(text))
		if json.Valid(text) {
			problems |= problemNotObject
		} else {
			problems |= problemNotJSON
		}
	} else if fields, ok := p.fields(lr, extraAttrs); ok && p.continuation(lr) {
		problems |= fields
	} else {
		// Not JSON after all (truncated, a bad escape, trailing bytes): whatever was read
		// goes, the raw line stays.
		resetRecord(lr)
		lr.Body().SetStr(string(text))
		problems |= problemNotJSON
	}
	if problems&problemInvalidUTF8 != 0 {
		lr.Attributes().PutEmptyBytes(OriginalBytesAttribute).FromRaw(line)
	}
	return problems
}

// fields reads the line's top-level object into lr: the contract's fields into the record's
// own (timestamp, severity, body, trace context), every other one into an attribute.
func (p *lineParser) fields(lr plog.LogRecord, extraAttrs int) (problem, bool) {
	s := &p.scan
	var problems problem
	attrs := lr.Attributes()
	var event, message string
	var haveEvent, haveMessage, haveTS, haveLevel bool
	s.i++ // '{'
	s.depth = 1
	n := 0 // position of the key among the line's keys
	if !s.consume('}') {
		attrs.EnsureCapacity(max(p.attrs, 8) + extraAttrs)
		for {
			s.skipSpace()
			k, ok := s.str(&s.keyBuf)
			if !ok || !s.consume(':') {
				return 0, false
			}
			s.skipSpace()
			// A contract field whose value is a string goes to the record; any other value
			// (or an unreadable string) stays an attribute under its own name, flagged.
			isStr := s.i < len(s.b) && s.b[s.i] == '"'
			f := p.spec
			key, kind := p.topKey(k, n)
			switch kind {
			case fieldTimestamp:
				haveTS = true
				ts, ok, readable := p.timestamp(attrs, key, isStr)
				if !readable {
					return 0, false
				}
				if ok {
					lr.SetTimestamp(ts)
				} else {
					problems |= problemBadTimestamp
				}
			case fieldSeverity:
				haveLevel = true
				var v []byte
				numeric, isInt := false, false
				switch {
				case isStr:
					if v, ok = s.str(&s.valBuf); !ok {
						return 0, false
					}
				case f.levels != nil && s.atNumber(): // a numeric level (pino's 30) the mapping may name
					if v, isInt, ok = s.number(); !ok {
						return 0, false
					}
					numeric = true
				default:
					if !p.value(attrs.PutEmpty(key)) {
						return 0, false
					}
				}
				lr.SetSeverityText(p.str(v))
				sev, known := f.level(v)
				if !known {
					problems |= problemUnknownLevel
					if numeric { // kept under its own name, like any value the record cannot hold
						setNumber(attrs.PutEmpty(key), v, isInt)
					}
				}
				lr.SetSeverityNumber(sev)
			case fieldEvent:
				if !isStr {
					if !p.value(attrs.PutEmpty(key)) {
						return 0, false
					}
					break
				}
				v, ok := s.str(&s.valBuf)
				if !ok {
					return 0, false
				}
				event, haveEvent = p.str(v), true
			case fieldMessage:
				if !isStr {
					if !p.value(attrs.PutEmpty(key)) {
						return 0, false
					}
					break
				}
				v, ok := s.str(&s.valBuf)
				if !ok {
					return 0, false
				}
				m := p.str(v)
				if !haveMessage {
					message, haveMessage = m, true
				}
				attrs.PutStr(key, m)
			case fieldTraceID:
				var id pcommon.TraceID
				var ok, bad, readable bool
				if !isStr && s.atNumber() {
					ok, bad, readable = p.decimalTraceID(attrs, key, &id)
				} else {
					ok, readable = p.hexField(attrs, key, isStr, id[:])
					bad = !ok
				}
				switch {
				case !readable:
					return 0, false
				case ok:
					if lr.TraceID().IsEmpty() { // the first valid one wins
						lr.SetTraceID(id)
					}
				case bad:
					problems |= problemBadTraceID
				}
			case fieldSpanID:
				var id pcommon.SpanID
				if ok, readable := p.hexField(attrs, key, isStr, id[:]); !readable {
					return 0, false
				} else if ok {
					lr.SetSpanID(id)
				} else {
					problems |= problemBadSpanID
				}
			default:
				if !p.value(attrs.PutEmpty(key)) {
					return 0, false
				}
			}
			n++
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return 0, false
		}
	}
	p.attrs = attrs.Len()
	switch {
	case haveEvent:
		lr.Body().SetStr(event)
	case haveMessage:
		lr.Body().SetStr(message)
	default:
		lr.Body().SetStr(string(s.b))
	}
	if !haveEvent && p.spec.event != "" {
		problems |= problemMissingEvent
	}
	if !haveTS {
		problems |= problemMissingTimestamp
	}
	if !haveLevel {
		lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
	}
	return problems, true
}

// continuation reads what follows the record's JSON object: nothing but whitespace, or the
// continuation lines the input kept with it (ContinuationAttribute). false: something else
// follows the object on its line, so the line is not JSON.
func (p *lineParser) continuation(lr plog.LogRecord) bool {
	cont, ok := splitContinuation(p.scan.b[p.scan.i:])
	if ok && len(cont) > 0 {
		lr.Attributes().PutStr(ContinuationAttribute, p.str(cont))
	}
	return ok
}

// topKey returns the string for key k at position n of a line's object, and what the field
// is to the record.
func (p *lineParser) topKey(k []byte, n int) (string, fieldKind) {
	if n < len(p.keyAt) && p.keyAt[n] == string(k) {
		return p.keyAt[n], p.kindAt[n]
	}
	key, kind := p.keys.get(k), p.spec.kindOf(k)
	if n < len(p.keyAt) {
		p.keyAt[n], p.kindAt[n] = key, kind
	} else if n == len(p.keyAt) && n < 64 {
		p.keyAt, p.kindAt = append(p.keyAt, key), append(p.kindAt, kind)
	}
	return key, kind
}

// timestamp reads the timestamp field's value as the spec's layout says. ok: a valid time;
// readable false: the line is not JSON. A value that is no valid time is kept as an attribute
// under the field's name.
func (p *lineParser) timestamp(attrs pcommon.Map, key string, isStr bool) (ts pcommon.Timestamp, ok, readable bool) {
	s := &p.scan
	switch {
	case isStr:
		v, readable := s.str(&s.valBuf)
		if !readable {
			return 0, false, false
		}
		if ts, ok := p.spec.timestampOf(v); ok {
			return ts, true, true
		}
		attrs.PutStr(key, string(v))
		return 0, false, true
	case p.spec.layoutType == LayoutEpoch && s.atNumber():
		raw, isInt, readable := s.number()
		if !readable {
			return 0, false, false
		}
		if ts, ok := p.spec.epoch(raw); ok {
			return ts, true, true
		}
		setNumber(attrs.PutEmpty(key), raw, isInt)
		return 0, false, true
	}
	return 0, false, p.value(attrs.PutEmpty(key))
}

// hexField reads a trace or span id field into out. ok: a valid id; readable false: the line
// is not JSON. A value that is no valid id is kept as an attribute under its own name.
func (p *lineParser) hexField(attrs pcommon.Map, key string, isStr bool, out []byte) (ok, readable bool) {
	s := &p.scan
	if !isStr {
		return false, p.value(attrs.PutEmpty(key))
	}
	v, readable := s.str(&s.valBuf)
	if !readable {
		return false, false
	}
	if hexID(v, out) {
		return true, true
	}
	attrs.PutStr(key, string(v))
	return false, true
}

// decimalTraceID reads a trace id written as a decimal integer (the seed's correlation_id:
// Python's span_context.trace_id) into id, and keeps its digits, exact, as a string attribute
// under key. ok: a valid id. 0 is the OTel SDKs' id outside any span: no trace context, not
// bad. Anything else (a fraction, a negative number, more than 128 bits) is bad, kept as a
// number attribute.
func (p *lineParser) decimalTraceID(attrs pcommon.Map, key string, id *pcommon.TraceID) (ok, bad, readable bool) {
	s := &p.scan
	raw, isInt, readable := s.number()
	if !readable {
		return false, false, false
	}
	if isInt && decimal128(raw, id[:]) {
		if id.IsEmpty() {
			attrs.PutInt(key, 0)
			return false, false, true
		}
		attrs.PutStr(key, p.str(raw))
		return true, false, true
	}
	setNumber(attrs.PutEmpty(key), raw, isInt)
	return false, true, true
}

// decimal128 converts the digits of a non-negative integer into out (16 bytes, big-endian, as
// a W3C trace id), reporting false when it is negative or does not fit 128 bits.
func decimal128(raw []byte, out []byte) bool {
	if len(raw) == 0 || raw[0] == '-' || len(raw) > 39 {
		return false
	}
	var hi, lo uint64
	for _, c := range raw {
		// (hi, lo) = (hi, lo)*10 + d, failing on a carry out of hi.
		h1, l1 := bits.Mul64(lo, 10)
		h2, l2 := bits.Mul64(hi, 10)
		if h2 != 0 {
			return false
		}
		var carry uint64
		lo, carry = bits.Add64(l1, uint64(c-'0'), 0)
		var c2 uint64
		hi, c2 = bits.Add64(l2, h1, carry)
		if c2 != 0 {
			return false
		}
	}
	binary.BigEndian.PutUint64(out[0:8], hi)
	binary.BigEndian.PutUint64(out[8:16], lo)
	return true
}

// resetRecord clears what a half-read line set on lr.
func resetRecord(lr plog.LogRecord) {
	lr.Attributes().Clear()
	lr.SetTimestamp(0)
	lr.SetSeverityText("")
	lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
	lr.SetTraceID(pcommon.NewTraceIDEmpty())
	lr.SetSpanID(pcommon.NewSpanIDEmpty())
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// parseTimestamp reads RFC 3339 timestamps (any fraction, Z or an offset, T or a space); the
// layout recsvc writes (2026-11-27T10:00:00.123Z) takes a fast path without time.Parse.
func parseTimestamp(b []byte) (pcommon.Timestamp, bool) {
	if len(b) == 24 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		return contractTimestamp(b)
	}
	text := string(b)
	if len(b) > 10 && b[10] == ' ' { // RFC 3339 allows a space for the T (section 5.6, NOTE)
		text = text[:10] + "T" + text[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	// Before 1970 has no OTLP timestamp (unsigned nanoseconds since the epoch).
	return pcommon.NewTimestampFromTime(t), err == nil && t.Unix() >= 0
}

// contractTimestamp reads YYYY-MM-DDTHH:MM:SS.mmmZ (layout already checked) straight into
// Unix nanoseconds.
func contractTimestamp(b []byte) (pcommon.Timestamp, bool) {
	ok := true
	d := func(i, n int) int64 {
		var v int64
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				ok = false
			}
			v = v*10 + int64(c-'0')
		}
		return v
	}
	y, mo, dd := d(0, 4), d(5, 2), d(8, 2)
	h, mi, s, ms := d(11, 2), d(14, 2), d(17, 2), d(20, 3)
	if !ok || y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(mo, y) || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	secs := ((daysSinceEpoch(y, mo, dd)*24+h)*60+mi)*60 + s
	return pcommon.Timestamp(uint64(secs)*1e9 + uint64(ms)*1e6), true
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is the proleptic Gregorian day number of y-m-d counted from 1970-01-01
// (Howard Hinnant's days_from_civil).
func daysSinceEpoch(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// hexID decodes a trace or span id into out; the all-zero id is as invalid as a malformed one.
func hexID(b, out []byte) bool {
	if len(b) != 2*len(out) {
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
