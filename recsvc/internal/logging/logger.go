package logging // import "github.com/recobs/recobs/recsvc/internal/logging"

import (
	"strconv"
	"strings"
	"time"

	"github.com/recobs/recobs/internal/contract/jsonenc"
	"github.com/recobs/recobs/internal/contract/logschema"
)

// Level orders severities.
type Level int8

// Levels, lowest first.
const (
	Debug Level = iota
	Info
	Warn
	Error
	Fatal
	Off // writes nothing: request logging switched off (benchmarks)
)

var levelNames = [...]string{logschema.LevelDebug, logschema.LevelInfo, logschema.LevelWarn, logschema.LevelError, logschema.LevelFatal}

func (l Level) String() string { return levelNames[l] }

// ParseLevel accepts the level names in any case (and "warning").
func ParseLevel(s string) (Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return Debug, true
	case "info":
		return Info, true
	case "warn", "warning":
		return Warn, true
	case "error":
		return Error, true
	case "fatal", "critical":
		return Fatal, true
	case "off":
		return Off, true
	}
	return Info, false
}

// Logger writes one JSON object a line: timestamp, level, logger, event, then its bound
// context and the call's fields. It is immutable; With and Named return new loggers.
type Logger struct {
	sink  Sink
	name  string
	min   Level
	bound []byte // pre-encoded `,"k":v` pairs
	now   func() time.Time
}

// New returns a logger named name writing lines at or above min to sink.
func New(sink Sink, name string, min Level) *Logger {
	return &Logger{sink: sink, name: name, min: min, now: time.Now}
}

// WithClock replaces the clock (golden tests).
func (l *Logger) WithClock(now func() time.Time) *Logger {
	c := *l
	c.now = now
	return &c
}

// Named returns a logger with another logger name and the same context.
func (l *Logger) Named(name string) *Logger {
	c := *l
	c.name = name
	return &c
}

// With binds fields to every line of the returned logger (structlog's bind).
func (l *Logger) With(fields ...Field) *Logger {
	c := *l
	c.bound = make([]byte, 0, len(l.bound)+64*len(fields))
	c.bound = append(c.bound, l.bound...)
	for i := range fields {
		c.bound = fields[i].append(c.bound)
	}
	return &c
}

// Enabled reports whether a line at level would be written.
func (l *Logger) Enabled(level Level) bool { return level >= l.min }

// Log writes one line.
func (l *Logger) Log(level Level, event string, fields ...Field) {
	if level < l.min || level >= Off {
		return
	}
	line := getLine()
	b := append((*line)[:0], `{"timestamp":"`...)
	b = l.now().UTC().AppendFormat(b, logschema.TimestampLayout)
	b = append(b, `","level":"`...)
	b = append(b, levelNames[level]...)
	b = append(b, `","logger":`...)
	b = jsonenc.AppendString(b, l.name)
	b = append(b, `,"event":`...)
	b = jsonenc.AppendString(b, event)
	b = append(b, l.bound...)
	for i := range fields {
		b = fields[i].append(b)
	}
	b = append(b, '}', '\n')
	*line = b
	l.sink.Write(line)
}

// Debug, Info, Warn and Error write one line at their level.
func (l *Logger) Debug(event string, fields ...Field) { l.Log(Debug, event, fields...) }
func (l *Logger) Info(event string, fields ...Field)  { l.Log(Info, event, fields...) }
func (l *Logger) Warn(event string, fields ...Field)  { l.Log(Warn, event, fields...) }
func (l *Logger) Error(event string, fields ...Field) { l.Log(Error, event, fields...) }

type kind uint8

const (
	kindStr kind = iota
	kindInt
	kindFloat
	kindBool
	kindLatLng
	kindException
)

// Field is one key and typed value; the constructors below make them without allocating.
type Field struct {
	key  string
	kind kind
	s    string
	s2   string
	s3   string
	i    int64
	f    float64
	f2   float64
}

func Str(k, v string) Field           { return Field{key: k, kind: kindStr, s: v} }
func Int(k string, v int64) Field     { return Field{key: k, kind: kindInt, i: v} }
func Float(k string, v float64) Field { return Field{key: k, kind: kindFloat, f: v} }
func Bool(k string, v bool) Field {
	f := Field{key: k, kind: kindBool}
	if v {
		f.i = 1
	}
	return f
}
func LatLng(k string, lat, lng float64) Field {
	return Field{key: k, kind: kindLatLng, f: lat, f2: lng}
}

// Millis is a duration as fractional milliseconds.
func Millis(k string, d time.Duration) Field { return Float(k, float64(d.Microseconds())/1000) }

// Exception is the structlog-style exception object {type, message, stack}.
func Exception(typ, msg, stack string) Field {
	return Field{key: logschema.Exception, kind: kindException, s: typ, s2: msg, s3: stack}
}

func (f *Field) append(b []byte) []byte {
	b = append(b, ',')
	b = jsonenc.AppendString(b, f.key)
	b = append(b, ':')
	switch f.kind {
	case kindStr:
		return jsonenc.AppendString(b, f.s)
	case kindInt:
		return strconv.AppendInt(b, f.i, 10)
	case kindFloat:
		return jsonenc.AppendFloat(b, f.f)
	case kindBool:
		return strconv.AppendBool(b, f.i == 1)
	case kindLatLng:
		b = append(b, `{"lat":`...)
		b = jsonenc.AppendFloat(b, f.f)
		b = append(b, `,"lng":`...)
		b = jsonenc.AppendFloat(b, f.f2)
		return append(b, '}')
	case kindException:
		b = append(b, `{"type":`...)
		b = jsonenc.AppendString(b, f.s)
		b = append(b, `,"message":`...)
		b = jsonenc.AppendString(b, f.s2)
		b = append(b, `,"stack":`...)
		b = jsonenc.AppendString(b, f.s3)
		return append(b, '}')
	}
	return append(b, "null"...)
}
