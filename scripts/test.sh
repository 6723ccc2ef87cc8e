#!/usr/bin/env bash
# `make test`: lint, the generated-code drift check, then every test against the real
# backends. Backends this script started are stopped afterwards; ones already running (a
# developer's `scripts/backends.sh start`) are left up.
source "$(dirname "$0")/lib.sh"
cd "$RECOBS_ROOT"

"$RECOBS_ROOT/scripts/install-deps.sh"

log "lint: gofmt and go vet (first run on 2 cores: compiles every package, ~3 min)"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[[ -z "$unformatted" ]] || die "gofmt needed: $unformatted"
go vet ./...

log "drift check: collector/ and collector/gateway/ against their builder configs"
"$RECOBS_ROOT/scripts/gen-collector.sh" --check
log "drift check: the components' generated code and docs against their metadata.yaml"
"$RECOBS_ROOT/scripts/gen-metadata.sh" --check

# Kafka too: the scale-out test runs two gateways behind it.
started=$("$RECOBS_ROOT/scripts/backends.sh" down es prom jaeger kafka)
"$RECOBS_ROOT/scripts/backends.sh" start es prom jaeger kafka
# Only the backends this script started are stopped at its end.
if [[ -n $started ]]; then trap '"$RECOBS_ROOT/scripts/backends.sh" stop $started' EXIT; fi
# shellcheck disable=SC1091
source "$RECOBS_STATE/backends.env"
# The seed-style service (integration/seedservice) runs on this Python environment.
RECOBS_SEED_PYTHON=$("$RECOBS_ROOT/scripts/install-python.sh")
export RECOBS_SEED_PYTHON

log "go test -race: the packages with concurrent state (first run: ~3 min)"
# (Not the scrape receiver's conformance test: it has no concurrent state of ours, and under
# -race it would build all of contrib's prometheus receiver again, minutes on a fresh machine.)
RECOBS_BACKENDS=required go test -race -count=1 -timeout 10m $(go list ./processors/... ./connectors/... ./receivers/... ./recsvc/... ./explorer/... ./internal/contract/jsonenc/... | grep -v '/conformance$')

log "go test (real backends required; ~3 min)"
RECOBS_BACKENDS=required go test -count=1 -timeout 20m ${GOTEST_FLAGS:-} ./...
