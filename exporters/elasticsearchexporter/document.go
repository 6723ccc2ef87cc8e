package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/recobs/recobs/internal/contract/jsonenc"
	"github.com/recobs/recobs/internal/contract/logschema"
)

// The document is ECS-shaped so Kibana's log views work without field aliases: well-known
// attributes land on their ECS names (typed by the index template); everything else goes
// under `attributes.*` / `resource.*`, which the template maps by value type so one record's
// odd type cannot break the day's index.

// renamed lists record attributes that have a fixed place in the document.
var renamed = map[string]string{
	"request_id":             "request_id",
	"event":                  "event",
	"category":               "category",
	"logger":                 "log.logger",
	"user_id":                "user.id",
	"log.file.name":          "log.file.name",
	"log.file.path":          "log.file.path",
	"log.file.record_offset": "log.offset",
	"log.parse_error":        "log.parse_error",
	"log.continuation":       "log.continuation",
}

// ecsResource are the resource attributes that keep their ECS name at the document's top level;
// the others go under `resource.*`.
var ecsResource = map[string]bool{
	"service.name": true, "service.version": true, "service.namespace": true, "service.instance.id": true,
	"host.name": true, "deployment.environment": true,
}

// appendObject writes `,"name":{…}` with the entries of m that keep selects.
func appendObject(buf []byte, name string, m pcommon.Map, keep func(string, pcommon.Value) bool) []byte {
	buf = append(buf, ',')
	buf = jsonenc.AppendString(buf, name)
	buf = append(buf, ':')
	return appendMapKeeping(buf, m, keep)
}

// recordUIDAttribute is OTel's log.record.uid: records with the same value are the same record.
// It becomes the document's _id rather than a field.
const recordUIDAttribute = "log.record.uid"

// maxIDBytes is Elasticsearch's limit on an _id.
const maxIDBytes = 512

// dropped are attributes already carried by the record's own fields (or its _id).
var dropped = map[string]bool{"timestamp": true, "level": true, "trace_id": true, "span_id": true, recordUIDAttribute: true,
	logschema.RecordPosition: true}

// appendDocument appends the JSON document for one record to buf.
func appendDocument(buf []byte, res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord, ts time.Time) []byte {
	buf = append(buf, `{"@timestamp":"`...)
	buf = ts.UTC().AppendFormat(buf, "2006-01-02T15:04:05.000000000Z")
	buf = append(buf, '"')

	body := lr.Body()
	buf = append(buf, `,"message":`...)
	buf = appendValue(buf, body)
	if _, ok := lr.Attributes().Get("event"); !ok && body.Type() == pcommon.ValueTypeStr {
		buf = append(buf, `,"event":`...)
		buf = jsonenc.AppendString(buf, body.Str())
	}

	level := lr.SeverityText()
	if level == "" && lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		level = lr.SeverityNumber().String()
	}
	if level != "" {
		buf = append(buf, `,"log.level":`...)
		buf = jsonenc.AppendString(buf, level)
	}
	if n := lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
		buf = append(buf, `,"log.severity_number":`...)
		buf = strconv.AppendInt(buf, int64(n), 10)
	}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		buf = append(buf, `,"trace.id":"`...)
		buf = jsonenc.AppendHex(buf, tid[:])
		buf = append(buf, '"')
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		buf = append(buf, `,"span.id":"`...)
		buf = jsonenc.AppendHex(buf, sid[:])
		buf = append(buf, '"')
	}
	if scope.Name() != "" {
		buf = append(buf, `,"scope.name":`...)
		buf = jsonenc.AppendString(buf, scope.Name())
	}

	var other bool
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		if isOther(k, v) {
			other = true
			return true
		}
		switch {
		case dropped[k]:
		case k == "exception" && v.Type() == pcommon.ValueTypeMap:
			buf = appendException(buf, v.Map())
		case k == "exception": // structlog's format_exc_info: the formatted traceback
			buf = append(buf, `,"error.stack_trace":`...)
			buf = jsonenc.AppendString(buf, v.AsString())
		case k == "location":
			buf = appendLocation(buf, v.Map())
		case k == "tags":
			buf = append(buf, `,"tags":`...)
			buf = appendValue(buf, v)
		case renamed[k] != "":
			buf = append(buf, ',')
			buf = jsonenc.AppendString(buf, renamed[k])
			buf = append(buf, ':')
			if k == "user_id" { // ids are keywords, whatever type the service logged
				buf = jsonenc.AppendString(buf, v.AsString())
			} else {
				buf = appendValue(buf, v)
			}
		}
		return true
	})
	if other {
		buf = appendObject(buf, "attributes", lr.Attributes(), isOther)
	}
	var rest bool
	res.Attributes().Range(func(k string, v pcommon.Value) bool {
		if !ecsResource[k] {
			rest = true
			return true
		}
		buf = append(buf, ',')
		buf = jsonenc.AppendString(buf, k)
		buf = append(buf, ':')
		buf = jsonenc.AppendString(buf, v.AsString())
		return true
	})
	if rest {
		buf = appendObject(buf, "resource", res.Attributes(), func(k string, _ pcommon.Value) bool { return !ecsResource[k] })
	}
	return append(buf, '}')
}

