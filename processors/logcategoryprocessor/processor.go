package logcategoryprocessor // import "github.com/recobs/recobs/processors/logcategoryprocessor"

import (
	"context"
	"path"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/recobs/recobs/internal/contract/logschema"
	"github.com/recobs/recobs/processors/logcategoryprocessor/internal/metadata"
)

type categoriser struct {
	cfg       *Config
	telemetry *metadata.TelemetryBuilder
	// labels are the category values the self-metric may carry: the configured rules'
	// categories, the default, the seed's five and "uncategorised". A record's own category
	// outside them is counted as "other", so hostile or high-cardinality values cannot grow
	// the collector's own series.
	labels map[string]bool
}

// otherCategory is the self-metric's label for a category the configuration does not name.
const otherCategory = "other"

func newCategoriser(cfg *Config, set component.TelemetrySettings) (*categoriser, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	labels := map[string]bool{"uncategorised": true}
	for _, c := range logschema.Categories {
		labels[c] = true
	}
	for _, r := range cfg.Rules {
		labels[r.Category] = true
	}
	if cfg.DefaultCategory != "" {
		labels[cfg.DefaultCategory] = true
	}
	return &categoriser{cfg: cfg, telemetry: tb, labels: labels}, nil
}

// tally counts records per (category, level) within one batch, so the metric is updated once
// per pair rather than once per record.
type tally map[[2]string]int64

func (c *categoriser) process(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	counts := tally{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				cat, level := c.record(lrs.At(k))
				if !c.labels[cat] {
					cat = otherCategory
				}
				counts[[2]string{cat, level}]++
			}
		}
	}
	for k, n := range counts {
		c.telemetry.LogCategoryRecords.Add(ctx, n, metric.WithAttributes(attribute.String("category", k[0]), attribute.String("level", k[1])))
	}
	return ld, nil
}

// record normalises one record and returns its category and level for counting.
func (c *categoriser) record(lr plog.LogRecord) (string, string) {
	level := normaliseLevel(lr)
	attrs := lr.Attributes()
	if lr.SeverityNumber() >= plog.SeverityNumberError {
		addTag(attrs, c.cfg.TagsAttribute, "error")
	}
	if v, ok := attrs.Get(c.cfg.CategoryAttribute); ok && v.Str() != "" {
		return v.Str(), level // the service knows best
	}
	event := ""
	if lr.Body().Type() == pcommon.ValueTypeStr {
		event = lr.Body().Str()
	}
	if v, ok := attrs.Get(c.cfg.EventAttribute); ok && v.Type() == pcommon.ValueTypeStr {
		event = v.Str()
	}
	logger := ""
	if v, ok := attrs.Get(c.cfg.LoggerAttribute); ok {
		logger = v.AsString()
	}
	cat := c.match(event, logger)
	if cat == "" {
		return "uncategorised", level
	}
	attrs.PutStr(c.cfg.CategoryAttribute, cat)
	return cat, level
}

func (c *categoriser) match(event, logger string) string {
	for _, r := range c.cfg.Rules {
		if matchAny(r.Events, event) || matchAny(r.Loggers, logger) {
			return r.Category
		}
	}
	return c.cfg.DefaultCategory
}

func matchAny(patterns []string, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// levels maps the names services use to OTel severity numbers.
var levels = map[string]plog.SeverityNumber{
	"trace": plog.SeverityNumberTrace, "debug": plog.SeverityNumberDebug,
	"info": plog.SeverityNumberInfo, "information": plog.SeverityNumberInfo, "notice": plog.SeverityNumberInfo2,
	"warn": plog.SeverityNumberWarn, "warning": plog.SeverityNumberWarn,
	"error": plog.SeverityNumberError, "err": plog.SeverityNumberError,
	"fatal": plog.SeverityNumberFatal, "critical": plog.SeverityNumberFatal, "crit": plog.SeverityNumberFatal, "panic": plog.SeverityNumberFatal,
}

// canonical is the level name each severity range is written as after normalisation.
func canonical(n plog.SeverityNumber) string {
	switch {
	case n >= plog.SeverityNumberFatal:
		return "fatal"
	case n >= plog.SeverityNumberError:
		return "error"
	case n >= plog.SeverityNumberWarn:
		return "warn"
	case n >= plog.SeverityNumberInfo:
		return "info"
	case n >= plog.SeverityNumberDebug:
		return "debug"
	case n >= plog.SeverityNumberTrace:
		return "trace"
	}
	return ""
}

// normaliseLevel makes severity number and text agree: the number from the text when only
// the text is known, the text from the number otherwise ("WARNING", "Warn" → "warn").
func normaliseLevel(lr plog.LogRecord) string {
	n := lr.SeverityNumber()
	if n == plog.SeverityNumberUnspecified {
		if m, ok := levels[strings.ToLower(strings.TrimSpace(lr.SeverityText()))]; ok {
			n = m
			lr.SetSeverityNumber(n)
		}
	}
	name := canonical(n)
	if name == "" {
		return "unknown"
	}
	lr.SetSeverityText(name)
	return name
}

func addTag(attrs pcommon.Map, key, tag string) {
	v, ok := attrs.Get(key)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		var single string // a single tag written as a string is kept
		if ok {
			single = v.AsString()
		}
		s := attrs.PutEmptySlice(key)
		if single != "" && single != tag {
			s.AppendEmpty().SetStr(single)
		}
		s.AppendEmpty().SetStr(tag)
		return
	}
	s := v.Slice()
	for i := 0; i < s.Len(); i++ {
		if s.At(i).AsString() == tag {
			return
		}
	}
	s.AppendEmpty().SetStr(tag)
}
