package app // import "github.com/recobs/recobs/recsvc/internal/app"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/recobs/recobs/recsvc/internal/server"
)

// sentryReporter sends failed requests to Sentry with the context the seed's error tracker
// gets: the user, and the request's location, radius, category and limit.
type sentryReporter struct {
	hub *sentry.Hub
}

// newSentryReporter returns nil (no reporting) when no DSN is configured.
func newSentryReporter(cfg Config) (server.ErrorReporter, error) {
	if cfg.SentryDSN == "" {
		return nil, nil
	}
	// A DSN read from a secret file often ends with its newline.
	dsn := strings.TrimSpace(cfg.SentryDSN)
	if _, err := sentry.NewDsn(dsn); err != nil {
		// The SDK's error quotes the whole DSN, key included, and this error reaches the
		// startup_failed log line and stderr.
		return nil, errors.New("not a valid DSN (want https://<key>@<host>/<project id>; the value is not shown: it holds a key)")
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:              dsn,
		SampleRate:       cfg.SentrySampleRate,
		TracesSampleRate: cfg.SentryTraces,
		AttachStacktrace: true,
	})
	if err != nil {
		return nil, err
	}
	return &sentryReporter{hub: sentry.NewHub(client, sentry.NewScope())}, nil
}

func (r *sentryReporter) Report(err error, stack, requestID string, q *server.Query) {
	r.hub.WithScope(func(scope *sentry.Scope) {
		if q.HasUserID {
			scope.SetUser(sentry.User{ID: strconv.FormatInt(q.UserID, 10)})
		}
		scope.SetTag("request_id", requestID)
		scope.SetContext("recommendation_request", sentry.Context{
			"location":  fmt.Sprintf("%v,%v", q.Lat, q.Lng),
			"radius_km": q.RadiusKm,
			"category":  q.Category,
			"limit":     q.Limit,
			"stack":     stack,
		})
		r.hub.CaptureException(err)
	})
}

// Close stops the client's transport.
func (r *sentryReporter) Close() { r.hub.Client().Close() }

// Flush waits for queued events to be sent.
func (r *sentryReporter) Flush(timeout time.Duration) bool { return r.hub.Flush(timeout) }