// appendException maps the service's exception {type, message, stack} onto ECS error.*.
func appendException(buf []byte, m pcommon.Map) []byte {
	for _, f := range [...][2]string{{"type", "error.type"}, {"message", "error.message"}, {"stack", "error.stack_trace"}} {
		if v, ok := m.Get(f[0]); ok {
			buf = append(buf, ',')
			buf = jsonenc.AppendString(buf, f[1])
			buf = append(buf, ':')
			buf = jsonenc.AppendString(buf, v.AsString())
		}
	}
	return buf
}

// isOther reports whether an attribute goes under `attributes.*` rather than a fixed field.
func isOther(k string, v pcommon.Value) bool {
	switch {
	case dropped[k], renamed[k] != "", k == "tags":
		return false
	case k == "exception":
		return v.Type() != pcommon.ValueTypeMap && v.Type() != pcommon.ValueTypeStr
	case k == "location":
		return !isGeoPoint(v)
	}
	return true
}

// isGeoPoint: the service logs location as {lat, lng}; anything else stays an attribute.
func isGeoPoint(v pcommon.Value) bool {
	if v.Type() != pcommon.ValueTypeMap {
		return false
	}
	_, okLat := number(v.Map(), "lat")
	_, okLng := number(v.Map(), "lng")
	_, okLon := number(v.Map(), "lon")
	return okLat && (okLng || okLon)
}

// appendLocation writes {lat, lng} as a geo_point {lat, lon}.
func appendLocation(buf []byte, m pcommon.Map) []byte {
	lat, _ := number(m, "lat")
	lon, ok := number(m, "lng")
	if !ok {
		lon, _ = number(m, "lon")
	}
	buf = append(buf, `,"location":{"lat":`...)
	buf = strconv.AppendFloat(buf, lat, 'f', -1, 64)
	buf = append(buf, `,"lon":`...)
	buf = strconv.AppendFloat(buf, lon, 'f', -1, 64)
	return append(buf, '}')
}

func number(m pcommon.Map, k string) (float64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	}
	return 0, false
}

func appendValue(buf []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return jsonenc.AppendString(buf, v.Str())
	case pcommon.ValueTypeInt:
		if n := v.Int(); n > maxExactInt || n < -maxExactInt {
			// Past 2^53 a double (the template maps numbers as double) would round it: its
			// digits go as a string, which the template maps as a keyword.
			buf = append(buf, '"')
			buf = strconv.AppendInt(buf, n, 10)
			return append(buf, '"')
		}
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return jsonenc.AppendFloat(buf, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeMap:
		return appendMap(buf, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		buf = append(buf, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendValue(buf, s.At(i))
		}
		return append(buf, ']')
	case pcommon.ValueTypeBytes:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
		return append(buf, '"')
	}
	return append(buf, "null"...)
}

// maxExactInt is the largest integer every smaller one of which a double holds exactly (2^53).
const maxExactInt = 1 << 53

func appendMap(buf []byte, m pcommon.Map) []byte { return appendMapKeeping(buf, m, nil) }

// appendMapKeeping writes m as a JSON object, with only the entries keep selects (all when nil).
func appendMapKeeping(buf []byte, m pcommon.Map, keep func(string, pcommon.Value) bool) []byte {
	buf = append(buf, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if keep != nil && !keep(k, v) {
			return true
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = jsonenc.AppendString(buf, k)
		buf = append(buf, ':')
		buf = appendValue(buf, v)
		return true
	})
	return append(buf, '}')
}

// documentID is the record's log.record.uid when it has one: the json_log receiver derives it
// from where the line sits in its file (the file's first line, the line's offset) and the
// line itself, so a line read twice — replayed after a crash, or read again from its rotated
// copy — has the same _id even when its document differs (the file name, the time a line
// without a timestamp was read). Otherwise it is a content hash of the document, its index
// and the record's place in the request it came in (logschema.RecordPosition, when the
// request_correlation processor put it there): the same record re-sent after a retry or a
// replayed queue gets the same _id, and two identical records of one request get two. Either
// way op_type create turns the second write into a 409 instead of a duplicate.
func documentID(index string, lr plog.LogRecord, doc []byte) string {
	if v, ok := lr.Attributes().Get(recordUIDAttribute); ok && v.Type() == pcommon.ValueTypeStr {
		if uid := v.Str(); uid != "" && len(uid) <= maxIDBytes {
			return uid
		}
	}
	position := int64(-1)
	if v, ok := lr.Attributes().Get(logschema.RecordPosition); ok && v.Type() == pcommon.ValueTypeInt {
		position = v.Int()
	}
	return contentID(index, doc, position)
}

// contentID hashes the index, the document and the record's position in its request (-1: not
// known, which keeps the identities records had before positions existed).
func contentID(index string, doc []byte, position int64) string {
	h := sha256.New()
	h.Write([]byte(index))
	h.Write([]byte{0})
	if position >= 0 {
		var p [9]byte
		p[0] = 1
		binary.BigEndian.PutUint64(p[1:], uint64(position))
		h.Write(p[:])
	}
	h.Write(doc)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:18])
}
