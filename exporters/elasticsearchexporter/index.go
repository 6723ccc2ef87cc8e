package elasticsearchexporter // import "github.com/recobs/recobs/exporters/elasticsearchexporter"

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// indexPattern expands patterns like `recommendations-%{+YYYY.MM.dd}` (Logstash's date syntax,
// as in the seed) from a record's UTC timestamp.
type indexPattern struct {
	prefix, suffix string
	layout         string // Go time layout of the date part; empty for a fixed index
}

var dateTokens = strings.NewReplacer("YYYY", "2006", "MM", "01", "dd", "02", "HH", "15")

func parseIndexPattern(p string) (indexPattern, error) {
	if p == "" {
		return indexPattern{}, errors.New("must not be empty")
	}
	start := strings.Index(p, "%{+")
	if start < 0 {
		return indexPattern{prefix: p}, validIndexName(p)
	}
	end := strings.Index(p[start:], "}")
	if end < 0 {
		return indexPattern{}, fmt.Errorf("%q: unterminated %%{+...}", p)
	}
	date := p[start+3 : start+end]
	layout := dateTokens.Replace(date)
	if date == "" || strings.Trim(layout, "0123456789.-_") != "" {
		return indexPattern{}, fmt.Errorf("%q: date format %q may only use YYYY, MM, dd, HH", p, date)
	}
	ip := indexPattern{prefix: p[:start], suffix: p[start+end+1:], layout: layout}
	if strings.Contains(ip.suffix, "%{") {
		return indexPattern{}, fmt.Errorf("%q: only one date placeholder is supported", p)
	}
	if err := validIndexName(ip.name(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))); err != nil {
		return indexPattern{}, err
	}
	return ip, nil
}

func (ip indexPattern) name(t time.Time) string {
	if ip.layout == "" {
		return ip.prefix
	}
	return ip.prefix + t.UTC().Format(ip.layout) + ip.suffix
}

// wildcard is the index pattern the template and Kibana's data view match.
func (ip indexPattern) wildcard() string {
	if ip.layout == "" {
		return ip.prefix
	}
	return ip.prefix + "*" + ip.suffix
}
