# recobs — see README.md. The two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
BIN   := bin

.PHONY: all deps build collector metadata k8s-config check-generated run test test-faults bench lint clean backends-up backends-down

all: build

deps:
	scripts/install-deps.sh

## collector: regenerate collector/ (sidecar), collector/kafka/ and collector/gateway/ from their builder configs with ocb
collector:
	scripts/gen-collector.sh

## metadata: regenerate what mdatagen derives from each component's metadata.yaml
metadata:
	scripts/gen-metadata.sh

## k8s-config: regenerate the collector ConfigMap from otelcol.yaml
k8s-config:
	scripts/k8s-config.sh

## check-generated: fail when collector/, collector/kafka/, collector/gateway/ or a component's generated files drift
## from what ocb and mdatagen would generate
check-generated:
	scripts/gen-collector.sh --check
	scripts/gen-metadata.sh --check

## build: the three collector distributions (sidecar, the scale-out pod's sidecar, gateway), recsvc, its load generator and the request explorer
# The collectors are static, as ocb and the Dockerfile build them: a cgo build maps libc and
# keeps more of the binary resident at idle.
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $(BIN)/otelcol-recobs ./collector
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $(BIN)/otelcol-recobs-kafka ./collector/kafka
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $(BIN)/otelcol-recobs-gateway ./collector/gateway
	go build -trimpath -o $(BIN)/recsvc ./recsvc/cmd/recsvc
	go build -trimpath -o $(BIN)/loadgen ./recsvc/cmd/loadgen
	go build -trimpath -o $(BIN)/recobs-explore ./explorer/cmd/recobs-explore

## run: backends, collector sidecar (and recsvc) on 127.0.0.1; Ctrl-C stops what it started
run: deps build
	scripts/run.sh

## test: lint, drift check, unit and integration tests against the real backends
test:
	scripts/test.sh

## test-faults: Elasticsearch outage with a collector SIGKILL, and the other fault tests
test-faults:
	scripts/test-faults.sh

## bench: Go benchmarks (allocations included) and recsvc under wrk, telemetry on vs off
bench: build
	scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	go vet ./...

backends-up:
	scripts/backends.sh start

backends-down:
	scripts/backends.sh stop

clean: backends-down
	rm -rf $(BIN)
