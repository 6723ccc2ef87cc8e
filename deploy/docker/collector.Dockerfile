# otelcol-recobs: an ocb-generated distribution, static, on distroless/static.
# Build from the repository root:
#   docker build -f deploy/docker/collector.Dockerfile .                              the sidecar
#   docker build -f deploy/docker/collector.Dockerfile --build-arg DIST=collector/kafka .    the scale-out pod's sidecar
#   docker build -f deploy/docker/collector.Dockerfile --build-arg DIST=collector/gateway .  the gateway
FROM golang:1.26-bookworm AS build
ARG DIST=collector
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/otelcol-recobs ./$DIST

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otelcol-recobs /otelcol-recobs
COPY otelcol.yaml /etc/otelcol/otelcol.yaml
USER nonroot
EXPOSE 4317 4318 13133 8888
ENTRYPOINT ["/otelcol-recobs"]
CMD ["--config", "/etc/otelcol/otelcol.yaml"]
