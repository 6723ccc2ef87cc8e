# otelcol-recobs: the ocb-built sidecar, static, in an image that holds nothing else — no base
# image to pull, nothing to patch. `make images` builds the binaries (scripts/build.sh images)
# and then this image from the repository root:
#   podman build -f deploy/docker/collector.Dockerfile -t recobs/otelcol-recobs:0.1.0 .
# The scale-out tiers: `scripts/build.sh all`, then --build-arg DIST=otelcol-recobs-kafka or
# DIST=otelcol-recobs-gateway.
FROM scratch
ARG DIST=otelcol-recobs
COPY bin/$DIST /otelcol-recobs
# The CA bundle of the build machine: the exporters speak TLS to Elasticsearch and Jaeger.
COPY bin/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# podman runs a pod's httpGet probe inside the container as /bin/sh -c "curl -f URL || exit 1";
# recobs-probe answers that one command line (cmd/recobs-probe). Kubernetes needs none of it.
COPY bin/recobs-probe /bin/sh
COPY otelcol.yaml /etc/otelcol/otelcol.yaml
# nonroot (distroless's uid): the manifest's runAsNonRoot and fsGroup expect it.
USER 65532:65532
EXPOSE 4317 4318 13133 8888
ENTRYPOINT ["/otelcol-recobs"]
CMD ["--config", "/etc/otelcol/otelcol.yaml"]
