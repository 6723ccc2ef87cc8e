// Package explorer is recobs-explore: a read-only web app over the real backends that follows
// one request — a customer's complaint, an error line — through its log lines
// (Elasticsearch), its trace (Jaeger's query API) and the RED and seed metrics around it
// (Prometheus), with the dashboard's panels drawn from the dashboard's own PromQL.
package explorer // import "github.com/recobs/recobs/explorer"

import (
	"errors"
	"strings"
)

// maxRequestIDLen bounds a request ID; recsvc's are UUIDs or what a client sent in
// X-Request-ID (recsvc itself caps those).
const maxRequestIDLen = 128

var errBadRequestID = errors.New("a request ID is 1 to 128 letters, digits and . _ : - characters")

// validRequestID checks an ID before it reaches Elasticsearch (always in a term query, never
// parsed as a query string) or a URL.
func validRequestID(id string) error {
	if id == "" || len(id) > maxRequestIDLen {
		return errBadRequestID
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return errBadRequestID
		}
	}
	return nil
}

// traceID normalises s to 32 lowercase hex digits, not all zero (W3C trace context), or
// reports that it is not a trace ID.
func traceID(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 32 {
		return "", false
	}
	zero := true
	for _, c := range []byte(s) {
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		default:
			return "", false
		}
		zero = zero && c == '0'
	}
	return s, !zero
}
