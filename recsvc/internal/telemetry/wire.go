package telemetry // import "github.com/recobs/recobs/recsvc/internal/telemetry"

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// wireEncoder writes an OTLP ExportTraceServiceRequest straight from the SDK's ended spans
// into one reused buffer. The stock exporter first builds the whole request as protobuf
// structs (several allocations a span and attribute), sizes it, then marshals it: in recsvc
// under load that was a seventh of the CPU. The bytes are the same message: TestWireEncoding
// decodes ours and compares it with what the stock transformation builds.
type wireEncoder struct {
	buf       []byte
	resources []resourceGroup
	resCache  map[attribute.Distinct][]byte // a resource's encoded Resource message
}

type resourceGroup struct {
	key    attribute.Distinct
	res    *resource.Resource
	scopes []scopeGroup
}

type scopeGroup struct {
	scope instrumentation.Scope
	spans []sdktrace.ReadOnlySpan
}

// OTLP field numbers (opentelemetry/proto/{collector/trace,trace,common,resource}/v1).
const (
	fRequestResourceSpans = 1

	fResourceSpansResource   = 1
	fResourceSpansScopeSpans = 2
	fResourceSpansSchemaURL  = 3

	fScopeSpansScope     = 1
	fScopeSpansSpans     = 2
	fScopeSpansSchemaURL = 3

	fScopeName    = 1
	fScopeVersion = 2
	fScopeAttrs   = 3

	fResourceAttrs = 1

	fSpanTraceID       = 1
	fSpanSpanID        = 2
	fSpanTraceState    = 3
	fSpanParentSpanID  = 4
	fSpanName          = 5
	fSpanKind          = 6
	fSpanStart         = 7
	fSpanEnd           = 8
	fSpanAttrs         = 9
	fSpanDroppedAttrs  = 10
	fSpanEvents        = 11
	fSpanDroppedEvents = 12
	fSpanLinks         = 13
	fSpanDroppedLinks  = 14
	fSpanStatus        = 15
	fSpanFlags         = 16

	fEventTime         = 1
	fEventName         = 2
	fEventAttrs        = 3
	fEventDroppedAttrs = 4

	fLinkTraceID      = 1
	fLinkSpanID       = 2
	fLinkTraceState   = 3
	fLinkAttrs        = 4
	fLinkDroppedAttrs = 5
	fLinkFlags        = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKeyValueKey   = 1
	fKeyValueValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKvlist = 6
	fAnyBytes  = 7

	fListValues = 1 // ArrayValue.values, KeyValueList.values

	flagHasIsRemote = 0x100 // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
	flagIsRemote    = 0x200 // SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
)

// request encodes spans as one export request; the result is valid until the next call.
func (e *wireEncoder) request(spans []sdktrace.ReadOnlySpan) []byte {
	e.group(spans)
	b := e.buf[:0]
	for ri := range e.resources {
		rg := &e.resources[ri]
		var rs int
		b, rs = beginMessage(b, fRequestResourceSpans)
		b = e.appendResource(b, rg)
		for si := range rg.scopes {
			sg := &rg.scopes[si]
			var ss int
			b, ss = beginMessage(b, fResourceSpansScopeSpans)
			if sg.scope != (instrumentation.Scope{}) {
				var sc int
				b, sc = beginMessage(b, fScopeSpansScope)
				b = appendString(b, fScopeName, sg.scope.Name)
				b = appendString(b, fScopeVersion, sg.scope.Version)
				for it := sg.scope.Attributes.Iter(); it.Next(); {
					b = appendKeyValue(b, fScopeAttrs, it.Attribute())
				}
				b = endMessage(b, sc)
			}
			for _, s := range sg.spans {
				b = appendSpan(b, s)
			}
			b = appendString(b, fScopeSpansSchemaURL, sg.scope.SchemaURL)
			b = endMessage(b, ss)
			sg.spans = sg.spans[:0:0] // drop the references: the spans may be collected
		}
		b = appendString(b, fResourceSpansSchemaURL, rg.res.SchemaURL())
		b = endMessage(b, rs)
	}
	e.buf = b
	return b
}

