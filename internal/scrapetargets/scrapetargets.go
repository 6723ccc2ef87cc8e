// Package scrapetargets checks the fixed targets of the scrape receivers (metrics and pprof):
// each a host:port, none twice, at least one, with errors that name the field.
package scrapetargets // import "github.com/recobs/recobs/internal/scrapetargets"

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Check returns an error for each target that is not host:port or is listed twice, or one
// when there is none.
func Check(targets []string) []error {
	if len(targets) == 0 {
		return []error{errors.New("targets: at least one host:port is required")}
	}
	var errs []error
	for i, t := range targets {
		if _, port, err := net.SplitHostPort(t); err != nil || port == "" || strings.Contains(t, "/") {
			errs = append(errs, fmt.Errorf("targets[%d]: %q is not host:port", i, t))
		}
		if slices.Index(targets, t) != i {
			errs = append(errs, fmt.Errorf("targets[%d]: %q is listed twice", i, t))
		}
	}
	return errs
}
