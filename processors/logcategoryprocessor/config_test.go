package logcategoryprocessor

import (
	"strings"
	"testing"

	"github.com/recobs/recobs/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "log_category")
	if d := def.(*Config); err != nil || d.CategoryAttribute != "category" || d.TagsAttribute != "tags" || len(d.Rules) != len(DefaultRules()) {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	full, err := configtest.Load(t, NewFactory(), "log_category/full")
	c := full.(*Config)
	if err != nil || c.CategoryAttribute != "log.category" || c.EventAttribute != "event.name" || c.LoggerAttribute != "logger.name" ||
		c.TagsAttribute != "labels" || c.DefaultCategory != "other" || len(c.Rules) != 2 || c.Rules[0].Loggers[0] != "*.auth" {
		t.Fatalf("full: %+v, %v", c, err)
	}
	for name, field := range map[string]string{
		"bad_category_attribute": "category_attribute:",
		"bad_rule_category":      "rules[0].category:",
		"bad_rule_empty":         "rules[0]:",
		"bad_rule_pattern":       "rules[0]: bad pattern",
	} {
		if _, err := configtest.Load(t, NewFactory(), "log_category/"+name); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: want an error naming %s, got %v", name, field, err)
		}
	}
}