// group sorts spans by resource, then scope, in order of first appearance.
func (e *wireEncoder) group(spans []sdktrace.ReadOnlySpan) {
	e.resources = e.resources[:0]
	for _, s := range spans {
		if s == nil {
			continue
		}
		res, scope := s.Resource(), s.InstrumentationScope()
		key := res.Equivalent()
		ri := -1
		for i := range e.resources {
			if e.resources[i].key == key {
				ri = i
				break
			}
		}
		if ri < 0 {
			e.resources = append(e.resources, resourceGroup{key: key, res: res})
			ri = len(e.resources) - 1
		}
		rg := &e.resources[ri]
		si := -1
		for i := range rg.scopes {
			if rg.scopes[i].scope == scope {
				si = i
				break
			}
		}
		if si < 0 {
			rg.scopes = append(rg.scopes, scopeGroup{scope: scope})
			si = len(rg.scopes) - 1
		}
		rg.scopes[si].spans = append(rg.scopes[si].spans, s)
	}
}

// appendResource writes the group's Resource message, encoded once per distinct resource.
func (e *wireEncoder) appendResource(b []byte, rg *resourceGroup) []byte {
	if rg.res == nil {
		return b
	}
	enc, ok := e.resCache[rg.key]
	if !ok {
		enc, _ = beginMessage(nil, fResourceSpansResource)
		start := len(enc)
		for it := rg.res.Iter(); it.Next(); {
			enc = appendKeyValue(enc, fResourceAttrs, it.Attribute())
		}
		enc = endMessage(enc, start)
		if e.resCache == nil {
			e.resCache = map[attribute.Distinct][]byte{}
		}
		if len(e.resCache) > 64 { // resources come and go only in tests; stay bounded anyway
			clear(e.resCache)
		}
		e.resCache[rg.key] = enc
	}
	return append(b, enc...)
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	var start int
	b, start = beginMessage(b, fScopeSpansSpans)
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = protowire.AppendTag(b, fSpanTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, tid[:])
	b = protowire.AppendTag(b, fSpanSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = appendString(b, fSpanTraceState, ts.String())
	}
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = protowire.AppendTag(b, fSpanParentSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, psid[:])
	}
	b = appendString(b, fSpanName, s.Name())
	b = appendVarint(b, fSpanKind, spanKind(s.SpanKind()))
	b = appendFixed64(b, fSpanStart, unixNanos(s.StartTime().UnixNano()))
	b = appendFixed64(b, fSpanEnd, unixNanos(s.EndTime().UnixNano()))
	for _, kv := range s.Attributes() {
		b = appendKeyValue(b, fSpanAttrs, kv)
	}
	b = appendVarint(b, fSpanDroppedAttrs, clampCount(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		var es int
		b, es = beginMessage(b, fSpanEvents)
		b = appendFixed64(b, fEventTime, unixNanos(ev.Time.UnixNano()))
		b = appendString(b, fEventName, ev.Name)
		for _, kv := range ev.Attributes {
			b = appendKeyValue(b, fEventAttrs, kv)
		}
		b = appendVarint(b, fEventDroppedAttrs, clampCount(ev.DroppedAttributeCount))
		b = endMessage(b, es)
	}
	b = appendVarint(b, fSpanDroppedEvents, clampCount(s.DroppedEvents()))
	for _, l := range s.Links() {
		var ls int
		b, ls = beginMessage(b, fSpanLinks)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = protowire.AppendTag(b, fLinkTraceID, protowire.BytesType)
		b = protowire.AppendBytes(b, ltid[:])
		b = protowire.AppendTag(b, fLinkSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, lsid[:])
		// The stock exporter leaves a link's trace state out; so do we, to send the same.
		for _, kv := range l.Attributes {
			b = appendKeyValue(b, fLinkAttrs, kv)
		}
		b = appendVarint(b, fLinkDroppedAttrs, clampCount(l.DroppedAttributeCount))
		b = protowire.AppendTag(b, fLinkFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = endMessage(b, ls)
	}
	b = appendVarint(b, fSpanDroppedLinks, clampCount(s.DroppedLinks()))
	st := s.Status()
	var ss int
	b, ss = beginMessage(b, fSpanStatus)
	b = appendString(b, fStatusMessage, st.Description)
	b = appendVarint(b, fStatusCode, statusCode(st.Code))
	b = endMessage(b, ss)
	b = protowire.AppendTag(b, fSpanFlags, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, spanFlags(sc.TraceFlags(), parent))
	return endMessage(b, start)
}

func appendKeyValue(b []byte, field protowire.Number, kv attribute.KeyValue) []byte {
	var start int
	b, start = beginMessage(b, field)
	b = appendString(b, fKeyValueKey, string(kv.Key))
	b = appendAnyValue(b, fKeyValueValue, kv.Value)
	return endMessage(b, start)
}

// appendAnyValue writes an AnyValue; its oneof is written even when zero (it has presence).
func appendAnyValue(b []byte, field protowire.Number, v attribute.Value) []byte {
	var start int
	b, start = beginMessage(b, field)
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, fAnyBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, fAnyBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		vals := v.AsBoolSlice()
		b = appendArray(b, len(vals), func(b []byte, i int) []byte { return appendAnyValue(b, fListValues, attribute.BoolValue(vals[i])) })
	case attribute.INT64SLICE:
		vals := v.AsInt64Slice()
		b = appendArray(b, len(vals), func(b []byte, i int) []byte { return appendAnyValue(b, fListValues, attribute.Int64Value(vals[i])) })
	case attribute.FLOAT64SLICE:
		vals := v.AsFloat64Slice()
		b = appendArray(b, len(vals), func(b []byte, i int) []byte { return appendAnyValue(b, fListValues, attribute.Float64Value(vals[i])) })
	case attribute.STRINGSLICE:
		vals := v.AsStringSlice()
		b = appendArray(b, len(vals), func(b []byte, i int) []byte { return appendAnyValue(b, fListValues, attribute.StringValue(vals[i])) })
	case attribute.SLICE:
		vals := v.AsSlice()
		b = appendArray(b, len(vals), func(b []byte, i int) []byte { return appendAnyValue(b, fListValues, vals[i]) })
	case attribute.MAP:
		var m int
		b, m = beginMessage(b, fAnyKvlist)
		for _, kv := range v.AsMap() {
			b = appendKeyValue(b, fListValues, kv)
		}
		b = endMessage(b, m)
	case attribute.EMPTY:
	default:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, "INVALID")
	}
	return endMessage(b, start)
}

