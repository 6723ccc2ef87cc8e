# recobs — see README.md. The two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
BIN   := bin

.PHONY: all deps build images collector metadata k8s-config check-generated run test test-faults bench lint clean backends-up backends-down

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

## build: the three collector distributions (sidecar, the scale-out pod's sidecar, gateway), recsvc, its load generator, the request explorer and the images' probe — static, in the tests' build configuration (scripts/lib.sh), so a build after `make test` compiles nothing again
build:
	scripts/build.sh all

## images: the sidecar and recsvc images (deploy/docker, FROM scratch) from bin/, with podman
images:
	scripts/build-images.sh

## run: backends, collector sidecar, recsvc, load and the explorer on 127.0.0.1; installs and builds only what it runs; Ctrl-C stops what it started
run:
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