func appendArray(b []byte, n int, elem func([]byte, int) []byte) []byte {
	var start int
	b, start = beginMessage(b, fAnyArray)
	for i := range n {
		b = elem(b, i)
	}
	return endMessage(b, start)
}

// beginMessage writes a nested message's tag and a one-byte length to be patched by
// endMessage; start is where the message's content begins.
func beginMessage(b []byte, field protowire.Number) (_ []byte, start int) {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = append(b, 0)
	return b, len(b)
}

// endMessage patches the length of the message begun at start. Most are under 128 bytes and
// fit the reserved byte; a longer one moves its content up by the extra length bytes.
func endMessage(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[start+extra:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n))
	return b
}

// Scalars are left out when zero, as proto3 marshalling does.

func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func unixNanos(n int64) uint64 { return uint64(max(0, n)) }

func clampCount(n int) uint64 { return uint64(min(max(n, 0), math.MaxUint32)) }

// spanKind maps the API's kinds onto OTLP's (the same numbers, unknown ones unspecified).
func spanKind(k trace.SpanKind) uint64 {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer:
		return uint64(k)
	}
	return 0
}

// statusCode maps the API's codes (Unset 0, Error 1, Ok 2) onto OTLP's (Unset 0, Ok 1, Error 2).
func statusCode(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

// spanFlags: the W3C trace flags, and whether the parent (or link) is remote.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	flags := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		flags |= flagIsRemote
	}
	return flags
}
